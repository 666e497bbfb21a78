// The operations a registered provider brings: `<provider>.<operation>`, version = the provider's version (so every
// plan that uses one names the provider version, and a provider change makes its pending plans stale). Their targets
// are applied on the platform through the engine's external-call seam (`Operation.external`): outside any
// transaction, one call per target with the target's Idempotency-Key.
import { EntityManager } from 'typeorm';
import { badGateway, unprocessable } from '../common/errors';
import { assertAllowed } from '../operations/http.apply';
import { ParamsReader } from '../operations/operation.params';
import type {
  ExternalCallContext,
  Operation,
  PlannedTarget,
  PlatformRead,
  TargetDetail,
  TargetType,
} from '../operations/operation.types';
import { ProviderDefinition, ProviderOperationDef } from './domain/provider-definition';
import { callProvider, platformMessage, ProviderCallSettings, ProviderUnreachable } from './provider.client';

export interface ProviderOpParams {
  /** The provider version the plan was built with; the executor refuses to call a different version. */
  providerVersion: number;
}

/** A provider as the operations need it at call time (the newest version this process knows). */
export interface LiveProvider {
  name: string;
  version: number;
  definition: ProviderDefinition;
  secret: string;
  inventorySyncedAt: Date | null;
}

export interface ProviderOpDeps {
  /** The provider as it is now (null once it is gone): checked against the plan's version before every call. */
  current(name: string): LiveProvider | null;
  settings: ProviderCallSettings;
  /** Plans of a provider with an inventory are refused when its last sync is older than this. */
  inventoryMaxAgeSeconds: number;
  read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T>;
  now(): Date;
}

const STATE_BATCH = 500;

/** One target as the platform's `state` endpoint describes it (docs/providers.md). */
export interface PlatformTargetState {
  found: boolean;
  state: string;
  /** false: the platform says the operation cannot act on it (`reason` says why). */
  eligible?: boolean;
  reason?: string;
  /** The state the operation will leave it in. */
  to?: string;
}

/**
 * The platform's answer as the plan shows it (the target's `detail`, covered by the plan hash): which provider
 * answered, the state it read, and, when given, what the operation will leave and why it cannot act.
 */
export function platformDetail(provider: string, s: PlatformTargetState): PlatformRead {
  const detail: TargetDetail = { platform: provider, platformFound: s.found, platformState: s.state };
  if (s.eligible !== undefined) detail.platformEligible = s.eligible;
  if (s.reason !== undefined) detail.platformReason = s.reason;
  if (s.to !== undefined) detail.platformTo = s.to;
  return { state: s.found ? s.state : null, detail };
}

/** Reads states in batches of 500 targets per call (a 1,000-target plan makes 2 calls, not 1,000). */
export async function readStates(
  p: LiveProvider,
  op: ProviderOperationDef,
  targets: readonly { type: TargetType; id: string }[],
  deps: Pick<ProviderOpDeps, 'settings' | 'now'>,
): Promise<Map<string, PlatformTargetState>> {
  const out = new Map<string, PlatformTargetState>();
  for (let i = 0; i < targets.length; i += STATE_BATCH) {
    const part = targets.slice(i, i + STATE_BATCH);
    const a = await callProvider({
      url: op.endpoints.state,
      body: { operation: op.name, targets: part.map((t) => ({ type: t.type, id: t.id })) },
      secret: p.secret,
      now: deps.now,
      settings: deps.settings,
    });
    if (a.status !== 200 || !Array.isArray(a.body.items))
      throw new ProviderUnreachable(`state ${op.endpoints.state} answered ${platformMessage(a)}`);
    for (const raw of a.body.items as unknown[]) {
      if (raw === null || typeof raw !== 'object') continue;
      const r = raw as Record<string, unknown>;
      if (typeof r.id !== 'string' || typeof r.state !== 'string') continue;
      out.set(r.id, {
        found: r.found !== false,
        state: r.state.slice(0, 64),
        ...(typeof r.eligible === 'boolean' ? { eligible: r.eligible } : {}),
        ...(typeof r.reason === 'string' ? { reason: r.reason.slice(0, 300) } : {}),
        ...(typeof r.to === 'string' ? { to: r.to.slice(0, 64) } : {}),
      });
    }
  }
  return out;
}

function liveFor(deps: ProviderOpDeps, provider: string, planned: number): LiveProvider {
  const p = deps.current(provider);
  if (!p) throw new Error(`provider ${provider} is no longer registered`);
  if (p.version !== planned)
    throw new Error(
      `provider ${provider} is now version ${p.version}; this plan was built for version ${planned} (rebuild the plan)`,
    );
  return p;
}

function opOf(p: LiveProvider, name: string): ProviderOperationDef {
  const op = p.definition.operations.find((o) => o.name === name);
  if (!op) throw new Error(`provider ${p.name} no longer offers ${name}`);
  return op;
}

async function allowed(ctx: ExternalCallContext<unknown>, url: string): Promise<void> {
  await ctx.read((m) => assertAllowed(m, url));
}

