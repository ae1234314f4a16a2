#!/usr/bin/env node
// `npm run lint`: ESLint (typescript-eslint, eslint.config.mjs) over the whole tree with zero warnings allowed,
// the formatter (prettier, .prettierrc.json) in check mode, and scripts/checkImports.mjs (no import cycles,
// dependencies pointing one way) and one file-name style (camelCase). `npm run lint -- --fix` lets ESLint fix what it
// can and prettier rewrite the files. `npm test` runs this first (test/runAll.mjs) and counts a failure as one
// failed check. Exit 0 = clean.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const fix = process.argv.includes('--fix');

/** The formatter checks the whole tree; .prettierignore lists what it leaves alone (generated files, recorded data, examples, prose). */
export const FORMAT_SCOPE = ['.'];

function run(bin, args) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', bin), ...args], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

const eslint = run('eslint/bin/eslint.js', ['.', '--max-warnings', '0', ...(fix ? ['--fix'] : [])]);
const prettier = run('prettier/bin/prettier.cjs', [fix ? '--write' : '--check', '--log-level', 'warn', ...FORMAT_SCOPE]);
/**
 * File names in one style: every source, test, script and stylesheet under these folders, and the folders themselves,
 * are named in camelCase (`policyScorer.ts`, `flowerProtocol.test.ts`). bench/ is left to its own rule for now.
 */
export const NAMED_SCOPE = ['core', 'extension', 'webview', 'harness', 'scripts', 'test', 'bench'];
const CAMEL = /^[a-z][a-zA-Z0-9]*$/;
function badNames(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!CAMEL.test(e.name)) out.push(`${relative(root, p)}/`);
      out.push(...badNames(p));
    } else if (/\.(ts|mts|mjs|cjs|js|css|html)$/.test(e.name) && !CAMEL.test(e.name.slice(0, e.name.indexOf('.'))))
      out.push(relative(root, p));
  }
  return out;
}
const misnamed = NAMED_SCOPE.filter((d) => existsSync(join(root, d))).flatMap((d) => badNames(join(root, d)));
for (const m of misnamed) console.log(`${m}: name it in camelCase (git mv), like the rest of the tree`);
// import cycles and layering (docs/design.md "The four parts")
const imports = spawnSync(process.execPath, [join(root, 'scripts', 'checkImports.mjs')], { cwd: root, stdio: 'inherit' }).status ?? 1;
const failed = [
  eslint && 'eslint',
  prettier && 'prettier (`npm run lint -- --fix` rewrites the files)',
  imports && 'imports',
  misnamed.length && 'file names',
].filter(Boolean);
console.log(
  failed.length
    ? `lint FAILED: ${failed.join(', ')}`
    : 'lint ok (eslint: 0 problems; prettier: formatted; imports: no cycles, layering respected; file names: camelCase)',
);
process.exit(failed.length ? 1 : 0);
