// `connector.restore`: writes each tenant's captured rows back into the platform's live shared database through a
// data connector, as a reviewed change request in waves (ADR 0012). The plan names, per tenant, the capture (id and
// SHA-256), the rows it will write, overwrite and remove, and the connector's version; the approval binds to exactly
// those captures and that database. A change of the connector (a new URL, other tables) voids the approvals of the
// open restores through it, and a target whose plan names another version than the connector's now writes nothing.
// Before writing, the tenant's rows as they are now are captured too, so a rollback puts them back.
import { EntityManager } from 'typeorm';
import { unprocessable } from '../common/errors';
import { Tx } from '../common/transaction';
import { openChangeRequests, voidApprovals } from '../change-requests/approvals.void';
import { ParamsReader } from '../operations/operation.params';
import {
  CaptureRef,
  ExternalCallContext,
  Operation,
  PlannedTarget,
  TargetDetail,
  TargetInspection,
} from '../operations/operation.types';
import { ConnectorsService } from './connectors.service';

export interface ConnectorRestoreParams {
  connector: string;
}

export const BEFORE_RESTORE = 'before connector.restore';
const NAME = /^[a-z][a-z0-9_-]{0,99}$/;

export function connectorRestoreOperation(connectors: ConnectorsService): Operation<ConnectorRestoreParams> {
  const restoreFrom = async (
    target: PlannedTarget,
    ctx: ExternalCallContext<ConnectorRestoreParams>,
    captureId: string,
    expectedHash: string | null,
  ): Promise<CaptureRef[]> => {
    // The approved plan was read from one database; a connector changed since may point at another.
    const planned = target.detail?.connectorVersion;
    const now = await ctx.read((m) => connectors.version(m, ctx.params.connector));
    if (typeof planned === 'number' && planned !== now) {
      throw unprocessable(
        'CONNECTOR.CHANGED',
        `data connector ${ctx.params.connector} is at version ${String(now)}, the approved plan was read through version ${planned}; nothing was written`,
      );
    }
    // Verified before anything is written: the stored hash must match the content and the approved plan.
    const { row } = await ctx.read((m) => connectors.read(m, captureId));
    if (expectedHash && row.hash !== expectedHash) {
      throw unprocessable(
        'CONNECTOR.CAPTURE_CORRUPT',
        `capture ${captureId} of tenant ${target.tenantId} has SHA-256 ${row.hash}, the approved plan names ${expectedHash}; nothing was written`,
      );
    }
    const before = await connectors.captureOnce(
      ctx.params.connector,
      target.tenantId,
      BEFORE_RESTORE,
      ctx.changeRequestId,
    );
    const done = await ctx.read((m) => connectors.restore(m, captureId));
    return [
      {
        connector: row.connector,
        captureId: row.id,
        captureHash: row.hash,
        rowCount: row.rowCount,
        counts: done.counts,
      },
      before,
    ];
  };

  return {
    name: 'connector.restore',
    version: 1,
    targetType: 'tenant',
    risk: 'reversible',
    mode: 'restore',
    summary:
      "Writes each tenant's captured rows back into the platform's live shared database in one transaction per tenant, touching no other tenant's rows: captured rows missing now are written, rows that differ are overwritten, and the tenant's rows that are not in the capture are removed.",
    reverseOperation: 'connector.restore',
    parseParams(params) {
      const r = new ParamsReader(params, ['connector']);
      const connector = r.string('connector', {
        required: true,
        max: 100,
        pattern: NAME,
        hint: 'must name a data connector (lowercase letters, digits, _ and -)',
      });
      r.done('connector.restore');
      return { connector: connector as string };
    },
    checkEligible: (t) =>
      t.state === 'purged'
        ? 'purged in Wavegate: its data key is destroyed, so its captures cannot be read'
        : null,
    async inspectTargets(m: EntityManager, { targets }, ctx): Promise<TargetInspection> {
      const detail = new Map<string, TargetDetail>();
      const refused = new Map<string, string>();
      await connectors.connector(m, ctx.params.connector).catch((e: unknown) => {
        throw unprocessable('CHANGE_REQUEST.INVALID_PARAMS', `params.connector: ${(e as Error).message}`, [
          { field: 'params.connector', reason: (e as Error).message },
        ]);
      });
      const connectorVersion = await connectors.version(m, ctx.params.connector);
      for (const t of targets) {
        const latest = await connectors.latest(m, ctx.params.connector, t.tenantId, {
          excludeReason: BEFORE_RESTORE,
        });
        if (!latest) {
          refused.set(t.id, `no capture of its rows through connector ${ctx.params.connector}`);
          continue;
        }
        try {
          const { counts } = await connectors.preview(m, latest.id);
          detail.set(t.id, {
            captureId: latest.id,
            captureHash: latest.hash,
            capturedAt: latest.createdAt.toISOString(),
            capturedRows: latest.rowCount,
            write: counts.write,
            overwrite: counts.overwrite,
            remove: counts.remove,
            unchanged: counts.unchanged,
            connectorVersion,
          });
        } catch (e) {
          refused.set(t.id, e instanceof Error ? e.message : String(e));
        }
      }
      return { detail, refused };
    },
    describe: (t) => {
      const d = t.detail;
      if (!d) return { action: 'restore rows', to: 'restored' };
      return {
        action: `restore ${String(d.capturedRows)} row(s) from capture ${String(d.captureId)}: write ${String(d.write)}, overwrite ${String(d.overwrite)}, remove ${String(d.remove)}`,
        to: 'restored',
      };
    },
    external: {
      async apply(target, ctx) {
        const d = target.detail;
        if (!d || typeof d.captureId !== 'string')
          throw new Error(`the plan names no capture for ${target.id}`);
        return { captures: await restoreFrom(target, ctx, d.captureId, String(d.captureHash)) };
      },
      async undo(target, ctx) {
        const before = await ctx.read((m) =>
          connectors.byChangeRequest(
            m,
            ctx.params.connector,
            target.tenantId,
            ctx.changeRequestId,
            BEFORE_RESTORE,
          ),
        );
        if (!before) throw new Error(`no capture of tenant ${target.tenantId} taken before this restore`);
        return { captures: await restoreFrom(target, ctx, before.id, before.hash) };
      },
    },
  };
}

/**
 * Lifecycle rule 3 for a connector change: every open `connector.restore` through `connector` was planned (its
 * capture previews and counts read) through an older version, so its approvals are void; call in the transaction
 * that approves the change.
 */
export async function voidRestoresThrough(tx: Tx, connector: string, version: number): Promise<void> {
  for (const cr of await openChangeRequests(tx, ['connector.restore'])) {
    if (cr.request.params.connector !== connector) continue;
    const reason =
      `data connector ${connector} changed to version ${version}; this plan was read through an older version: ` +
      'edit the change request to rebuild its plan, then ask for approval again';
    await voidApprovals(tx, cr, reason, { connector, connectorVersion: version });
  }
}
