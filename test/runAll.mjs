#!/usr/bin/env node
// The whole test suite — the README's test command (`npm test`) and what .ci/run calls.
//  1. installs what is missing (npm ci; the code-server test host + Chromium via .ci/install-test-host.sh as root),
//  2. builds the bundles (esbuild), then (unfiltered runs) lints (scripts/lint.mjs) and type-checks,
//  3. runs every *.test.ts under test/ except test/extension with node's test runner (tsx loader),
//  4. runs the extension integration tests inside a real VS Code host (code-server) driven by Chromium,
//  5. lists every skipped test with its reason (node's `# SKIP` lines, the extension runner's skipped entries),
//     then prints one closing line `N passed, N failed, N skipped` and exits non-zero on any failure.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' };
const only = process.argv.slice(2); // optional filters: substrings of test file paths

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env, ...opts });
  if (r.status !== 0) {
    console.error(`test setup failed: ${cmd} ${args.join(' ')} (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) sh('npm', ['ci', '--no-audit', '--no-fund']);
const needHost =
  !existsSync('/usr/bin/chromium') || !existsSync(join(root, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server'));
if (needHost && existsSync(join(root, '.ci', 'install-test-host.sh'))) {
  if (process.getuid?.() === 0) sh('bash', [join(root, '.ci', 'install-test-host.sh')]);
  else
    console.error(
      'note: the code-server test host or Chromium is missing and this is not root: run `sudo bash .ci/install-test-host.sh` once',
    );
}
/**
 * Debian packages some suites need: installed with apt-get when `present` (a shell test) fails and this is root,
 * else a note naming what the missing packages skip and how to install them.
 */
function aptInstallIfMissing(present, packages, skippedWithout) {
  if (spawnSync('sh', ['-c', present], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(
      `note: ${packages.join(' / ')} missing and this is not root: ${skippedWithout} (apt-get install -y ${packages.join(' ')}, as root)`,
    );
    return;
  }
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!apt(['install', '-y', '-qq', ...packages])) {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', ...packages]);
  }
}
// PyTorch + onnx for the Hugging Face backbone's oracle (test/oracles/hf_tiny.py): Debian's python3-torch / python3-onnx.
aptInstallIfMissing(
  `/usr/bin/python3 -c 'import torch, onnx'`,
  ['python3-torch', 'python3-onnx'],
  'the Hugging Face oracle tests will be skipped',
);
// A real one-node Slurm cluster for the Slurm executor's tests (test/slurm/cluster.ts): Debian's slurm-wlm + munge.
aptInstallIfMissing('command -v slurmctld && command -v munged', ['slurm-wlm', 'munge'], 'the Slurm cluster tests will be skipped');
sh('node', ['esbuild.js']);

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!['extension', 'fixtures', 'node_modules'].includes(e.name) || dir !== join(root, 'test')) out.push(...walk(p));
    } else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
let files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

mkdirSync(join(root, 'test-artifacts'), { recursive: true });
let passed = 0,
  failed = 0,
  skipped = 0;
/** Named skips, printed before the last line: `<where>: <test name> — <reason>`. */
const skips = [];
if (!only.length) {
  // lint first: ESLint with zero warnings and the formatter check (scripts/lint.mjs; counted as one check)
  console.log('== lint (eslint --max-warnings 0, prettier --check) ==');
  const lint = spawnSync(process.execPath, [join(root, 'scripts', 'lint.mjs')], { stdio: 'inherit', env });
  if (lint.status === 0) passed++;
  else {
    failed++;
    console.log('lint FAILED: `npm run lint -- --fix` fixes what it can');
  }
  // the whole code base type-checks under `strict` (counted as one check)
  console.log('== typecheck (tsc --noEmit, strict: all, Node side, browser side) ==');
  // tsconfig.json: everything (tests drive both sides); tsconfig.node.json: core + extension without DOM types;
  // tsconfig.web.json: webview without Node types
  const tscOk = ['tsconfig.json', 'tsconfig.node.json', 'tsconfig.web.json'].every(
    (p) =>
      spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', p, '--noEmit'], { stdio: 'inherit', env })
        .status === 0,
  );
  if (tscOk) {
    passed++;
    console.log('typecheck ok');
  } else {
    failed++;
    console.log('typecheck FAILED');
  }
}
const tap = join(root, 'test-artifacts', 'core-tests.tap');
if (files.length) {
  console.log(`== unit, data, CLI and webview tests: ${files.length} files ==`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      '--test-timeout=600000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { stdio: 'inherit', env },
  );
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const p = /^# pass (\d+)/m.exec(text),
    f = /^# fail (\d+)/m.exec(text),
    c = /^# cancelled (\d+)/m.exec(text);
  const sk = /^# skipped (\d+)/m.exec(text);
  passed += Number(p?.[1] ?? 0);
  skipped += Number(sk?.[1] ?? 0);
  for (const m of text.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)) skips.push(`node tests: ${m[1]} — ${m[2] || 'no reason given'}`);
  failed += Number(f?.[1] ?? 0) + Number(c?.[1] ?? 0);
  if (r.status !== 0 && !Number(f?.[1]) && !Number(c?.[1])) failed += 1; // the runner itself failed
}

const extRunner = join(root, 'test', 'extension', 'run.mjs');
const hostMissing = [
  !existsSync(process.env.CHROMIUM ?? '/usr/bin/chromium') && 'Chromium (/usr/bin/chromium)',
  !existsSync(join(root, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server')) && 'code-server (.vscode-test/code-server)',
].filter(Boolean);
const wantExt = existsSync(extRunner) && (!only.length || only.some((o) => 'test/extension'.includes(o) || o.includes('extension')));
if (wantExt && hostMissing.length) {
  // not root, so nothing could be installed: the whole extension runner is one named skip
  skipped++;
  skips.push(
    `extension tests: the whole runner (integration, UI, VSIX) — test host not installed: ${hostMissing.join(', ')} (sudo bash .ci/install-test-host.sh)`,
  );
} else if (wantExt) {
  console.log('== extension tests in a real VS Code host (code-server + Chromium) ==');
  const r = await new Promise((res) => {
    const child = spawn(process.execPath, [extRunner], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('exit', (code) => res({ code, out }));
  });
  const m = [...r.out.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)].pop();
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    skipped += Number(m[3] ?? 0);
  }
  for (const s of r.out.matchAll(/^SKIP (.*)$/gm)) skips.push(`extension tests: ${s[1]}`);
  if (r.code !== 0 && !(m && Number(m[2]) > 0)) failed += 1;
}

if (skips.length) {
  console.log(`== skipped (${skipped}) ==`);
  for (const s of skips) console.log(`skip ${s}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
