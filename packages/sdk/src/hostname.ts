// This machine's host name, read once: part of the default instance id and of the evaluation context
// (Unleash's applicationHostname strategy). 'unknown' where the platform refuses to tell.
import { hostname } from 'node:os';

let cachedHostname: string | undefined;

export function safeHostname(): string {
  if (cachedHostname === undefined) {
    try {
      cachedHostname = hostname();
    } catch {
      cachedHostname = 'unknown';
    }
  }
  return cachedHostname;
}
