#!/usr/bin/env node
// Dependency rules of docs/design.md, checked on the sources (run by scripts/lint.mjs, so by `npm test`):
//  - no import cycles among core/, extension/, webview/ (static, re-export and type-only imports all count;
//    lazy `import()` too: a cycle through a lazy import is still a cycle in the design),
//  - layering: core/ never imports vscode, extension/ or webview/; core/experiment never imports core/cli;
//    core/models never imports core/flower; webview/ imports no Node module; bench/ never imports test/.
// Prints each violation and exits 1 when there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const SOURCES = ['core', 'extension', 'webview', 'bench', 'test'];

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'fixtures') out.push(...walk(p));
    } else if (/\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const SPEC =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Resolve a relative specifier to a repository file (TypeScript's rules: .ts, /index.ts, .json). */
function resolveSpec(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.mts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

const files = SOURCES.filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d)));
const graph = new Map();
const problems = [];
const rel = (f) => relative(root, f);
for (const f of files) {
  const text = readFileSync(f, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1');
  const deps = new Set();
  for (const m of text.matchAll(SPEC)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const r = rel(f);
    if (r.startsWith('core/') && (spec === 'vscode' || /(^|\/)(extension|webview)\//.test(spec)))
      problems.push(`${r}: core/ imports "${spec}" (core never imports vscode, extension/ or webview/)`);
    if (r.startsWith('webview/') && (spec.startsWith('node:') || ['fs', 'path', 'child_process', 'os'].includes(spec)))
      problems.push(`${r}: webview/ imports the Node module "${spec}"`);
    if (!spec.startsWith('.')) continue;
    const target = resolveSpec(f, spec);
    if (!target) continue;
    const t = rel(target);
    if (r.startsWith('core/experiment/') && t.startsWith('core/cli'))
      problems.push(`${r}: core/experiment imports ${t} (the CLI sits above the runner)`);
    if (r.startsWith('core/models/') && t.startsWith('core/flower/'))
      problems.push(`${r}: core/models imports ${t} (the models know nothing of the Flower objective)`);
    if (r.startsWith('bench/') && t.startsWith('test/')) problems.push(`${r}: bench/ imports ${t} (shared helpers live in harness/)`);
    if (/^(core|extension|webview)\//.test(r) && /^(core|extension|webview)\//.test(t)) deps.add(target);
  }
  graph.set(f, deps);
}

// cycles: Tarjan's strongly connected components; every component with more than one file (or a self-import) is a cycle
let index = 0;
const idx = new Map(),
  low = new Map(),
  stack = [],
  on = new Set(),
  sccs = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1 || graph.get(v)?.has(v)) sccs.push(c);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strong(v);
for (const c of sccs) problems.push(`import cycle: ${c.map(rel).sort().join(' <-> ')}`);

for (const p of problems) console.log(p);
console.log(
  problems.length ? `imports: ${problems.length} problem(s)` : `imports ok (${files.length} files: no cycles, layering respected)`,
);
process.exit(problems.length ? 1 : 0);
