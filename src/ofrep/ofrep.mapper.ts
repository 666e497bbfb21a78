import type { Evaluation, EvaluationContext, Evaluator } from '@wavegate/evaluation';
import type { ServedFeature } from '../flags/domain/snapshot.builder';

// OpenFeature Remote Evaluation Protocol (OFREP) shapes, and the mapping of Unleash semantics onto them.
// A flag's value is its boolean state, unless the matched variant carries a payload: then it is the payload
// (`string`/`csv` as a string, `number` as a number, `json` parsed), and a variant without a payload gives its
// name. Reasons are the engine's (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED).

export type OfrepErrorCode =
  'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'FLAG_NOT_FOUND' | 'GENERAL';

export interface OfrepSuccess {
  key: string;
  value: unknown;
  reason: string;
  variant: string;
  metadata: Record<string, string | number | boolean>;
}

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
}

export const ofrepError = (key: string, errorCode: OfrepErrorCode, errorDetails: string): OfrepFailure => ({
  key,
  errorCode,
  errorDetails,
});

// Unleash context fields that are top-level; everything else goes to `properties`.
const TOP_LEVEL = new Set(['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'currentTime']);

/** OFREP `{context}` to an Unleash context; `targetingKey` is the `userId` (unless `userId` is given too). */
export function toUnleashContext(
  body: unknown,
): { context: EvaluationContext; targetingKey?: string } | OfrepFailure {
  if (body === undefined || body === null) return { context: {} };
  if (typeof body !== 'object' || Array.isArray(body))
    return ofrepError('', 'PARSE_ERROR', 'the body must be a JSON object');
  const raw = (body as { context?: unknown }).context;
  if (raw === undefined || raw === null) return { context: {} };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return ofrepError('', 'INVALID_CONTEXT', 'context must be an object');
  const context: EvaluationContext = {};
  const properties: Record<string, string> = {};
  let targetingKey: string | undefined;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === undefined || v === null) continue;
    if (k === 'targetingKey') {
      if (typeof v !== 'string') return ofrepError('', 'INVALID_CONTEXT', 'targetingKey must be a string');
      targetingKey = v;
      continue;
    }
    if (k === 'properties' && typeof v === 'object' && !Array.isArray(v)) {
      for (const [pk, pv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof pv === 'string' || typeof pv === 'number' || typeof pv === 'boolean')
          properties[pk] = String(pv);
      }
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      return ofrepError('', 'INVALID_CONTEXT', `context.${k}: must be a string, number or boolean`);
    }
    if (TOP_LEVEL.has(k)) context[k] = String(v);
    else properties[k] = String(v);
  }
  if (targetingKey !== undefined && context.userId === undefined) context.userId = targetingKey;
  if (Object.keys(properties).length > 0) context.properties = properties;
  return { context, targetingKey };
}

/** Whether evaluating this flag needs a user id: some strategy is keyed on it. */
export function needsTargetingKey(f: ServedFeature): boolean {
  return f.strategies.some(
    (s) => s.name === 'userWithId' || (s.name === 'flexibleRollout' && s.parameters.stickiness === 'userId'),
  );
}

export function payloadValue(payload: { type: string; value: string } | undefined): unknown {
  if (!payload) return undefined;
  switch (payload.type) {
    case 'number':
      return Number(payload.value);
    case 'json':
      try {
        return JSON.parse(payload.value) as unknown;
      } catch {
        return payload.value;
      }
    default:
      return payload.value;
  }
}

export function toOfrep(e: Evaluation): OfrepSuccess {
  const metadata: Record<string, string | number | boolean> = { detail: e.detail };
  if (e.strategy) metadata.strategy = e.strategy.name;
  const v = e.variant;
  if (v.enabled) {
    const fromPayload = payloadValue(v.payload);
    return { key: e.flag, value: fromPayload ?? v.name, reason: e.reason, variant: v.name, metadata };
  }
  return { key: e.flag, value: e.enabled, reason: e.reason, variant: e.enabled ? 'on' : 'off', metadata };
}

export function evaluateOne(
  evaluator: Evaluator,
  features: ReadonlyMap<string, ServedFeature>,
  key: string,
  ctx: { context: EvaluationContext; targetingKey?: string },
): OfrepSuccess | OfrepFailure {
  const feature = features.get(key);
  if (!feature) return ofrepError(key, 'FLAG_NOT_FOUND', `flag ${key} was not found`);
  if (ctx.targetingKey === undefined && ctx.context.userId === undefined && needsTargetingKey(feature)) {
    return ofrepError(
      key,
      'TARGETING_KEY_MISSING',
      `flag ${key} targets users: the context needs a targetingKey`,
    );
  }
  return toOfrep(evaluator.evaluate(key, ctx.context));
}
