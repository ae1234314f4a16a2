import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, waitFor } from './harness';
import type { ManagedRun } from '../../../extension/runManager';
import type { SweepIndex } from '../../../core/experiment/sweep';
import { readRunInfo } from '../../../core/experiment/runStore';
import { startCluster, whyNot } from '../../slurm/cluster';

const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

test(
  'Slurm: a sweep run from the editor with the slurm executor is one job array; Stop scancels its jobs (runs end cancelled)',
  async () => {
    const cluster = startCluster();
    const prevConf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = cluster.conf; // sbatch/squeue/scancel called by the extension host
    const cfg = vscode.workspace.getConfiguration('flowloop');
    const profiles = join(ws(), '.flowloop', 'executors.json');
    try {
      mkdirSync(join(ws(), '.flowloop'), { recursive: true });
      // the setup line keeps each task RUNNING long enough to be stopped
      writeFileSync(
        profiles,
        JSON.stringify({ profiles: { testcluster: { executor: 'slurm', partition: 'debug', cpus: 1, time: '5', setup: ['sleep 120'] } } }),
      );
      await cfg.update('executor', 'slurm', vscode.ConfigurationTarget.Workspace);
      await cfg.update('executorProfile', 'testcluster', vscode.ConfigurationTarget.Workspace);
      const run = (await vscode.commands.executeCommand('flowloop.runExperiment', vscode.Uri.file(join(ws(), 'sweep.flowloop.json')), {
        openView: false,
        set: ['maxEvalRows=63'],
      })) as ManagedRun | undefined;
      // (--set: not the sweep folder the local sweep test of extension.test.ts finished)
      assert.ok(run, 'flowloop.runExperiment returned no run');
      const sweepDir = run.runDir!;
      assert.ok(existsSync(join(sweepDir, 'sweep.json')), `not a sweep folder: ${sweepDir}`);
      assert.match(run.label, /\(slurm\)$/);
      const squeue = () =>
        execFileSync('squeue', ['-h', '-r', '-t', 'all', '-o', '%i|%T'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      const running = await waitFor(
        'both array tasks RUNNING in squeue',
        () => {
          const l = squeue().filter((x) => x.endsWith('|RUNNING'));
          return l.length === 2 ? l : undefined;
        },
        30_000,
        250,
      );
      const arrayId = running[0].split('_')[0];
      await vscode.commands.executeCommand('flowloop.stopRun', vscode.Uri.file(run.configPath));
      const done = await waitFor(
        'the run to end',
        () => (['cancelled', 'failed', 'finished'].includes(run.status) ? run : undefined),
        40_000,
        250,
      );
      assert.equal(done.status, 'cancelled', `${done.status}: ${done.error ?? done.lastMessage}`);
      const states = squeue().filter((l) => l.startsWith(`${arrayId}_`));
      assert.deepEqual(
        states.map((l) => l.split('|')[1]),
        ['CANCELLED', 'CANCELLED'],
        states.join(' '),
      );
      const index: SweepIndex = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
      assert.equal(index.status, 'cancelled');
      for (const p of index.points) assert.equal(readRunInfo(p.runDir!)?.status, 'cancelled', `point ${p.index}`);
    } finally {
      await cfg.update('executor', undefined, vscode.ConfigurationTarget.Workspace);
      await cfg.update('executorProfile', undefined, vscode.ConfigurationTarget.Workspace);
      rmSync(profiles, { force: true });
      cluster.stop();
      if (prevConf === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = prevConf;
    }
  },
  120_000,
  whyNot(),
);
