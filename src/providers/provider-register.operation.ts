// `provider.register`: registering or changing a provider is itself a dangerous change (it decides what an operation
// does to every tenant), so it is an operation of its own, planned, approved and executed like any other. Its target
// is `provider:<name>`, its state the provider's current version. It is irreversible (a quorum of two, a ticket, no
// break-glass): to go back, register the previous definition again.
import { EntityManager, In } from 'typeorm';
import { conflict, unprocessable } from '../common/errors';
import { Tx } from '../common/transaction';
import { openChangeRequests, voidApprovals } from '../change-requests/approvals.void';
import { assertAllowed } from '../operations/http.apply';
import type { Operation, ResolvedTarget, TargetResolver } from '../operations/operation.types';
import { definitionUrls, parseProviderDefinition, ProviderDefinition } from './domain/provider-definition';
import { ProviderEntity, ProviderSecretEntity } from './provider.entity';

export interface ProviderRegisterParams {
  definition: ProviderDefinition;
  /** The sealed shared secret to use (a new provider, or a changed secret); absent: keep the current one. */
  secretId: string | null;
  /** The provider version this change was written against (0: a new provider). */
  baseVersion: number;
}

const NAME = /^[a-z][a-z0-9_]{1,39}$/;
const stateOf = (row: ProviderEntity | null) => (row ? `version ${row.version}` : 'absent');

export const providerTargetResolver: TargetResolver = {
  type: 'provider',
  async resolveIds(m: EntityManager, ids: readonly string[]) {
    const out = new Map<string, ResolvedTarget>();
    const valid = ids.filter((id) => NAME.test(id));
    const rows = valid.length ? await m.find(ProviderEntity, { where: { name: In(valid) } }) : [];
    for (const id of valid) {
      const row = rows.find((r) => r.name === id) ?? null;
      out.set(id, {
        type: 'provider',
        id,
        // A provider belongs to no tenant.
        tenantId: '',
        name: `provider ${id}`,
        tier: 'standard',
        region: null,
        state: stateOf(row),
      });
    }
    return out;
  },
  resolveSelector: async () => [],
  async explainUnknown(_m: EntityManager, ids: readonly string[]) {
    return new Map(ids.map((id) => [id, 'a provider name is 2-40 characters: a-z, 0-9, _']));
  },
};

export interface RegisterDeps {
  /** Runs after the transaction commits: reload the providers and (re)register their operations. */
  reload(): Promise<void>;
}

/** Drops the approvals of open CRs using the provider's operations at another version (rule 3). */
async function voidStaleApprovals(
  tx: Tx,
  provider: string,
  opNames: string[],
  version: number,
  crId: string,
) {
  for (const cr of await openChangeRequests(tx, opNames)) {
    if (cr.operationVersion === version) continue;
    const reason =
      `provider ${provider} changed to version ${version} (change request ${crId}); this plan was built with ` +
      `version ${cr.operationVersion}: edit the change request to rebuild its plan, then ask for approval again`;
    await voidApprovals(tx, cr, reason, {
      provider,
      providerVersion: version,
      planProviderVersion: cr.operationVersion,
    });
  }
}

