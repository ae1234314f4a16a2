import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASELINES, baselineComparison, baselineSets } from '../../core/experiment/baselines';
import { BASELINES as EXTENSION_BASELINES } from '../../extension/baselines';
import { ROOT, shared, TSX_IMPORT } from '../../harness/paths';

const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), ...args], { cwd, encoding: 'utf8' });
const QUICK = join(ROOT, 'examples', 'quick.flowloop.json');
const NO_STACK = /\n\s+at .*\(.*:\d+:\d+\)/;

test('the extension and the CLI read the same baselines table', () => {
  assert.equal(EXTENSION_BASELINES, BASELINES);
  assert.deepEqual(baselineSets(BASELINES.afl[0], 'x', ['seed=3']), ['seed=3', 'maxRounds=1', 'name=x-rec-agent']);
});

test('flowloop baselines <quick config>: one finished run per baseline, run: lines, a comparison table', () => {
  shared('lastfm');
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-baselines-'));
  const r = cli(['baselines', QUICK], ws);
  assert.equal(r.status, 0, r.stdout + r.stderr.slice(-3000));
  const expected = BASELINES.sequential.map((b) => b.name);
  const runLines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('run: '))
    .map((l) => l.slice(5));
  assert.equal(runLines.length, expected.length, r.stdout);
  const runsRoot = join(ws, '.flowloop', 'runs');
  assert.deepEqual(readdirSync(runsRoot).length, expected.length, `run folders: ${readdirSync(runsRoot)}`);
  expected.forEach((name, i) => {
    const dir = runLines[i];
    assert.ok(dir.startsWith(runsRoot) && dir.endsWith(`smoke-${name}`), `baseline ${name} ran into ${dir}`);
    const info = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    assert.equal(info.status, 'finished', `${name}: ${JSON.stringify(info)}`);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.model, name, `${name}: config.json has model ${config.model}`);
    assert.equal(config.epochs, 1, 'the rest of the user config is kept');
    assert.ok(existsSync(join(dir, 'metrics.json')), `${name}: no metrics.json`);
  });
  // the comparison table: header, rule, one finished row per baseline with its key metric
  const table = r.stdout.slice(r.stdout.indexOf('baselines of smoke (sequential):'));
  assert.match(table, /baseline\s+status\s+key metric\s+test\/hr@1/, table);
  for (const name of expected)
    assert.match(table, new RegExp(`\\n${name}\\s+finished\\s+test/cand_hr@1=\\d`), `no row for ${name} in:\n${table}`);
  // and `runs` lists them under their baseline names
  const runs = cli(['runs'], ws);
  for (const name of expected) assert.match(runs.stdout, new RegExp(`smoke-${name}\\s+sequential\\s+finished`), runs.stdout);
});

test('flowloop baselines --dry-run lists each baseline and its overrides without running anything', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-baselines-'));
  const r = cli(['baselines', QUICK, '--dry-run', '--set', 'epochs=2'], ws);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const b of BASELINES.sequential) {
    assert.ok(r.stdout.includes(`\n${b.name}: ${b.description}\n`), `${b.name} missing in:\n${r.stdout}`);
    assert.ok(
      r.stdout.includes(`--set epochs=2 ${b.set.map((s) => `--set ${s}`).join(' ')} --set name=smoke-${b.name}`),
      `${b.name} overrides missing in:\n${r.stdout}`,
    );
  }
  assert.deepEqual(readdirSync(ws), [], 'a dry run created files');
  const only = cli(['baselines', QUICK, '--dry-run', '--only', 'caser'], ws);
  assert.equal(only.status, 0, only.stderr);
  assert.match(only.stdout, /^1 baseline of/);
  assert.doesNotMatch(only.stdout, /sasrec|gru4rec/);
});

test('flowloop baselines: unknown --only name, bad --jobs, no config: exit 2 with one clear line', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-baselines-'));
  const cases: [string[], RegExp][] = [
    [['baselines', QUICK, '--only', 'bert4rec'], /unknown baseline "bert4rec"; sequential has sasrec, gru4rec, caser/],
    [['baselines', QUICK, '--jobs', '0'], /--jobs must be a positive integer/],
    [['baselines'], /baselines needs exactly one config file/],
    [['baselines', 'missing.flowloop.json'], /missing\.flowloop\.json/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(args, ws);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, msg);
    assert.doesNotMatch(r.stdout + r.stderr, NO_STACK);
  }
  assert.deepEqual(readdirSync(ws), []);
});

test('baselineComparison: flower extra decodings become rows, a run that never started shows —', () => {
  const root = mkdtempSync(join(tmpdir(), 'flowloop-cmp-'));
  const sft = join(root, 'sft');
  mkdirSync(sft);
  writeFileSync(
    join(sft, 'run.json'),
    JSON.stringify({ id: 'sft', kind: 'flower', status: 'finished', keyMetric: { name: 'ndcg@10', value: 0.25 } }),
  );
  writeFileSync(
    join(sft, 'metrics.json'),
    JSON.stringify({ 'ndcg@10': 0.25, dgu: 0.5, 'temp/ndcg@10': 0.125, 'd3/ndcg@10': 0.0625, main: { 'ndcg@10': 0.25 } }),
  );
  const lines = baselineComparison('flower', [
    { baseline: BASELINES.flower[0], status: 'finished', runDir: sft },
    { baseline: BASELINES.flower[1], status: 'failed' },
  ]);
  assert.match(lines[0], /^baseline\s+status\s+key metric\s+ndcg@10\s+dgu$/, lines.join('\n'));
  assert.match(lines[2], /^sft\s+finished\s+ndcg@10=0\.2500\s+0\.2500\s+0\.5000$/, lines.join('\n'));
  assert.match(lines[3], /^sft temp\s+finished\s+—\s+0\.1250\s+—$/, lines.join('\n'));
  assert.match(lines[4], /^sft d3\s+finished\s+—\s+0\.0625\s+—$/, lines.join('\n'));
  assert.match(lines[5], /^ifairlrs\s+failed\s+—\s+—\s+—$/, lines.join('\n'));
});

test('flowloop baselines --jobs 2 --only: the chosen baselines run in parallel workers, each a finished run', () => {
  shared('lastfm');
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-baselines-'));
  const r = cli(['baselines', QUICK, '--jobs', '2', '--only', 'gru4rec,caser'], ws);
  assert.equal(r.status, 0, r.stdout + r.stderr.slice(-3000));
  const dirs = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('run: '))
    .map((l) => l.slice(5))
    .sort();
  assert.equal(dirs.length, 2, r.stdout);
  assert.deepEqual(dirs.map((d) => d.replace(/.*-smoke-/, '')).sort(), ['caser', 'gru4rec']);
  for (const d of dirs) assert.equal(JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')).status, 'finished', d);
  assert.match(r.stdout, /\ngru4rec\s+finished/);
  assert.match(r.stdout, /\ncaser\s+finished/);
  assert.doesNotMatch(r.stdout, /\nsasrec\s/);
});
