import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { notFound, unprocessable } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ChangeRequestsService } from '../change-requests/change-requests.service';
import { HttpAllowlistEntity } from '../operations/http-allowlist.entity';
import { OperationRegistry } from '../operations/operation.registry';
import { WebhookSecretBox } from '../webhooks/webhook.secret-box';
import { definitionUrls, parseProviderDefinition } from './domain/provider-definition';
import { ProviderCallSettings } from './provider.client';
import { ProviderEntity, ProviderSecretEntity } from './provider.entity';
import { LiveProvider, providerOperation } from './provider.operations';

export interface ProposalMeta {
  justification: string;
  ticket: string;
  title?: string;
}

/** How often each replica reloads providers changed by another replica (this one reloads on its own commits). */
const RELOAD_MS = 5_000;

/**
 * Providers (docs/providers.md, ADR 0016): an admin proposes a definition; it becomes a `provider.register` change
 * request (the secret is sealed apart and named by id, never put in the plan); once executed, the provider's
 * operations are (re)registered in the OperationRegistry as `<provider>.<operation>` at the provider's version.
 */
@Injectable()
export class ProvidersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProvidersService.name);
  private readonly live = new Map<string, LiveProvider>();
  private readonly box: WebhookSecretBox;
  private timer?: NodeJS.Timeout;
  readonly settings: ProviderCallSettings;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly registry: OperationRegistry,
    private readonly changeRequests: ChangeRequestsService,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.box = new WebhookSecretBox(config.secret, 'provider-secrets');
    const backoff = config.providerBackoffMs;
    this.settings = {
      timeoutMs: config.providerTimeoutMs,
      attempts: config.providerAttempts,
      backoffMs: [backoff, backoff * 4],
    };
    tx.onCommit((events) => {
      if (events.some((e) => e.type === 'provider.registered')) void this.reload();
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), RELOAD_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  current(name: string): LiveProvider | null {
    return this.live.get(name) ?? null;
  }

  /** Reads every provider and (re)registers its operations at its current version. */
  async reload(): Promise<void> {
    try {
      const rows = await this.tx.read((m) => m.find(ProviderEntity));
      const secrets = await this.tx.read((m) => m.find(ProviderSecretEntity));
      for (const row of rows) {
        const sealed = secrets.find((s) => s.id === row.secretId);
        if (!sealed) continue;
        const prev = this.live.get(row.name);
        const live: LiveProvider = {
          name: row.name,
          version: row.version,
          definition: row.definition,
          secret:
            prev && prev.version === row.version ? prev.secret : this.box.open(sealed.id, sealed.sealed),
          inventorySyncedAt: row.inventorySyncedAt,
        };
        this.live.set(row.name, live);
        if (prev && prev.version === row.version) continue;
        const deps = {
          current: (n: string) => this.current(n),
          settings: this.settings,
          inventoryMaxAgeSeconds: this.config.inventoryMaxAgeSeconds,
          read: <T>(fn: (m: EntityManager) => Promise<T>) => this.tx.read(fn),
          now: () => this.clock.now(),
        };
        const names = new Set<string>();
        for (const op of row.definition.operations) {
          const o = providerOperation(live, op, deps);
          this.registry.registerProvided(o);
          names.add(o.name);
        }
        this.registry.removeProvided(row.name, names);
      }
    } catch (e) {
      this.logger.error(`reloading providers failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Records a successful inventory sync time in this process at once (the reload timer brings it to the others). */
  noteSynced(name: string, at: Date): void {
    const p = this.live.get(name);
    if (p) p.inventorySyncedAt = at;
  }

  /** Opens (and submits) a `provider.register` change request for a new provider or a change to one. */
  async propose(
    p: Principal,
    body: Record<string, unknown>,
    meta: ProposalMeta,
    existingName?: string,
  ): Promise<Record<string, unknown>> {
    const existing = existingName
      ? await this.tx.read((m) => m.findOne(ProviderEntity, { where: { name: existingName } }))
      : null;
    if (existingName && !existing) throw notFound('PROVIDER.NOT_FOUND', `No provider ${existingName}`);
    const parsed = parseProviderDefinition(body, {
      requireSecret: !existing,
      ...(existingName ? { name: existingName } : {}),
    });
    const details = [...parsed.details];
    if (details.length === 0) {
      const prefixes = (await this.tx.read((m) => m.find(HttpAllowlistEntity))).map((r) => r.prefix);
      for (const u of definitionUrls(parsed.definition))
        if (!prefixes.some((pre) => u.url.startsWith(pre)))
          details.push({
            field: u.field,
            reason: `${u.url} is not in the allowlist of destinations (PUT /api/operations/http/allowlist)`,
          });
      if (details.length)
        throw unprocessable(
          'PROVIDER.NOT_ALLOWED',
          'An endpoint is outside the allowlist; nothing was created',
          details,
        );
    }
    if (!existing && details.length === 0) {
      const taken = await this.tx.read((m) =>
        m.findOne(ProviderEntity, { where: { name: parsed.definition.name } }),
      );
      if (taken)
        details.push({
          field: 'name',
          reason: `provider ${parsed.definition.name} exists; change it with PATCH /api/providers/${parsed.definition.name}`,
        });
    }
    if (details.length)
      throw unprocessable('PROVIDER.INVALID', 'Invalid provider definition; nothing was created', details);
    let secretId: string | null = null;
    if (parsed.secret !== null) {
      secretId = randomUUID();
      const sealed = this.box.seal(secretId, parsed.secret);
      await this.tx.run(async (tx) => {
        await tx.manager.insert(ProviderSecretEntity, {
          id: secretId as string,
          provider: parsed.definition.name,
          sealed,
          createdAt: tx.now,
        });
      });
    }
    const name = parsed.definition.name;
    const cr = await this.changeRequests.create(p, {
      title: meta.title?.trim() || (existing ? `Change provider ${name}` : `Register provider ${name}`),
      operation: 'provider.register',
      params: { definition: parsed.definition, secretId, baseVersion: existing?.version ?? 0 },
      targets: [{ type: 'provider', id: name }],
      justification: meta.justification,
      ticket: meta.ticket,
    });
    const submitted = await this.changeRequests.command(p, cr.id as string, { type: 'submit' });
    return submitted ?? cr;
  }

  async list(): Promise<Record<string, unknown>[]> {
    const rows = await this.tx.read((m) => m.find(ProviderEntity, { order: { name: 'ASC' } }));
    return rows.map((r) => this.view(r));
  }

  async get(name: string): Promise<Record<string, unknown>> {
    const row = await this.tx.read((m) => m.findOne(ProviderEntity, { where: { name } }));
    if (!row) throw notFound('PROVIDER.NOT_FOUND', `No provider ${name}`);
    return this.view(row);
  }

  /** Never the secret: only that one is set. */
  private view(r: ProviderEntity): Record<string, unknown> {
    return {
      name: r.name,
      version: r.version,
      description: r.definition.description,
      inventory: r.definition.inventory,
      operations: r.definition.operations.map((o) => ({ ...o, operation: `${r.name}.${o.name}` })),
      secretSet: true,
      // The version this process runs its operations at (another replica may lag by up to RELOAD_MS).
      loadedVersion: this.live.get(r.name)?.version ?? null,
      inventorySyncedAt: r.inventorySyncedAt?.toISOString() ?? null,
      inventoryError: r.inventoryError,
      changeRequestId: r.changeRequestId,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  }
}
