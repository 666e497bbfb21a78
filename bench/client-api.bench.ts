// Benchmark: GET /api/client/features for 200 flags, 200 and 304 responses, against a bare node:http server that
// returns the same bytes with the same ETag logic (issue 5: aim for at least 70 % of the bare server on 304).
// Run: npm run bench:client-api   (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS to change the load; LOG_LEVEL as
// the server's). Each figure is the median of BENCH_ROUNDS (3) alternating runs.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { bearer, startTestApp } from '../test/support/test-app';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FLAGS = 200;

async function load(url: string, headers: Record<string, string>, expect: number): Promise<number> {
  // The load generator runs in a worker thread so that it does not compete with the servers for this event loop.
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers,
    pipelining: 1,
    workers: 1,
  });
  const total = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  const good = expect === 200 ? r['2xx'] : r['3xx'];
  if (r.errors > 0 || r.non2xx !== (expect === 200 ? 0 : total)) {
    throw new Error(
      `unexpected responses for ${url}: ${JSON.stringify({ errors: r.errors, non2xx: r.non2xx, good, total })}`,
    );
  }
  return r.requests.average;
}

const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const t = await startTestApp({ env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' } });
  let bare: Server | undefined;
  try {
    for (let i = 0; i < FLAGS; i++) {
      const res = await t
        .http()
        .post('/api/flags')
        .set(bearer(t.adminToken))
        .send({
          key: `bench-${String(i).padStart(3, '0')}`,
          description: `Benchmark flag ${i}`,
          environments: {
            development: {
              enabled: true,
              strategies: [
                {
                  name: 'flexibleRollout',
                  parameters: { rollout: i % 101, stickiness: 'default' },
                  constraints: [{ contextName: 'country', operator: 'IN', values: ['de', 'fr', 'us'] }],
                },
              ],
              variants:
                i % 4 === 0 ? [{ name: 'a', payload: { type: 'string', value: 'x' } }, { name: 'b' }] : [],
            },
          },
        });
      if (res.status !== 201)
        throw new Error(`flag create failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const tok = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'bench', kind: 'client', environment: 'development' });
    const token = tok.body.token as string;
    await t.app.listen(0, '127.0.0.1');
    const wgUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/api/client/features`;
    const first = await fetch(wgUrl, { headers: { Authorization: token } });
    const body = Buffer.from(await first.arrayBuffer());
    const etag = first.headers.get('etag') as string;

    // The same bytes and ETag from a bare node:http server (no auth, no framework).
    bare = createServer((req, res) => {
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', 'no-cache');
      if (req.headers['if-none-match'] === etag) {
        res.statusCode = 304;
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(body);
    });
    await new Promise<void>((r) => bare?.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/api/client/features`;

    const auth = { Authorization: token };
    // Alternating rounds, median of each: on a shared machine, load from other processes moves between runs, and
    // one sequential pair can land on different sides of a spike.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const runs = {
      wg200: [] as number[],
      bare200: [] as number[],
      wg304: [] as number[],
      bare304: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      runs.wg200.push(await load(wgUrl, auth, 200));
      runs.bare200.push(await load(bareUrl, auth, 200));
      runs.wg304.push(await load(wgUrl, { ...auth, 'If-None-Match': etag }, 304));
      runs.bare304.push(await load(bareUrl, { ...auth, 'If-None-Match': etag }, 304));
    }
    const [wg200, bare200, wg304, bare304] = [runs.wg200, runs.bare200, runs.wg304, runs.bare304].map(median);

    const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
    console.log(
      `client API, ${FLAGS} flags (${(body.length / 1024).toFixed(1)} KiB), ${CONNECTIONS} connections, ${SECONDS} s each, ` +
        `median of ${ROUNDS} alternating rounds, load average (1/5/15 min) ${fmtLoad(loadAtStart)} at start, ` +
        `${fmtLoad(loadavg())} at end, ` +
        `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, server log level ${t.config.logLevel}`,
    );
    console.log(`                 Wavegate req/s   bare node:http req/s   ratio`);
    console.log(
      `200 (full body)  ${wg200.toFixed(0).padStart(14)}   ${bare200.toFixed(0).padStart(20)}   ${pct(wg200, bare200)}`,
    );
    console.log(
      `304 (ETag)       ${wg304.toFixed(0).padStart(14)}   ${bare304.toFixed(0).padStart(20)}   ${pct(wg304, bare304)}`,
    );
    const all = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
    console.log(`rounds: 200 Wavegate ${all(runs.wg200)}, bare ${all(runs.bare200)}`);
    console.log(`        304 Wavegate ${all(runs.wg304)}, bare ${all(runs.bare304)}`);
  } finally {
    await new Promise((r) => (bare ? bare.close(r) : r(undefined)));
    await t.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
