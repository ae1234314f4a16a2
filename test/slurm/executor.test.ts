/**
 * The executor choice and its errors without a cluster: a missing `sbatch` is named (and nothing is left
 * looking queued), executors.json problems are located, and the batch script says what each task runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TSX_IMPORT } from '../../harness/paths';
import { submitScript } from '../../core/executor/slurm';

const QUICK = join(ROOT, 'test', 'extension', 'workspace', 'quick.flowloop.json');

function workspace(executors?: string): string {
  const ws = mkdtempSync(join(tmpdir(), 'flowloop-exec-'));
  if (executors !== undefined) {
    mkdirSync(join(ws, '.flowloop'));
    writeFileSync(join(ws, '.flowloop', 'executors.json'), executors);
  }
  return ws;
}

const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });

test('--executor slurm without Slurm names what is missing (exit 2, no hang)', () => {
  const ws = workspace();
  const r = cli(['run', QUICK, '--executor', 'slurm', '--dir', ws, '--out', join(ws, 'runs')], {
    ...process.env,
    PATH: join(ws, 'no-such-bin'),
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /`sbatch` not found on PATH: the Slurm executor needs Slurm's client tools/);
});

test('executors.json: an invalid profile is a located error; an unknown profile lists the known ones', () => {
  const ws = workspace('{\n  "profiles": {\n    "gpu": { "executor": "slurm", "cpus": "four" }\n  }\n}\n');
  const bad = cli(['run', QUICK, '--executor', 'slurm', '--profile', 'gpu', '--dir', ws]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /executors\.json:3:\d+: .*cpus must be integer/);
  const ws2 = workspace(JSON.stringify({ profiles: { gpu: { executor: 'slurm', partition: 'gpu' }, cpu: { executor: 'slurm' } } }));
  const unknown = cli(['run', QUICK, '--executor', 'slurm', '--profile', 'a100', '--dir', ws2]);
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /no executor profile "a100" \(profiles: gpu, cpu\)/);
  const wrong = cli(['run', QUICK, '--executor', 'nowhere', '--dir', ws2]);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /--executor must be one of local, slurm, got "nowhere"/);
});

test('the batch script: profile resources as #SBATCH lines, setup lines, one exec per array task', () => {
  const s = submitScript({
    jobName: 'flowloop-x',
    array: true,
    workspace: '/ws dir',
    stdout: '/o/%A_%a.out',
    stderr: '/o/%A_%a.err',
    header: 'two runs',
    profile: {
      executor: 'slurm',
      partition: 'gpu',
      account: 'lab',
      time: '2:00:00',
      cpus: 8,
      mem: '32G',
      gres: 'gpu:a100:1',
      sbatch: ['--constraint=avx2'],
      setup: ['module load nodejs/20'],
    },
    tasks: [
      ['node', 'cli.js', 'run', 'a.json', '--point', '0'],
      ['node', 'cli.js', 'run', 'a.json', '--set', "name=it's"],
    ],
  });
  const lines = s.split('\n');
  for (const l of [
    '#SBATCH --array=0-1',
    '#SBATCH --partition=gpu',
    '#SBATCH --account=lab',
    '#SBATCH --time=2:00:00',
    '#SBATCH --cpus-per-task=8',
    '#SBATCH --mem=32G',
    '#SBATCH --gres=gpu:a100:1',
    '#SBATCH --constraint=avx2',
    '#SBATCH --no-requeue',
    'module load nodejs/20',
    "cd '/ws dir'",
  ]) {
    assert.ok(lines.includes(l), `missing line "${l}" in:\n${s}`);
  }
  // every #SBATCH line comes before the first command (sbatch stops reading them there)
  assert.ok(Math.max(...lines.map((l, i) => (l.startsWith('#SBATCH') ? i : -1))) < lines.indexOf('set -e'));
  assert.ok(lines.includes("  1) exec node cli.js run a.json --set 'name=it'\\''s' ;;"), s);
});
