// `npm run cluster`: three Wavegate replicas on this machine's PostgreSQL behind a small round-robin proxy, to try
// scale-out without containers (docs/operations.md, "Trying it: npm run cluster"). Not for production.
//
//   CLUSTER_DATABASE_URL   PostgreSQL database (created when missing)   postgres://postgres@127.0.0.1:5432/wavegate_cluster
//   CLUSTER_REPLICAS       how many replicas                            3
//   PORT                   the proxy's port; replicas listen on the next ones   3000
//   WAVEGATE_SECRET        shared by every replica (generated once into data/cluster-secret when unset)
//   WAVEGATE_ADMIN_EMAIL / WAVEGATE_ADMIN_PASSWORD   first admin     admin@wavegate.local / cluster-admin-password
//
// The proxy sends each request to the next replica whose /health/ready answered 200 at its last check (every
// 500 ms), so stopping one replica (kill -TERM <pid>, printed at start) shows a rolling restart: its readiness turns
// 503, the proxy stops sending to it, its event streams end with a retry hint and reconnect to the others.
// Ctrl-C stops everything gracefully.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dbUrl = process.env.CLUSTER_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/wavegate_cluster';
const n = Number(process.env.CLUSTER_REPLICAS || 3);
const port = Number(process.env.PORT || 3000);
const adminEmail = process.env.WAVEGATE_ADMIN_EMAIL || 'admin@wavegate.local';
const adminPassword = process.env.WAVEGATE_ADMIN_PASSWORD || 'cluster-admin-password';

function secret() {
  if (process.env.WAVEGATE_SECRET) return process.env.WAVEGATE_SECRET;
  const file = join(root, 'data', 'cluster-secret');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

async function ensureDatabase() {
  const u = new URL(dbUrl);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  u.search = '';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await c.end();
  }
}

const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm run build` first (npm run cluster does)');
  process.exit(1);
}
await ensureDatabase();
const sharedSecret = secret();

const replicas = [];
function startReplica(i) {
  const rport = port + 1 + i;
  const child = spawn(process.execPath, [cli, 'serve'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      PORT: String(rport),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      WAVEGATE_SECRET: sharedSecret,
      WAVEGATE_ADMIN_EMAIL: adminEmail,
      WAVEGATE_ADMIN_PASSWORD: adminPassword,
      WAVEGATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
    },
  });
  const r = { i, port: rport, child, ready: false, exited: false };
  child.on('exit', (code, signal) => {
    r.exited = true;
    r.ready = false;
    console.log(`replica ${i} (pid ${child.pid}) exited: ${signal ?? code}`);
    if (replicas.every((x) => x.exited)) process.exit(0);
  });
  replicas.push(r);
  return r;
}

async function waitReady(r, timeoutMs = 180_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (r.exited) throw new Error(`replica ${r.i} exited during start`);
    if (await probe(r)) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`replica ${r.i} not ready within ${timeoutMs} ms`);
}

function probe(r) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: r.port, path: '/health/ready', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function stopAll() {
  for (const r of replicas) if (!r.exited) r.child.kill('SIGTERM');
}

// The first replica applies the migrations alone; the others start once the schema is there.
try {
  await waitReady(startReplica(0));
  const rest = [];
  for (let i = 1; i < n; i++) rest.push(startReplica(i));
  await Promise.all(rest.map((r) => waitReady(r)));
} catch (e) {
  console.error(String(e));
  stopAll();
  process.exitCode = 1;
  await new Promise((res) => setTimeout(res, 11_000));
  process.exit(1);
}
for (const r of replicas) r.ready = true;

setInterval(async () => {
  for (const r of replicas) r.ready = !r.exited && (await probe(r));
}, 500).unref();

let next = 0;
const proxy = http.createServer((req, res) => {
  const ready = replicas.filter((r) => r.ready);
  if (ready.length === 0) {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'no replica is ready' }));
    return;
  }
  const target = ready[next++ % ready.length];
  const up = http.request(
    { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
    (ures) => {
      res.writeHead(ures.statusCode ?? 502, { ...ures.headers, 'x-wavegate-replica': String(target.i) });
      ures.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end();
  });
  req.pipe(up);
  res.on('close', () => up.destroy());
});
proxy.listen(port, '127.0.0.1', () => {
  console.log(`\n  Wavegate cluster: ${n} replicas behind http://127.0.0.1:${port} (round robin, header x-wavegate-replica)`);
  for (const r of replicas) console.log(`    replica ${r.i}: http://127.0.0.1:${r.port}  pid ${r.child.pid}`);
  console.log(`  database: ${dbUrl.replace(/\/\/[^@]*@/, '//…@')}   admin: ${adminEmail} / ${adminPassword}`);
  console.log('  Ctrl-C stops the replicas gracefully; kill -TERM <pid> shows a rolling restart of one.\n');
});

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    proxy.close();
    stopAll();
    setTimeout(() => process.exit(1), 12_000).unref();
  });
}
