// Plan hash: the fingerprint a checker approves (DESIGN.md "Change request lifecycle", rule 3).
//
// Public API
//   planHash(plan: unknown): string      SHA-256 (lowercase hex, 64 chars) of canonicalJson(plan)
//   isPlanHash(value: unknown): boolean  shape check for an incoming `planHash` (approve body, DTOs)
//   PLAN_HASH_PATTERN                    /^[0-9a-f]{64}$/
//
// Decisions
// - The hash covers the plan only (operation, version, mode, params, targets with their state and action, waves,
//   halt policy, summary). The plan must not hold timestamps or ids minted at build time: the same request against
//   the same inventory must give the same hash, so that a rebuilt plan can be compared with the approved one.
// - canonicalJson sorts keys and drops `undefined` members, so `{a: 1, b: undefined}` and `{a: 1}` hash the same;
//   array order is significant (wave and target order are part of what the checker approves).
import { canonicalJson, sha256Hex } from '../../common/canonical-json';

export const PLAN_HASH_PATTERN = /^[0-9a-f]{64}$/;

export function planHash(plan: unknown): string {
  return sha256Hex(canonicalJson(plan));
}

export function isPlanHash(value: unknown): value is string {
  return typeof value === 'string' && PLAN_HASH_PATTERN.test(value);
}
