/**
 * The Slurm executor against a REAL one-node Slurm cluster (./cluster.ts: Debian slurm-wlm + munge,
 * started here, stopped by PID at the end). Without root or Slurm every test is reported as skipped with
 * the reason. Bounded: the one minute-long case (a job over its 1-minute time limit, Slurm's minimum)
 * is submitted first and runs while the others do.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared } from '../../harness/paths';
import { runCli } from '../../harness/cli';
import { startCluster, whyNot, type Cluster } from './cluster';
import type { SweepIndex } from '../../core/experiment/sweep';
import { readEvents, readRunInfo } from '../../core/experiment/runStore';
import { followSlurm } from '../../core/executor';
import { submitToSlurm } from '../../core/executor/slurmRun';

const skip = whyNot();
const SWEEP = join(ROOT, 'examples', 'afl-rounds-sweep.flowloop.json');
const QUICK = join(ROOT, 'test', 'extension', 'workspace', 'quick.flowloop.json');
let cluster: Cluster;
let ws: string;
let timeoutRun: string;

const PROFILES = {
  profiles: {
    fast: { executor: 'slurm', partition: 'debug', cpus: 1, time: '10' },
    // Slurm's minimum time limit; the setup line outlives it
    limit: { executor: 'slurm', partition: 'debug', time: '1', setup: ['sleep 300'] },
    // two tasks at a time on the 8-CPU node, each waiting 6 s before Flowloop starts: a window to take the node down
    pairs: { executor: 'slurm', partition: 'debug', cpus: 3, time: '10', setup: ['sleep 6'] },
    held: { executor: 'slurm', sbatch: ['--hold'] },
    nopart: { executor: 'slurm', partition: 'gpu-a100' },
    huge: { executor: 'slurm', partition: 'debug', mem: '999G' },
  },
};

function cli(args: string[], onStderr?: (all: string) => void) {
  return runCli(args, { env: cluster.env, onStderr });
}

const squeue = (): string[] =>
  execFileSync('squeue', ['-h', '-r', '-t', 'all', '-o', '%i|%T|%r'], { env: cluster.env, encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sweepDirIn = (out: string) =>
  readdirSync(out)
    .map((d) => join(out, d))
    .find((d) => existsSync(join(d, 'sweep.json')))!;

before(async () => {
  if (skip) return;
  shared('lastfm', 'test_candidates.jsonl');
  cluster = startCluster();
  process.env.SLURM_CONF = cluster.conf; // the in-process API calls (followSlurm, submitToSlurm) use it too
  ws = mkdtempSync(join(tmpdir(), 'flowloop-slurm-ws-'));
  mkdirSync(join(ws, '.flowloop'));
  writeFileSync(join(ws, '.flowloop', 'executors.json'), JSON.stringify(PROFILES, null, 2));
  const r = await cli(['run', QUICK, '--executor', 'slurm', '--profile', 'limit', '--dir', ws, '--out', join(ws, 'timeout'), '--detach']);
  assert.equal(r.code, 0, r.stderr);
  timeoutRun = /^run: (.*)$/m.exec(r.stdout)![1];
});

after(() => cluster?.stop());

test(
  'a 4-point sweep through --executor slurm gives the same results.csv as the local executor; squeue shows the array',
  { skip, timeout: 120_000 },
  async () => {
    const outLocal = join(ws, 'local'),
      outSlurm = join(ws, 'slurm');
    let arrayId: string | undefined;
    let sawAll = false;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        if (arrayId) {
          const tasks = squeue()
            .filter((l) => l.startsWith(`${arrayId}_`))
            .map((l) => l.split('|')[0]);
          if ([0, 1, 2, 3].every((i) => tasks.includes(`${arrayId}_${i}`))) sawAll = true;
        }
        await sleep(200);
      }
    })();
    const [local, slurm] = await Promise.all([
      cli(['run', SWEEP, '--out', outLocal]),
      cli(['run', SWEEP, '--executor', 'slurm', '--profile', 'fast', '--dir', ws, '--out', outSlurm], (all) => {
        arrayId ??= /submitted job (\d+) \(array of 4\)/.exec(all)?.[1];
      }),
    ]);
    polling = false;
    await poll;
    assert.equal(local.code, 0, local.stderr.slice(-2000));
    assert.equal(slurm.code, 0, slurm.stderr.slice(-2000));
    assert.ok(arrayId, `no "submitted job N (array of 4)" in:\n${slurm.stderr.slice(0, 1500)}`);
    assert.ok(sawAll, `squeue never listed ${arrayId}_0..3 together`);
    const dir = sweepDirIn(outSlurm);
    assert.equal(
      readFileSync(join(dir, 'results.csv'), 'utf8'),
      readFileSync(join(sweepDirIn(outLocal), 'results.csv'), 'utf8'),
      'results.csv differs between the executors',
    );
    const index: SweepIndex = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    assert.equal(index.status, 'finished');
    assert.deepEqual(index.slurmJobs, [arrayId]);
    for (const p of index.points) {
      const info = readRunInfo(p.runDir!)!;
      assert.equal(info.status, 'finished');
      assert.equal(info.slurm?.jobId, `${arrayId}_${p.index}`);
      assert.equal(info.slurm?.state, 'COMPLETED');
      assert.equal(info.slurm?.node, cluster.node);
      assert.ok(
        readEvents(p.runDir!).some((e) => e.type === 'run-finished'),
        `point ${p.index}: no run-finished event`,
      );
    }
    const script = readFileSync(join(dir, 'slurm', `submit-${arrayId}.sh`), 'utf8');
    assert.match(script, /#SBATCH --array=0-3/);
    assert.match(script, /#SBATCH --cpus-per-task=1/);
    assert.match(script, / run \S+afl-rounds-sweep\.flowloop\.json --point 3 --run-dir /);
  },
);

test('a pending job shows its reason; scancel ends it cancelled, its run folder kept', { skip, timeout: 40_000 }, async () => {
  const sub = await submitToSlurm({ configPath: QUICK, workspace: ws, outDir: join(ws, 'held'), profile: 'held' });
  const seen: string[] = [];
  const watch = followSlurm(
    sub.runs.map((r) => ({ runDir: r.runDir, jobId: r.jobId })),
    undefined,
    (m) => {
      seen.push(m);
      if (/PENDING \(JobHeldUser\)/.test(m)) void watch.cancel();
    },
  );
  const deadline = setTimeout(() => watch.detach(), 30_000);
  await watch.done;
  clearTimeout(deadline);
  const info = readRunInfo(sub.runs[0].runDir)!;
  assert.ok(
    seen.some((m) => /PENDING \(JobHeldUser\)/.test(m)),
    `never saw the pending reason:\n${seen.join('\n')}`,
  );
  assert.equal(info.status, 'cancelled', JSON.stringify(info));
  assert.equal(info.slurm?.state, 'CANCELLED');
  assert.ok(readEvents(sub.runs[0].runDir).some((e) => e.type === 'run-cancelled'));
});

test(
  'flowloop baselines --executor slurm: the baseline set is one job array, then the comparison table',
  { skip, timeout: 120_000 },
  async () => {
    const r = await cli([
      'baselines',
      QUICK,
      '--only',
      'sasrec,gru4rec',
      '--executor',
      'slurm',
      '--profile',
      'fast',
      '--dir',
      ws,
      '--out',
      join(ws, 'baselines'),
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const job = /submitted job (\d+) \(array of 2\)/.exec(r.stderr)?.[1];
    assert.ok(job, r.stderr.slice(0, 1500));
    const dirs = [...r.stdout.matchAll(/^run: (.*)$/gm)].map((m) => m[1]);
    assert.equal(dirs.length, 2);
    dirs.forEach((d, i) => {
      const info = readRunInfo(d)!;
      assert.equal(info.status, 'finished');
      assert.equal(info.slurm?.jobId, `${job}_${i}`);
    });
    assert.match(r.stdout, /baselines of quick \(sequential\):/);
    assert.match(r.stdout, /sasrec[\s\S]*gru4rec/);
  },
);

test('no such partition and a request sbatch refuses are clear errors, never a hang', { skip, timeout: 40_000 }, async () => {
  const t0 = Date.now();
  const a = await cli(['run', QUICK, '--executor', 'slurm', '--profile', 'nopart', '--dir', ws, '--out', join(ws, 'err')]);
  assert.equal(a.code, 2, a.stderr);
  assert.match(a.stderr, /no such partition "gpu-a100" on this cluster \(partitions: debug\)/);
  const b = await cli(['run', QUICK, '--executor', 'slurm', '--profile', 'huge', '--dir', ws, '--out', join(ws, 'err')]);
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, /sbatch failed \(exit \d+\): .*Memory specification can not be satisfied/);
  const runDir = readdirSync(join(ws, 'err'))
    .map((d) => join(ws, 'err', d))
    .find((d) => existsSync(join(d, 'run.json')))!;
  assert.equal(readRunInfo(runDir)?.status, 'failed', 'a refused submission must not look queued');
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
});

test('a job over its time limit ends failed with TIMEOUT and the tail of its stderr', { skip, timeout: 170_000 }, async () => {
  const info0 = readRunInfo(timeoutRun)!;
  const watch = followSlurm([{ runDir: timeoutRun, jobId: info0.slurm!.jobId }], undefined, () => {});
  const deadline = setTimeout(() => watch.detach(), 150_000);
  await watch.done;
  clearTimeout(deadline);
  const info = readRunInfo(timeoutRun)!;
  assert.equal(info.status, 'failed', JSON.stringify(info));
  assert.match(info.error!, /Slurm ended the job: TIMEOUT/);
  assert.match(info.error!, /DUE TO TIME LIMIT/, 'the stderr tail is missing');
  assert.equal(info.slurm?.state, 'TIMEOUT');
  assert.ok(readEvents(timeoutRun).some((e) => e.type === 'run-failed' && /TIMEOUT/.test(e.error)));
});

test(
  'a node set DOWN mid-sweep fails its jobs with the reason; a rerun finishes the missing points only',
  { skip, timeout: 150_000 },
  async () => {
    const out = join(ws, 'down');
    let downed = false;
    let arrayId: string | undefined;
    const first = cli(['run', SWEEP, '--executor', 'slurm', '--profile', 'pairs', '--dir', ws, '--out', out], (all) => {
      arrayId ??= /submitted job (\d+)/.exec(all)?.[1];
    });
    for (let i = 0; i < 200 && !downed; i++) {
      await sleep(250);
      const lines = squeue();
      const mine = lines.filter((l) => arrayId && l.startsWith(`${arrayId}_`));
      // some points done and one just started (within its 6 s setup sleep, so surely not done): take the node down now
      const young = execFileSync('squeue', ['-h', '-r', '-t', 'running', '-o', '%i|%M'], { env: cluster.env, encoding: 'utf8' })
        .split('\n')
        .some((l) => arrayId && l.startsWith(`${arrayId}_`) && /\|0:0[0-3]$/.test(l.trim()));
      if (mine.some((l) => l.includes('|COMPLETED|')) && young) {
        execFileSync('scontrol', ['update', `nodename=${cluster.node}`, 'state=down', 'reason=flowloop test: node taken down'], {
          env: cluster.env,
        });
        downed = true;
      }
    }
    assert.ok(downed, `never saw a task done while another ran: ${squeue().join(' ')}`);
    // once Slurm has failed the running tasks, bring the node back: the tasks still pending then run
    // (and once the watching CLI has recorded the failures: the node's reason is read while the node is down)
    const settled = () => {
      const mine = squeue().filter((l) => l.startsWith(`${arrayId}_`));
      if (mine.some((l) => /\|(RUNNING|COMPLETING)\|/.test(l))) return false;
      const failedIds = mine.filter((l) => l.includes('|NODE_FAIL|')).map((l) => l.split('|')[0]);
      const dir = sweepDirIn(out);
      const points: SweepIndex = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
      const infos = points.points.map((p) => (p.runDir ? readRunInfo(p.runDir) : undefined));
      return failedIds.length > 0 && failedIds.every((id) => infos.some((i) => i?.slurm?.jobId === id && i.status === 'failed'));
    };
    for (let i = 0; i < 120 && !settled(); i++) await sleep(250);
    execFileSync('scontrol', ['update', `nodename=${cluster.node}`, 'state=resume'], { env: cluster.env });
    const r1 = await first;
    assert.equal(r1.code, 1, 'the sweep with failed points must exit 1');
    const dir = sweepDirIn(out);
    const before: SweepIndex = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    const failed = before.points.filter((p) => p.status === 'failed');
    assert.ok(failed.length >= 1 && failed.length < 4, JSON.stringify(before.points.map((p) => p.status)));
    for (const p of failed) {
      const info = readRunInfo(p.runDir!)!;
      assert.match(info.error!, /NODE_FAIL/);
      assert.match(info.error!, /flowloop test: node taken down/);
    }
    const finishedBefore = before.points.filter((p) => p.status === 'finished').map((p) => [p.index, p.runDir]);
    const r2 = await cli(['run', SWEEP, '--executor', 'slurm', '--profile', 'fast', '--dir', ws, '--out', out]);
    assert.equal(r2.code, 0, r2.stderr.slice(-2000));
    assert.match(r2.stderr, new RegExp(`submitted job \\d+ \\(array of ${failed.length}\\)`), 'only the failed points are resubmitted');
    const after: SweepIndex = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    assert.equal(after.status, 'finished');
    for (const [i, runDir] of finishedBefore) assert.equal(after.points[i as number].runDir, runDir, `point ${i} was run again`);
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n').slice(1);
    assert.equal(csv.length, 4);
    assert.ok(
      csv.every((row) => row.split(',')[1] === '1'),
      `every point once:\n${csv.join('\n')}`,
    );
  },
);
