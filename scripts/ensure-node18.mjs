// @wavegate/sdk declares `engines.node >=18`; test/sdk.node18.e2e-spec.ts runs the built SDK on a real Node 18.
// This makes one available without touching the system's Node: NODE18_PATH (any Node 18 binary), else Debian's
// nodejs 18 package and its libraries, downloaded with `apt-get download` and unpacked with `dpkg-deb -x` into
// node_modules/.cache/node18 (gitignored). Prints nothing on success unless `--print-path` is given, in which case it
// prints the path of the Node 18 executable on stdout. Exits non-zero, saying why, when it cannot.
//
// Debian's Node 18 is built with some built-in modules kept outside the binary (undici, which is `fetch`; acorn;
// cjs-module-lexer, which ESM needs to import CommonJS): libnode reads them at start-up from /usr/share/nodejs, an
// absolute path compiled in, and aborts when they are not there ("Cannot load externalized builtin"). So, in the
// unpacked copy only, that path is rewritten to one of the same length, /proc/self/fd/9, and the launcher script
// opens the unpacked usr/share/nodejs as file descriptor 9 before starting node. Nothing is written outside the
// cache directory, and the JavaScript Node runs is Debian's, unchanged.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(repo, 'node_modules', '.cache', 'node18');
const launcher = join(cacheDir, 'node18');
const printPath = process.argv.includes('--print-path');
const EXTERNAL_DIR = '/usr/share/nodejs/';
const FD_DIR = '/proc/self/fd/9///'; // same length as EXTERNAL_DIR: the patch moves no byte of libnode
// The libraries libnode links against, taken from the same Debian release (the system may lack some, e.g. c-ares).
const LIBRARIES = ['libuv1', 'libc-ares2', 'libbrotli1', 'libnghttp2-14', 'libicu72'];
const EXTERNAL_MODULES = ['node-acorn', 'node-cjs-module-lexer', 'node-undici'];

let staging; // the directory being filled, removed on failure

function fail(message) {
  if (staging) rmSync(staging, { recursive: true, force: true });
  console.error(`ensure-node18: ${message}`);
  process.exit(1);
}

// Anything unexpected (an unwritable cache directory, a disk full...) ends the same way: non-zero, with the reason.
process.on('uncaughtException', (e) =>
  fail(`${e.message} (set NODE18_PATH to a Node 18 executable instead)`),
);

// Progress goes to stderr: with --print-path, stdout holds the path only.
const say = (message) => console.error(`ensure-node18: ${message}`);

function done(path) {
  if (printPath) process.stdout.write(`${path}\n`);
  process.exit(0);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ok: r.status === 0, stdout: r.stdout ?? '', output };
}

/** The version a Node executable reports, and why not when it does not run. */
function nodeVersion(bin) {
  const r = run(
    bin,
    [
      '-e',
      'if (typeof fetch !== "function") throw new Error("no global fetch"); console.log(process.version)',
    ],
    {
      timeout: 30_000,
    },
  );
  return r.ok
    ? { version: r.stdout.trim() }
    : { error: r.output.split('\n').slice(0, 3).join(' / ') || 'no output' };
}

if (process.env.NODE18_PATH) {
  const bin = process.env.NODE18_PATH;
  const { version, error } = nodeVersion(bin);
  if (!version?.startsWith('v18.'))
    fail(
      `NODE18_PATH=${bin} is not a working Node 18 (${version ? `it is ${version}` : `it fails: ${error}`}).`,
    );
  done(bin);
}

if (existsSync(launcher) && nodeVersion(launcher).version?.startsWith('v18.')) done(launcher);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const missingTools = ['apt-get', 'apt-cache', 'dpkg-deb'].filter(
  (t) => !run('sh', ['-c', `command -v ${t}`]).ok,
);
if (process.platform !== 'linux' || missingTools.length > 0)
  fail(
    `no Node 18 at ${launcher}, and it cannot be fetched here (${missingTools.length ? `no ${missingTools.join(', ')}` : process.platform}). ` +
      'Set NODE18_PATH to a Node 18 executable (e.g. from nvm), or run on Debian bookworm, where nodejs 18 is the distribution package.',
  );

