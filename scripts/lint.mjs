#!/usr/bin/env node
// `npm run lint`: ESLint (typescript-eslint, eslint.config.mjs) over the whole tree with zero warnings allowed,
// the formatter (prettier, .prettierrc.json) in check mode, and scripts/check-imports.mjs (no import cycles,
// dependencies pointing one way). `npm run lint -- --fix` lets ESLint fix what it
// can and prettier rewrite the files. `npm test` runs this first (test/run-all.mjs) and counts a failure as one
// failed check. Exit 0 = clean.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

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
// import cycles and layering (docs/design.md "The four parts")
const imports = spawnSync(process.execPath, [join(root, 'scripts', 'check-imports.mjs')], { cwd: root, stdio: 'inherit' }).status ?? 1;
const failed = [eslint && 'eslint', prettier && 'prettier (`npm run lint -- --fix` rewrites the files)', imports && 'imports'].filter(
  Boolean,
);
console.log(
  failed.length
    ? `lint FAILED: ${failed.join(', ')}`
    : 'lint ok (eslint: 0 problems; prettier: formatted; imports: no cycles, layering respected)',
);
process.exit(failed.length ? 1 : 0);
