// Stopping the official unleash-client in tests. Its destroy() removes every listener of its repository, but a
// fetch already in flight still reports its failure there; once the test server has closed, that ECONNREFUSED
// becomes an unhandled 'error' event, which Jest pins on whatever suite runs next in the worker. The repository
// keeps a no-op error listener after destroy, so a late failure of a stopped client is dropped.
import { EventEmitter } from 'node:events';
import type { Unleash } from 'unleash-client';

export function destroyUnleash(unleash: Unleash | undefined): void {
  if (!unleash) return;
  unleash.destroy();
  const repository = (unleash as unknown as { repository?: EventEmitter }).repository;
  repository?.on('error', () => undefined);
}
