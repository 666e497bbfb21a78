// Benchmark: targets per second through an operation provider (issue 14). Wavegate drives the reference platform
// (examples/reference-platform) on loopback: refplat.deactivate_app on BENCH_TARGETS installations in one wave with
// no bake, then a rollback (undo) of all of them, once with the provider's verify probe after every target and once
// without it (the same operation with its verify step removed in this process only; a registered provider always
// declares verify). Per target, with verify: a drift re-read (state), the signed apply with its Idempotency-Key, the
// verify; Wavegate's own claim and outcome transactions around the call. Rounds alternate (with, without, with,
// without) so that a drift in the machine's load hits both alike.
// Run: npm run bench:providers   (BENCH_TARGETS=500, BENCH_ROUNDS=2; WAVEGATE_ENGINE_CONCURRENCY as the engine reads
// it, default 8; Wavegate's store and the platform's database are SQLite files unless TEST_DATABASE_URL is set)
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { providerDefinition } from '../examples/reference-platform/platform';
import { OperationRegistry } from '../src/operations/operation.registry';
import type { Operation } from '../src/operations/operation.types';
import { createActors } from '../test/support/factories';
import { allowDestinations, inProcess, registerProvider, waitForStatus } from '../test/support/providers';
import { PLATFORM_SECRET, startReferencePlatform } from '../test/support/reference-platform';
import { startTestApp } from '../test/support/test-app';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const OP = 'refplat.deactivate_app';

async function main(): Promise<void> {
  process.env.WAVEGATE_ENGINE_POLL_MS ??= '20';
  const p = await startReferencePlatform();
  const sites = await p.platform.seed({
    tenants: TARGETS,
    apps: ['insight'],
    pagesPerSite: 1,
    membersPerSite: 1,
  });
  const t = await startTestApp({ env: { WAVEGATE_PROVIDER_BACKOFF_MS: '20' } });
  const a = await createActors(t);
  const call = inProcess(t);
  await allowDestinations(call, a.admin.token, [`${p.url}/wavegate/`]);
  await registerProvider(
    call,
    { admin: a.admin.token, checkers: [a.checker1.token, a.checker2.token] },
    providerDefinition(p.url, PLATFORM_SECRET),
  );
  if ((await call('POST', '/api/inventory/sync', a.admin.token, {})).status !== 200) throw new Error('sync');
  const registry = t.app.get(OperationRegistry);
  const withVerify = registry.get(OP) as Operation<unknown>;
  const external = withVerify.external;
  if (!external?.verify || !external.undo) throw new Error(`${OP} has no verify or undo`);
  const withoutVerify: Operation<unknown> = {
    ...withVerify,
    external: { apply: external.apply, undo: external.undo },
  };

  const results: Record<'with' | 'without', { apply: number[]; undo: number[] }> = {
    with: { apply: [], undo: [] },
    without: { apply: [], undo: [] },
  };
  const timed = async (crId: string, command: 'execute' | 'rollback', until: string): Promise<number> => {
    const s = performance.now();
    const r = await call('POST', `/api/change-requests/${crId}/${command}`, a.maker.token, {
      reason: 'bench',
    });
    if (r.status !== 200 && r.status !== 202)
      throw new Error(`${command}: ${r.status} ${JSON.stringify(r.body)}`);
    const done = await waitForStatus(call, a.maker.token, crId, [until, 'halted'], 600_000);
    if (done.status !== until) throw new Error(`${command} ended ${done.status}: ${String(done.haltReason)}`);
    return performance.now() - s;
  };

  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['with', 'without'] as const) {
      registry.registerProvided(kind === 'with' ? withVerify : withoutVerify);
      const before = p.platform.calls.length;
      const created = await call('POST', '/api/change-requests', a.maker.token, {
        title: `bench ${kind} verify, round ${round + 1}`,
        operation: OP,
        targets: sites.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        waves: { sizes: [TARGETS], bakeSeconds: 0 },
        justification: 'benchmark',
      });
      if (created.status !== 201)
        throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
      const cr = created.body;
      await call('POST', `/api/change-requests/${cr.id}/submit`, a.maker.token);
      for (const c of [a.checker1, a.checker2].slice(0, cr.requiredApprovals as number))
        await call('POST', `/api/change-requests/${cr.id}/approve`, c.token, { planHash: cr.planHash });
      results[kind].apply.push(await timed(cr.id as string, 'execute', 'completed'));
      results[kind].undo.push(await timed(cr.id as string, 'rollback', 'rolled_back'));
      const calls = p.platform.calls.slice(before);
      const n = (e: string) => calls.filter((c) => c.endpoint === e).length;
      console.log(
        `round ${round + 1} ${kind.padEnd(7)} verify: platform calls state ${n('state')}, apply ${n('apply')}, ` +
          `undo ${n('undo')}, verify ${n('verify')}; repeated keys ${calls.filter((c) => c.repeated).length}`,
      );
    }
  }
  registry.registerProvided(withVerify);
  await t.close();
  await p.stop();

  const rate = (ms: number[]) => ms.map((x) => ((TARGETS / x) * 1000).toFixed(1)).join(', ');
  const mean = (ms: number[]) => ((TARGETS * ms.length) / ms.reduce((s, x) => s + x, 0)) * 1000;
  const median = (ms: number[]) => {
    const r = ms.map((x) => (TARGETS / x) * 1000).sort((x, y) => x - y);
    return r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
  };
  console.log(
    `providers: ${TARGETS} targets in one wave, bake 0, engine concurrency ${process.env.WAVEGATE_ENGINE_CONCURRENCY ?? 8}, ` +
      `store and platform ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, ${cpus().length} cores ` +
      `(${cpus()[0].model}), load ${loadavg()[0].toFixed(1)} at the end`,
  );
  for (const kind of ['with', 'without'] as const)
    console.log(
      `${kind.padEnd(7)} verify: apply median ${median(results[kind].apply).toFixed(1)}, overall ${mean(results[kind].apply).toFixed(1)} targets/s ` +
        `(rounds: ${rate(results[kind].apply)}); rollback median ${median(results[kind].undo).toFixed(1)}, overall ` +
        `${mean(results[kind].undo).toFixed(1)} targets/s (rounds: ${rate(results[kind].undo)})`,
    );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
