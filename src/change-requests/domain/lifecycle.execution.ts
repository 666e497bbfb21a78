// Deciding the commands of the execution phase (see lifecycle.ts for the rules): execute (quorum re-checked), the
// break-glass start, pause, halt, resume (a halted CR needs a checker who is neither author nor editor), complete
// (the engine only), abort and rollback. Each throws a DomainError on refusal.
import { conflict, forbidden, unprocessable } from '../../common/errors';
import {
  hasQuorum,
  hasRole,
  isAuthorOrEditor,
  quorumSize,
  refuseIfOverdue,
  requireFrom,
  requireOperator,
  requireOperatorOrSystem,
  result,
  validApprovers,
} from './lifecycle.rules';
import {
  Actor,
  BreakGlass,
  CR_ERROR_CODES,
  CrCommandOf,
  CrDecision,
  CrSnapshot,
  LifecyclePolicy,
} from './lifecycle.types';

export function onExecute(
  cr: CrSnapshot,
  command: CrCommandOf<'execute'>,
  actor: Actor,
  now: Date,
): CrDecision {
  requireOperatorOrSystem(actor, 'start a change request');
  requireFrom(cr, command.type);
  refuseIfOverdue(cr, now, 'start');
  if (!hasQuorum(cr)) {
    throw conflict(
      CR_ERROR_CODES.QUORUM_NOT_REACHED,
      `The change request has ${validApprovers(cr).length} valid approval(s) on its current plan; ` +
        `it needs ${quorumSize(cr)}.`,
    );
  }
  return result(cr, { ...cr, status: 'running' }, 'change_request.started');
}

export function onBreakGlassExecute(
  cr: CrSnapshot,
  command: CrCommandOf<'break_glass_execute'>,
  actor: Actor,
  now: Date,
  policy: LifecyclePolicy,
): CrDecision {
  if (actor.system || !hasRole(actor, 'admin')) {
    throw forbidden(
      CR_ERROR_CODES.BREAK_GLASS_ADMIN_ONLY,
      'Only an admin can start a change request without approval.',
    );
  }
  if (!policy.breakGlassEnabled) {
    throw forbidden(
      CR_ERROR_CODES.BREAK_GLASS_DISABLED,
      'The emergency path is switched off in this environment.',
    );
  }
  if (cr.operationRisk !== 'reversible') {
    throw forbidden(
      CR_ERROR_CODES.BREAK_GLASS_IRREVERSIBLE,
      'The emergency path is only for reversible operations; an irreversible one always needs its approvals.',
    );
  }
  requireFrom(cr, command.type);
  refuseIfOverdue(cr, now, 'start');
  const incidentRef = (command.incidentRef ?? '').trim();
  if (!incidentRef) {
    throw unprocessable(
      CR_ERROR_CODES.INCIDENT_REF_REQUIRED,
      'Starting without approval needs the reference of the incident that justifies it.',
      [{ field: 'incidentRef', reason: 'must not be empty' }],
    );
  }
  const breakGlass: BreakGlass = { by: actor.id, incidentRef, at: now };
  return {
    ...result(cr, { ...cr, status: 'running', breakGlass }, 'change_request.started'),
    breakGlass,
    reason: `Started without approval by ${actor.id} for incident ${incidentRef}; review it after the fact.`,
  };
}

export function onPause(cr: CrSnapshot, command: CrCommandOf<'pause'>, actor: Actor): CrDecision {
  requireOperator(actor, 'pause a rollout');
  requireFrom(cr, command.type);
  return { ...result(cr, { ...cr, status: 'paused' }, 'change_request.paused'), reason: command.reason };
}

export function onHalt(cr: CrSnapshot, command: CrCommandOf<'halt'>, actor: Actor): CrDecision {
  requireOperatorOrSystem(actor, 'halt a rollout');
  requireFrom(cr, command.type);
  const reason = (command.reason ?? '').trim();
  if (!reason && actor.system) {
    // The engine must say why: the on-call engineer reads this first.
    throw unprocessable(CR_ERROR_CODES.REASON_REQUIRED, 'An automatic halt must carry its reason.', [
      { field: 'reason', reason: 'must not be empty' },
    ]);
  }
  return {
    ...result(cr, { ...cr, status: 'halted' }, 'change_request.halted'),
    reason: reason || `Halted by ${actor.id}.`,
  };
}

export function onResume(cr: CrSnapshot, command: CrCommandOf<'resume'>, actor: Actor): CrDecision {
  if (cr.status === 'halted') {
    if (actor.system || !hasRole(actor, 'checker')) {
      throw forbidden(CR_ERROR_CODES.NOT_A_CHECKER, 'Resuming a halted rollout needs the checker role.');
    }
    if (isAuthorOrEditor(cr, actor.id)) {
      throw forbidden(
        CR_ERROR_CODES.SELF_APPROVAL,
        'You wrote or edited this change request; a checker who did not must decide to resume after a halt.',
      );
    }
  } else {
    requireOperator(actor, 'resume a rollout');
  }
  requireFrom(cr, command.type);
  return {
    ...result(cr, { ...cr, status: 'running' }, 'change_request.resumed'),
    reason: command.reason,
  };
}

export function onComplete(cr: CrSnapshot, command: CrCommandOf<'complete'>, actor: Actor): CrDecision {
  if (!actor.system) {
    throw forbidden(
      CR_ERROR_CODES.SYSTEM_ONLY,
      'Only the rollout engine marks a change request as finished.',
    );
  }
  requireFrom(cr, command.type);
  return cr.status === 'rolling_back'
    ? result(cr, { ...cr, status: 'rolled_back' }, 'change_request.rolled_back')
    : result(cr, { ...cr, status: 'completed' }, 'change_request.completed');
}

export function onAbort(cr: CrSnapshot, command: CrCommandOf<'abort'>, actor: Actor): CrDecision {
  requireOperator(actor, 'abort a rollout');
  requireFrom(cr, command.type);
  return {
    ...result(cr, { ...cr, status: 'aborted' }, 'change_request.aborted'),
    reason: command.reason,
  };
}

export function onRollback(cr: CrSnapshot, command: CrCommandOf<'rollback'>, actor: Actor): CrDecision {
  requireOperator(actor, 'roll back a change request');
  requireFrom(cr, command.type);
  if (cr.operationRisk !== 'reversible') {
    throw unprocessable(
      CR_ERROR_CODES.NOT_REVERSIBLE,
      'This operation is irreversible; it cannot be rolled back.',
    );
  }
  return {
    ...result(cr, { ...cr, status: 'rolling_back' }, 'change_request.rollback_started'),
    reason: command.reason,
  };
}
