// Property-based test of the maker-checker rules (issue 3, acceptance): random sequences of create, edit, submit,
// approve, reject, cancel, expire and execute by random actors with random roles, with the clock jumping forward.
// An independent oracle, written from the design's rules rather than from lifecycle.ts, follows each accepted
// command and checks that the state machine never lets through what the rules forbid.
import fc from 'fast-check';
import { DomainError } from '../../common/errors';
import {
  Actor,
  CrCommand,
  CrSnapshot,
  CrStatus,
  Role,
  createChangeRequest,
  decide,
  hasQuorum,
} from './lifecycle';

const HOUR = 60 * 60 * 1000;
const HASHES = ['h0', 'h1', 'h2', 'h3'].map((h) => h.padEnd(64, '0'));
const USERS = 5;
const STOPPED: readonly CrStatus[] = ['rejected', 'cancelled', 'expired'];

type Kind = 'create' | 'edit' | 'submit' | 'approve' | 'reject' | 'cancel' | 'expire' | 'execute';

interface Step {
  kind: Kind;
  actor: number;
  hash: number;
  currentHash: boolean;
  dtMs: number;
  required: number;
  irreversible: boolean;
  comment: string;
}

const kindArb = fc.oneof(
  { arbitrary: fc.constant<Kind>('approve'), weight: 6 },
  { arbitrary: fc.constant<Kind>('edit'), weight: 2 },
  { arbitrary: fc.constant<Kind>('submit'), weight: 2 },
  { arbitrary: fc.constantFrom<Kind>('create', 'reject', 'cancel', 'expire', 'execute'), weight: 3 },
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: kindArb,
  actor: fc.nat(USERS - 1),
  hash: fc.nat(HASHES.length - 1),
  // Mostly approve what is current; sometimes a stale or foreign hash.
  currentHash: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())),
  // Mostly small steps; now and then a jump past the pending TTL or the start window.
  dtMs: fc.oneof(
    { arbitrary: fc.constant(0), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 2 * HOUR }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 30 * HOUR }), weight: 1 },
  ),
  required: fc.integer({ min: 0, max: 3 }),
  irreversible: fc.boolean(),
  comment: fc.constantFrom('', '  ', 'wrong ids'),
});

const rolesArb = fc.subarray<Role>(['viewer', 'maker', 'checker', 'admin']);
const scenarioArb = fc.record({
  roles: fc.array(rolesArb, { minLength: USERS, maxLength: USERS }),
  // Every scenario opens with a create (which may itself be refused); later creates start a fresh CR.
  steps: fc
    .tuple(
      stepArb.map((s): Step => ({ ...s, kind: 'create' })),
      fc.array(stepArb, { minLength: 1, maxLength: 40 }),
    )
    .map(([first, rest]) => [first, ...rest]),
});

// What the design's rules say, tracked independently of the implementation.
interface Oracle {
  authorId: string;
  editors: Set<string>;
  currentHash: string;
  required: number;
  approvers: Set<string>;
  submittedAt?: number;
  approvedWithQuorum: boolean;
  stopped?: CrStatus;
}

