import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared, TSX_IMPORT } from '../paths';

const cli = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), ...args], { cwd, encoding: 'utf8' });
const NO_STACK = /\n\s+at .*\(.*:\d+:\d+\)/;

test('flowloop validate examples/*.flowloop.json exits 0', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.flowloop.json')).map((f) => join('examples', f));
  assert.ok(files.length >= 3, `examples: ${files}`);
  const r = cli(['validate', ...files]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const f of files) assert.match(r.stdout, new RegExp(`${f.replace(/[.]/g, '\\.')}: ok`));
});

test('flowloop run: --set overrides reach config.json; runs lists the run; show prints its metrics', () => {
  shared('lastfm', 'test_candidates.jsonl');
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-cli-'));
  const r = cli(['run', join(ROOT, 'examples', 'afl-lastfm.flowloop.json'), '--set', 'evaluations=["recommendation"]', '--set', 'maxRounds=2', '--set', 'name=quick-afl'], ws);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const last = r.stdout.trim().split('\n').pop()!;
  assert.match(last, /^run: .*quick-afl$/);
  const runDir = last.slice('run: '.length);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  assert.equal(config.maxRounds, 2);
  assert.deepEqual(config.evaluations, ['recommendation']);
  const info = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
  assert.equal(info.status, 'finished');
  assert.ok(info.versions.node && info.versions.flowloop, JSON.stringify(info.versions));
  const runs = cli(['runs'], ws);
  assert.equal(runs.status, 0);
  assert.match(runs.stdout, /quick-afl\s+afl\s+finished/);
  const show = cli(['show', 'quick-afl'], ws);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /status\s+finished/);
  assert.match(show.stdout, /recommendation/);
});

test('flowloop run with a bad --set value: exit 2, message names the --set and the JSON path, no run folder', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-cli-'));
  const r = cli(['run', join(ROOT, 'examples', 'afl-lastfm.flowloop.json'), '--set', 'maxRounds=0', '--out', join(ws, 'runs')], ws);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /afl-lastfm\.flowloop\.json:\d+:\d+: .*maxRounds.*--set maxRounds=0/);
  assert.doesNotMatch(r.stdout + r.stderr, NO_STACK);
  assert.deepEqual(readdirSync(ws), []);
});

test('flowloop run on a missing file, an unknown command, a bad flag: exit 2 with one clear line each', () => {
  for (const args of [['run', 'nope.flowloop.json'], ['frobnicate'], ['run', '--jobs', 'x', 'a.json'], ['runs', '--bogus']]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, NO_STACK);
    assert.ok((r.stdout + r.stderr).trim().length > 0);
  }
});

test('a config whose data path does not exist: located error on the path value', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-cli-'));
  const f = join(ws, 'x.flowloop.json');
  const models = shared('models', 'afl_lastfm_sasrec');
  writeFileSync(f, `{\n  "kind": "afl",\n  "dataset": "./no/such/folder",\n  "prior": "${models}",\n  "rewardModel": "${models}"\n}\n`);
  const r = cli(['validate', f]);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /x\.flowloop\.json:3:14: folder not found: \.\/no\/such\/folder/);
});