/** The newest 18.x version of the nodejs package apt knows, and the libnode package it depends on. */
function resolveNode18() {
  const policy = run('apt-cache', ['policy', 'nodejs']);
  const versions = [];
  let inTable = false;
  for (const line of policy.stdout.split('\n')) {
    if (/^\s*Version table:/.test(line)) inTable = true;
    const m = inTable && /^\s+(?:\*\*\*\s+)?(\S+)\s+-?\d+\s*$/.exec(line);
    if (m && m[1].startsWith('18.')) versions.push(m[1]);
  }
  // The version table is sorted newest first.
  const version = versions[0];
  if (!version) return undefined;
  const show = run('apt-cache', ['show', `nodejs=${version}`]);
  const libnode = /^Depends:.*\b(libnode\d+)\b/m.exec(show.stdout)?.[1]; // (Breaks: names older ones)
  return libnode ? { version, libnode } : undefined;
}

function download(dir) {
  const node18 = resolveNode18();
  if (!node18) return { output: 'apt knows no nodejs 18.x package (apt-cache policy nodejs)' };
  const packages = [
    `nodejs=${node18.version}`,
    `${node18.libnode}=${node18.version}`,
    ...LIBRARIES,
    ...EXTERNAL_MODULES,
  ];
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = run('apt-get', ['download', '-qq', ...packages], { cwd: dir });
  return { ...r, node18, packages };
}

mkdirSync(dirname(cacheDir), { recursive: true });
staging = `${cacheDir}.staging-${process.pid}`;
const debs = join(staging, 'debs');
let got = download(debs);
if (!got.ok && isRoot) {
  // Package lists may be missing or stale (a security update replaces the .deb that an older list names).
  say('apt-get download failed; refreshing the package lists (apt-get update)...');
  const update = run('apt-get', ['update', '-qq'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!update.ok) fail(`apt-get update failed:\n${update.output}`);
  got = download(debs);
}
if (!got.ok) {
  fail(
    `could not download Debian's nodejs 18 (${got.packages ? `apt-get download ${got.packages.join(' ')}` : 'resolving the version'}):\n` +
      `${got.output}\n` +
      (isRoot ? '' : 'Not root, so the package lists were not refreshed; run as root, or ') +
      'set NODE18_PATH to a Node 18 executable.',
  );
}
say(`unpacking Debian nodejs ${got.node18.version} into ${cacheDir} (not installed system-wide)`);

const root = join(cacheDir, 'root'); // where it will live; unpacked under staging first
const stagingRoot = join(staging, 'root');
for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
  const x = run('dpkg-deb', ['-x', join(debs, deb), stagingRoot]);
  if (!x.ok) fail(`dpkg-deb -x ${deb} failed:\n${x.output}`);
}
rmSync(debs, { recursive: true, force: true });

function find(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = find(path, name);
      if (found) return found;
    }
  }
  return undefined;
}
const libnodeName = `libnode.so.${got.node18.libnode.replace('libnode', '')}`;
const libnode = find(join(stagingRoot, 'usr', 'lib'), libnodeName);
if (!libnode || !statSync(join(stagingRoot, 'usr', 'bin', 'node')).isFile())
  fail(`the unpacked packages hold no usr/bin/node or ${libnodeName}`);
const bytes = readFileSync(libnode);
const from = Buffer.from(EXTERNAL_DIR);
const to = Buffer.from(FD_DIR);
let patched = 0;
for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + from.length)) {
  to.copy(bytes, at);
  patched++;
}
if (patched > 0) writeFileSync(libnode, bytes);

const libDir = dirname(libnode).replace(stagingRoot, root);
const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
writeFileSync(
  join(staging, 'node18'),
  [
    '#!/bin/sh',
    `# Debian nodejs ${got.node18.version}, unpacked by scripts/ensure-node18.mjs (not installed system-wide).`,
    `# Its libnode reads built-in modules from ${FD_DIR} (rewritten from ${EXTERNAL_DIR}): opened here.`,
    `exec 9<${quote(join(root, 'usr', 'share', 'nodejs'))} || exit 1`,
    `LD_LIBRARY_PATH=${quote(libDir)}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`,
    'export LD_LIBRARY_PATH',
    `exec ${quote(join(root, 'usr', 'bin', 'node'))} "$@"`,
    '',
  ].join('\n'),
);
chmodSync(join(staging, 'node18'), 0o755);
rmSync(cacheDir, { recursive: true, force: true });
renameSync(staging, cacheDir);
staging = undefined;

const check = nodeVersion(launcher);
if (!check.version?.startsWith('v18.'))
  fail(`the unpacked Node 18 does not run (${check.version ?? check.error}); see ${launcher}`);
say(`${check.version} ready at ${launcher} (${patched} built-in module paths redirected)`);
done(launcher);