describe('change request lifecycle (property-based)', () => {
  it('never approves without a quorum of distinct non-author, non-editor checkers on the current hash, and never leaves rejected/cancelled/expired', () => {
    const seen = { approved: 0, refusedAfterStop: 0, staleRefused: 0, selfRefused: 0 };

    fc.assert(
      fc.property(scenarioArb, ({ roles, steps }) => {
        const actors: Actor[] = roles.map((r, i) => ({ id: `u${i}`, roles: r }));
        let now = new Date('2024-05-01T00:00:00.000Z').getTime();
        let cr: CrSnapshot | undefined;
        let oracle: Oracle | undefined;

        for (const step of steps) {
          now += step.dtMs;
          const actor = actors[step.actor];

          if (step.kind === 'create') {
            try {
              const created = createChangeRequest(
                {
                  planHash: HASHES[step.hash],
                  requiredApprovals: step.required,
                  operationRisk: step.irreversible ? 'irreversible' : 'reversible',
                },
                actor,
              );
              expect(actor.roles.some((r) => r === 'maker' || r === 'admin')).toBe(true);
              cr = created.next;
              oracle = {
                authorId: actor.id,
                editors: new Set(),
                currentHash: HASHES[step.hash],
                required: Math.max(1, step.required),
                approvers: new Set(),
                approvedWithQuorum: false,
              };
            } catch (e) {
              if (!(e instanceof DomainError)) throw e;
            }
            continue;
          }
          if (!cr || !oracle) continue;

          const command = toCommand(step, oracle.currentHash);
          const before = cr;
          let accepted = true;
          try {
            cr = decide(cr, command, actor, new Date(now)).next;
          } catch (e) {
            if (!(e instanceof DomainError)) throw e;
            accepted = false;
            if (e.code === 'CHANGE_REQUEST.STALE_PLAN') seen.staleRefused++;
            if (e.code === 'CHANGE_REQUEST.SELF_APPROVAL') seen.selfRefused++;
          }

          // Once stopped, it stays stopped: every command is refused and nothing changes.
          if (oracle.stopped) {
            expect(accepted).toBe(false);
            expect(cr).toBe(before);
            seen.refusedAfterStop++;
            continue;
          }
          if (!accepted) continue;

          switch (command.type) {
            case 'edit':
              oracle.currentHash = command.planHash;
              oracle.approvers.clear();
              if (actor.id !== oracle.authorId) oracle.editors.add(actor.id);
              if (before.status === 'pending') oracle.submittedAt = now;
              break;
            case 'submit':
              oracle.submittedAt = now;
              break;
            case 'approve':
              // Every accepted approval satisfies each rule on its own.
              expect(actor.roles).toContain('checker');
              expect(actor.id).not.toBe(oracle.authorId);
              expect(oracle.editors.has(actor.id)).toBe(false);
              expect(command.planHash).toBe(oracle.currentHash);
              expect(oracle.approvers.has(actor.id)).toBe(false);
              expect(before.status).toBe('pending');
              expect(now).toBeLessThan((oracle.submittedAt ?? -Infinity) + before.pendingTtlMs);
              oracle.approvers.add(actor.id);
              break;
            case 'execute':
              expect(oracle.approvedWithQuorum).toBe(true);
              break;
            default:
              break;
          }

          // The invariant: approved only with a quorum the oracle agrees with.
          if (cr.status === 'approved' && before.status !== 'approved') {
            expect(oracle.approvers.size).toBeGreaterThanOrEqual(oracle.required);
            expect(hasQuorum(cr)).toBe(true);
            oracle.approvedWithQuorum = true;
            seen.approved++;
          }
          // No approval is ever attached to anything but the current plan.
          expect(cr.approvals.every((a) => a.planHash === cr!.planHash)).toBe(true);
          expect(cr.planHash).toBe(oracle.currentHash);
          if (STOPPED.includes(cr.status)) oracle.stopped = cr.status;
        }
      }),
      { numRuns: 1000 },
    );

    // Guard against a vacuous run: the generator must actually reach the interesting states.
    expect(seen.approved).toBeGreaterThan(10);
    expect(seen.refusedAfterStop).toBeGreaterThan(20);
    expect(seen.staleRefused).toBeGreaterThan(5);
    expect(seen.selfRefused).toBeGreaterThan(5);
  });
});

function toCommand(step: Step, currentHash: string): CrCommand {
  switch (step.kind) {
    case 'edit':
      return { type: 'edit', planHash: HASHES[step.hash] };
    case 'approve':
      return { type: 'approve', planHash: step.currentHash ? currentHash : HASHES[step.hash] };
    case 'reject':
      return { type: 'reject', comment: step.comment };
    case 'submit':
    case 'cancel':
    case 'expire':
    case 'execute':
      return { type: step.kind };
    case 'create':
      throw new Error('create is handled by the caller');
  }
}
