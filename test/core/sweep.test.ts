import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared, TSX_IMPORT } from '../../harness/paths';
import { runCli } from '../../harness/cli';
import { expandAxes, expandGrid, flattenMetrics, type SweepIndex } from '../../core/experiment/sweep';
import { readRunInfo } from '../../core/experiment/runStore';

test('log range spaces values geometrically; linear range evenly; integer rounding', () => {
  const [a, b, c] = expandAxes({
    parameters: [
      { path: 'x', range: { from: 0.001, to: 1, count: 4, scale: 'log' } },
      { path: 'y', range: { from: 0, to: 1, count: 5 } },
      { path: 'z', range: { from: 1, to: 4, count: 3, integer: true } },
    ],
  });
  assert.deepEqual(a.values, [0.001, 0.01, 0.1, 1]);
  assert.equal(a.log, true);
  assert.deepEqual(b.values, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(c.values, [1, 3, 4]); // 1, 2.5 → 3 (round half up), 4
});

test('grid is the Cartesian product, each point repeated with consecutive seeds', () => {
  const pts = expandGrid(
    [
      { path: 'a', values: [1, 2], log: false },
      { path: 'b', values: ['x', 'y', 'z'], log: false },
    ],
    2,
    10,
  );
  assert.equal(pts.length, 12);
  assert.deepEqual(
    pts.slice(0, 3).map((p) => [p.assignments, p.seed]),
    [
      [{ a: 1, b: 'x' }, 10],
      [{ a: 1, b: 'x' }, 11],
      [{ a: 1, b: 'y' }, 10],
    ],
  );
});

test('nested metrics flatten to dotted keys, arrays (curves) left out', () => {
  assert.deepEqual(flattenMetrics({ a: 1, b: { c: 2, d: [1, 2], e: { f: 3 } }, s: 'x' }), { a: 1, 'b.c': 2, 'b.e.f': 3 });
});

test('a sweep killed midway, when rerun, runs only the missing points and writes the table and plots', async () => {
  shared('lastfm', 'test_candidates.jsonl');
  const out = mkdtempSync(join(tmpdir(), 'flowloop-sweep-'));
  const config = join(ROOT, 'examples', 'afl-rounds-sweep.flowloop.json');
  const cli = (onStderr?: (all: string, kill: () => void) => void) => runCli(['run', config, '--out', out], { onStderr });
  // first run: SIGKILL as soon as the first point has finished
  const first = await cli((all, kill) => {
    if (/point 0 finished/.test(all)) kill();
  });
  assert.notEqual(first.code, 0, 'the first run should have been killed');
  const sweepDir = readdirSync(out)
    .map((d) => join(out, d))
    .find((d) => existsSync(join(d, 'sweep.json')))!;
  const before: SweepIndex = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
  const finishedBefore = before.points.filter((p) => p.runDir && readRunInfo(p.runDir)?.status === 'finished');
  assert.ok(finishedBefore.length >= 1 && finishedBefore.length < 4, `finished before the rerun: ${finishedBefore.length}`);
  // rerun: finishes the rest, keeps the finished points' folders untouched
  const second = await cli();
  assert.equal(second.code, 0, second.stderr.slice(-2000));
  const after: SweepIndex = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
  assert.equal(after.status, 'finished');
  assert.ok(
    after.points.every((p) => p.status === 'finished'),
    JSON.stringify(after.points),
  );
  for (const p of finishedBefore) {
    const q = after.points.find((x) => x.index === p.index)!;
    assert.equal(q.runDir, p.runDir, `point ${p.index} was run again`);
  }
  const started = (second.stderr.match(/flowloop: afl run/g) ?? []).length;
  assert.equal(started, 4 - finishedBefore.length, `the rerun started ${started} point runs`);
  const csv = readFileSync(join(sweepDir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 5, csv.join('\n'));
  assert.match(csv[0], /^maxRounds,n,base\.hr,base\.hr_std,/);
  assert.ok(existsSync(join(sweepDir, 'plots', 'recommendation.afl.hr.svg')));
  assert.match(second.stdout, /sweep afl-rounds: 4\/4 points finished/);
});

test('--jobs 2 runs sweep points in parallel worker processes, each a normal run folder tagged with its point', () => {
  shared('lastfm', 'test_candidates.jsonl');
  const out = mkdtempSync(join(tmpdir(), 'flowloop-sweep-jobs-'));
  const r = spawnSync(
    process.execPath,
    [
      ...TSX_IMPORT,
      join(ROOT, 'core', 'cli.ts'),
      'run',
      join(ROOT, 'examples', 'afl-rounds-sweep.flowloop.json'),
      '--out',
      out,
      '--jobs',
      '2',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const sweepDir = readdirSync(out)
    .map((d) => join(out, d))
    .find((d) => existsSync(join(d, 'sweep.json')))!;
  const index: SweepIndex = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
  assert.deepEqual(
    index.points.map((p) => p.status),
    ['finished', 'finished', 'finished', 'finished'],
  );
  const pids = new Set<number>();
  for (const p of index.points) {
    const info = readRunInfo(p.runDir!)!;
    assert.equal(info.sweep?.index, p.index);
    assert.deepEqual(info.sweep?.assignments, p.assignments);
    assert.equal(JSON.parse(readFileSync(join(p.runDir!, 'config.json'), 'utf8')).maxRounds, p.assignments.maxRounds);
    pids.add(info.pid);
  }
  assert.ok(pids.size >= 2 && !pids.has(r.pid!), `points ran in processes ${[...pids]}`);
});
