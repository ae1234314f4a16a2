import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared, TSX_IMPORT } from '../../harness/paths';

const cli = (args: string[], cwd = ROOT) =>
  spawnSync(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), ...args], { cwd, encoding: 'utf8' });
const NO_STACK = /\n\s+at .*\(.*:\d+:\d+\)/;

test('flowloop validate examples/*.flowloop.json exits 0', () => {
  const files = readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.flowloop.json'))
    .map((f) => join('examples', f));
  assert.ok(files.length >= 3, `examples: ${files}`);
  const r = cli(['validate', ...files]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const f of files) assert.match(r.stdout, new RegExp(`${f.replace(/[.]/g, '\\.')}: ok`));
});

test('flowloop run: --set overrides reach config.json; runs lists the run; show prints its metrics', () => {
  shared('lastfm', 'test_candidates.jsonl');
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-cli-'));
  const r = cli(
    [
      'run',
      join(ROOT, 'examples', 'afl-lastfm.flowloop.json'),
      '--set',
      'evaluations=["recommendation"]',
      '--set',
      'maxRounds=2',
      '--set',
      'name=quick-afl',
    ],
    ws,
  );
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

test('flowloop show on a corrupt run.json, a folder that is not a run, a corrupt metrics.json: exit 2 naming the file', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-cli-'));
  const mk = (name: string, files: Record<string, string>) => {
    const dir = join(ws, '.flowloop', 'runs', name);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };
  const okInfo = JSON.stringify({
    id: 'r',
    name: 'r',
    kind: 'sequential',
    status: 'finished',
    configPath: 'x',
    seed: 1,
    startedAt: '2025-01-01T00:00:00Z',
    versions: {},
    pid: 0,
  });
  const torn = mk('20250101-000000-torn', { 'run.json': '{"id": "torn", "kind": ' });
  const notObject = mk('20250101-000001-array', { 'run.json': '[]' });
  const foreign = mk('20250101-000002-foreign', { 'run.json': '{"hello": 1}' });
  const badMetrics = mk('20250101-000003-badmetrics', { 'run.json': okInfo, 'metrics.json': '{"hr@1": ' });
  const notRun = join(ws, 'plain-folder');
  mkdirSync(notRun);
  const cases: [string, RegExp][] = [
    [torn, new RegExp(`^${join(torn, 'run.json')}: not valid JSON: `)],
    [notObject, new RegExp(`^${join(notObject, 'run.json')}: expected a JSON object, got an array`)],
    [foreign, new RegExp(`^${join(foreign, 'run.json')}: "id" is missing or not a string`)],
    [badMetrics, new RegExp(`^${join(badMetrics, 'metrics.json')}: not valid JSON: `)],
    [notRun, new RegExp(`^${notRun}: not a run folder \\(it has no run\\.json or sweep\\.json\\)`)],
    ['torn', new RegExp(`^${join(torn, 'run.json')}: not valid JSON: `)], // by run id, found under the workspace
  ];
  for (const [ref, msg] of cases) {
    const r = cli(['show', ref], ws);
    assert.equal(r.status, 2, `show ${ref}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, msg, `show ${ref}`);
    assert.doesNotMatch(r.stdout + r.stderr, NO_STACK);
    assert.doesNotMatch(r.stderr, /TypeError|Cannot read properties/);
  }
  // `runs` still lists the readable run and names each file it had to leave out
  const runs = cli(['runs'], ws);
  assert.equal(runs.status, 0, runs.stderr);
  assert.match(runs.stdout, /20250101-000003-badmetrics\s+sequential\s+finished/);
  assert.doesNotMatch(runs.stdout, /undefined|torn|array|foreign/, runs.stdout);
  for (const d of [torn, notObject, foreign])
    assert.ok(runs.stderr.includes(`${join(d, 'run.json')}: unreadable or corrupt, run not listed`), runs.stderr);
});