export function providerOperation(
  p: LiveProvider,
  def: ProviderOperationDef,
  deps: ProviderOpDeps,
): Operation<ProviderOpParams> {
  const name = `${p.name}.${def.name}`;
  const call = async (
    kind: 'apply' | 'undo',
    target: PlannedTarget,
    ctx: ExternalCallContext<ProviderOpParams>,
  ): Promise<void> => {
    const live = liveFor(deps, p.name, ctx.params.providerVersion);
    const op = opOf(live, def.name);
    const url = kind === 'apply' ? op.endpoints.apply : op.endpoints.undo;
    if (!url) throw new Error(`${name} has no undo endpoint`);
    await allowed(ctx, op.endpoints.state);
    await allowed(ctx, url);
    // Drift (DESIGN rule 6): the state now must be the planned one. The state the call leaves is accepted too: a
    // call that got through before a crash is sent again with the same key and answered from the platform's record.
    const [expected, after] = kind === 'apply' ? [target.state, target.to] : [target.to, target.state];
    const s = (await readStates(live, op, [target], { settings: deps.settings, now: deps.now })).get(
      target.id,
    );
    if (!s || !s.found)
      throw new Error(`drift: ${target.type}:${target.id} no longer exists on the platform`);
    if (s.state !== expected && s.state !== after)
      throw new Error(
        `drift: the plan read ${target.type}:${target.id} as ${expected}, the platform now says ${s.state}`,
      );
    const a = await callProvider({
      url,
      body: {
        operation: op.name,
        changeRequestId: ctx.changeRequestId,
        revision: ctx.revision,
        target: { type: target.type, id: target.id, tenantId: target.tenantId },
        expectedState: expected,
      },
      secret: live.secret,
      idempotencyKey: ctx.idempotencyKey,
      now: deps.now,
      settings: deps.settings,
    });
    if (a.status === 409) throw new Error(`drift: the platform refused ${kind} (${platformMessage(a)})`);
    if (a.status < 200 || a.status >= 300) throw new Error(`${kind} ${url}: ${platformMessage(a)}`);
  };

  return {
    name,
    version: p.version,
    targetType: def.targetType,
    risk: def.risk,
    mode: def.mode,
    summary: def.description || `${def.mode} on the platform of provider ${p.name}`,
    provider: p.name,
    parseParams(params) {
      new ParamsReader(params, []).done(name);
      return { providerVersion: p.version };
    },
    checkEligible(t) {
      const d = t.detail;
      if (d?.platform !== p.name) return 'its state was not read from the platform';
      if (d.platformFound !== true) return `the platform (${p.name}) does not know it`;
      if (d.platformEligible === false)
        return typeof d.platformReason === 'string'
          ? d.platformReason
          : `the platform says ${def.mode} cannot act on it (state ${String(d.platformState)})`;
      return null;
    },
    describe: (t) => ({
      action: def.mode,
      to: typeof t.detail?.platformTo === 'string' ? t.detail.platformTo : def.mode,
    }),
    async readPlatform(targets, params, now) {
      const live = deps.current(p.name);
      if (!live || live.version !== params.providerVersion)
        throw unprocessable(
          'PROVIDER.CHANGED',
          `provider ${p.name} changed while the plan was built; try again`,
        );
      if (live.definition.inventory) {
        const synced = live.inventorySyncedAt;
        const age = synced ? Math.floor((now.getTime() - synced.getTime()) / 1000) : null;
        if (age === null || age > deps.inventoryMaxAgeSeconds) {
          const reason =
            age === null
              ? `the inventory of provider ${p.name} has never been synced`
              : `the inventory of provider ${p.name} was last synced ${age} s ago (${synced?.toISOString()}), ` +
                `more than the allowed ${deps.inventoryMaxAgeSeconds} s (WAVEGATE_INVENTORY_MAX_AGE_SECONDS)`;
          throw unprocessable(
            'INVENTORY.STALE',
            `${reason}; sync it (POST /api/inventory/sync) and build the plan again`,
            [{ field: 'operation', reason }],
          );
        }
      }
      const op = opOf(live, def.name);
      await deps.read((m) => assertAllowed(m, op.endpoints.state));
      try {
        const states = await readStates(live, op, targets, { settings: deps.settings, now: deps.now });
        return new Map([...states].map(([id, st]) => [id, platformDetail(p.name, st)]));
      } catch (e) {
        if (e instanceof ProviderUnreachable)
          throw badGateway(
            'PROVIDER.UNREACHABLE',
            `Could not read target states from ${p.name}: ${e.message}`,
          );
        throw e;
      }
    },
    external: {
      apply: (target, ctx) => call('apply', target, ctx),
      ...(def.risk === 'reversible' ? { undo: (target, ctx) => call('undo', target, ctx) } : {}),
      async verify(tenantId, ctx) {
        let live: LiveProvider;
        try {
          live = liveFor(deps, p.name, ctx.params.providerVersion);
        } catch (e) {
          return (e as Error).message;
        }
        const op = opOf(live, def.name);
        try {
          await allowed(ctx, op.endpoints.verify);
          const a = await callProvider({
            url: op.endpoints.verify,
            body: { tenantId, operation: op.name, changeRequestId: ctx.changeRequestId },
            secret: live.secret,
            now: deps.now,
            settings: deps.settings,
          });
          if (a.status !== 200) return `verify ${op.endpoints.verify} answered ${platformMessage(a)}`;
          if (a.body.healthy === true) return null;
          const why = typeof a.body.reason === 'string' ? a.body.reason.slice(0, 500) : 'no reason given';
          return `verify: tenant ${tenantId} is unhealthy: ${why}`;
        } catch (e) {
          return `verify: ${e instanceof Error ? e.message : String(e)}`;
        }
      },
    },
  };
}
