// tsc emits extension-less relative imports; Node's ESM loader needs them spelled out. Adds ".js" to the
// relative specifiers of dist/esm (code and declarations) and marks the folder as ESM.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../dist/esm/', import.meta.url).pathname;
const relative = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+?)(?<!\.js)\2/g;
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.js') && !name.endsWith('.d.ts')) continue;
  const path = join(dir, name);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(relative, (_, lead, quote, spec) => `${lead}${quote}${spec}.js${quote}`));
}
writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