export function providerRegisterOperation(deps: RegisterDeps): Operation<ProviderRegisterParams> {
  return {
    name: 'provider.register',
    version: 1,
    targetType: 'provider',
    risk: 'irreversible',
    mode: 'configure',
    summary:
      'Registers or changes a provider: the operations it offers, their risk, mode and platform endpoints. ' +
      'Open change requests that use its operations lose their approvals.',
    parseParams(params) {
      const details = [];
      for (const k of Object.keys(params))
        if (!['definition', 'secretId', 'baseVersion'].includes(k))
          details.push({
            field: `params.${k}`,
            reason: 'unknown parameter; expected definition, secretId, baseVersion',
          });
      const parsed = parseProviderDefinition(params.definition, { requireSecret: false });
      details.push(...parsed.details.map((d) => ({ ...d, field: `params.definition.${d.field}` })));
      if (parsed.secret !== null)
        details.push({ field: 'params.definition.secret', reason: 'the secret never goes into a plan' });
      const secretId = params.secretId ?? null;
      if (secretId !== null && (typeof secretId !== 'string' || secretId.length > 36))
        details.push({ field: 'params.secretId', reason: 'must be the id of a sealed secret' });
      const baseVersion = params.baseVersion;
      if (typeof baseVersion !== 'number' || !Number.isInteger(baseVersion) || baseVersion < 0)
        details.push({ field: 'params.baseVersion', reason: 'must be an integer >= 0 (0: a new provider)' });
      if (baseVersion === 0 && secretId === null)
        details.push({ field: 'params.secretId', reason: 'a new provider needs a secret' });
      if (details.length)
        throw unprocessable('CHANGE_REQUEST.INVALID_PARAMS', 'Invalid provider definition', details);
      return {
        definition: parsed.definition,
        secretId: secretId as string | null,
        baseVersion: baseVersion as number,
      };
    },
    checkEligible(t, { params }) {
      if (t.id !== params.definition.name) return `the definition is for provider ${params.definition.name}`;
      const expected = params.baseVersion === 0 ? 'absent' : `version ${params.baseVersion}`;
      return t.state === expected
        ? null
        : `the provider is ${t.state}, this change was written against ${expected} (write it again)`;
    },
    describe: (t, { params }) => ({
      action: t.state === 'absent' ? 'register' : `update (${t.state} -> version ${params.baseVersion + 1})`,
      to: `version ${params.baseVersion + 1}`,
    }),
    async apply(target, ctx) {
      const p = ctx.params;
      const m = ctx.tx.manager;
      const row = await m.findOne(ProviderEntity, { where: { name: target.id } });
      const current = row?.version ?? 0;
      if (current !== p.baseVersion)
        throw conflict(
          'PROVIDER.DRIFT',
          `provider ${target.id} is at version ${current}, this change was written against ${p.baseVersion}`,
        );
      // The allowlist may have shrunk since the plan was approved.
      for (const u of definitionUrls(p.definition)) await assertAllowed(m, u.url);
      const secretId = p.secretId ?? row?.secretId;
      if (
        !secretId ||
        !(await m.findOne(ProviderSecretEntity, { where: { id: secretId, provider: target.id } }))
      )
        throw conflict('PROVIDER.NO_SECRET', `provider ${target.id}: its sealed secret is missing`);
      const version = current + 1;
      const values = {
        name: target.id,
        version,
        definition: p.definition,
        secretId,
        changeRequestId: ctx.changeRequestId,
        updatedAt: ctx.tx.now,
      };
      if (row) await m.update(ProviderEntity, { name: target.id }, values);
      else
        await m.insert(ProviderEntity, {
          ...values,
          inventorySyncedAt: null,
          inventoryError: null,
          createdAt: ctx.tx.now,
        });
      const names = new Set(
        [...(row?.definition.operations ?? []), ...p.definition.operations].map(
          (o) => `${target.id}.${o.name}`,
        ),
      );
      await voidStaleApprovals(ctx.tx, target.id, [...names], version, ctx.changeRequestId);
      const data = {
        provider: target.id,
        version,
        operations: p.definition.operations.map((o) => `${target.id}.${o.name}`),
        secretChanged: p.secretId !== null,
        changeRequestId: ctx.changeRequestId,
      };
      ctx.tx.audit({
        actor: 'system',
        action: 'provider.registered',
        entityType: 'provider',
        entityId: target.id,
        data,
      });
      ctx.tx.emit({
        type: 'provider.registered',
        entityType: 'provider',
        entityId: target.id,
        actor: 'system',
        data,
      });
      ctx.tx.afterCommit(() => void deps.reload());
    },
  };
}
