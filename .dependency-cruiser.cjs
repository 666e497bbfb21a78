// The import rules that keep docs/architecture.md true (ADR 0013), checked by `npm run lint` (dependency-cruiser).
// Each folder of src/ sits in one layer; a file may import its own layer or a lower one, never a higher one. Within a
// layer, folders may import each other (auth and users, change-requests and policies, rollouts and signals know each
// other by design). A new folder of src/ must be placed in a layer here, or lint fails and says so.
const fs = require('node:fs');
const path = require('node:path');

// Lowest first. Keep in step with the table in docs/architecture.md ("Layers").
const LAYERS = [
  // 1. What every module shares: errors, ids, clock, the transaction helper, guards; the environment schema.
  ['common', 'config'],
  // 2. Who acts and what is recorded: people and their sessions, the audit chain, the outbox, metrics.
  ['audit', 'events', 'users', 'auth', 'people', 'health'],
  // 3. What a change acts on: tenants, environments, their sealed snapshots, the change capture and archive of their
  // rows, and the operations applied to them.
  ['tenants', 'environments', 'snapshots', 'archive', 'operations'],
  // 4. The change request: authoring, review, the plan and the approval policies.
  ['change-requests', 'policies'],
  // 5. Running an approved change: the wave engine and the signals that halt it.
  ['rollouts', 'signals'],
  // 6. Features built on the above.
  [
    'flags',
    'client-api',
    'ofrep',
    'webhooks',
    'backups',
    'comments',
    'slack',
    'connectors',
    'providers',
    'restores',
    'web-ui',
  ],
  // 7. Assembly: the database module (every entity), the demo. The root files (src/*.ts) are above every layer.
  ['database', 'demo'],
];

const placed = new Set(LAYERS.flat());
const unplaced = fs
  .readdirSync(path.join(__dirname, 'src'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !placed.has(d.name))
  .map((d) => d.name);
if (unplaced.length > 0)
  throw new Error(
    `.dependency-cruiser.cjs: place src/${unplaced.join(', src/')} in one of LAYERS (lowest first)`,
  );

const folders = (names) => `^src/(${names.join('|')})/`;

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${i + 1}-imports-only-down`,
  comment: `${layer.join(', ')} (layer ${i + 1}) may not import a higher layer (docs/architecture.md, "Layers")`,
  severity: 'error',
  from: { path: folders(layer) },
  to: { path: [folders(LAYERS.slice(i + 1).flat()), '^src/[^/]+\\.ts$'] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'root-files-are-the-top',
      comment:
        'main.ts, app.module.ts, app.factory.ts and cli.ts assemble everything; nothing in a layer imports them',
      severity: 'error',
      from: { path: folders(['database']) },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'domain-is-pure',
      comment:
        'a domain/ folder holds pure functions over plain data (STYLE.md habit 1): no Nest, no TypeORM, and no ' +
        'entity, store, service, controller or module of any folder',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/' },
      to: {
        path: ['(^|/)node_modules/(@nestjs/|typeorm/)', '\\.(entity|store|service|controller|module)\\.ts$'],
      },
    },
    {
      name: 'controllers-only-from-their-module',
      comment: 'a controller is the HTTP edge: only the Nest module that declares it imports it',
      severity: 'error',
      from: { pathNot: '\\.module\\.ts$' },
      to: { path: '\\.controller\\.ts$' },
    },
    {
      name: 'packages-not-src',
      comment:
        'the evaluation engine and the SDK are published on their own: nothing from the server or the UI',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^(src|web)/' },
    },
    {
      name: 'evaluation-is-pure',
      comment:
        '@wavegate/evaluation does no I/O and has no dependency (the server and the SDK share it): it imports only ' +
        'its own files, not even a Node built-in (its tests aside)',
      severity: 'error',
      from: { path: '^packages/evaluation/src/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: '^packages/evaluation/src/' },
    },
    {
      name: 'web-not-src',
      comment: 'the UI talks to the server over HTTP only',
      severity: 'error',
      from: { path: '^web/src/' },
      to: { path: '^src/' },
    },
    {
      name: 'src-not-tests',
      comment: 'the server never imports test or benchmark code',
      severity: 'error',
      from: { path: '^(src|packages/[^/]+/src)/' },
      to: { path: '^(test|bench)/|\\.(e2e-)?spec\\.tsx?$' },
    },
    {
      name: 'no-circular',
      comment: 'files import each other in one direction only (type-only imports included)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.d.ts', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
