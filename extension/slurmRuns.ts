import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunStatus } from '../core/experiment/events';
import { listRuns, readRunInfo, runsRoot } from '../core/experiment/runStore';
import type { SweepIndex } from '../core/experiment/sweep';
import { finishSweep, followSlurm, submissionSummary } from '../core/executor';
import { readProfiles, type ExecutorName } from '../core/executor/profile';
import { submitToSlurm } from '../core/executor/slurmRun';
import type { SlurmWatch, WatchedRun } from '../core/executor/slurmWatch';
import type { ManagedRun, RunManager, RunRequest } from './runManager';
import { configLabel } from './runWording';

/**
 * VS Code glue of the Slurm executor (core/executor): the setting `flowloop.executor` (and the picker,
 * command `flowloop.pickExecutor`) sends runs started in the editor to Slurm with the profile
 * `flowloop.executorProfile`; each submission is followed (squeue + the run folders' events.jsonl) as one
 * run of the run manager, so the tree, CodeLens, progress and views work as for local runs; Stop is
 * scancel. Closing the window leaves the jobs queued or running; opening it again reattaches to them.
 */
export class SlurmRuns implements vscode.Disposable {
  private readonly watches = new Set<SlurmWatch>();

  constructor(private readonly runs: RunManager) {
    runs.executorStart = (req) => (this.executor() === 'slurm' ? this.start(req) : undefined);
  }

  executor(): ExecutorName {
    return vscode.workspace.getConfiguration('flowloop').get<ExecutorName>('executor', 'local');
  }

  /** Submit a config (a sweep as one job array) with the profile the settings name. */
  async start(req: RunRequest): Promise<ManagedRun | undefined> {
    const profile = vscode.workspace.getConfiguration('flowloop').get<string>('executorProfile', '').trim() || undefined;
    let sub;
    try {
      sub = await submitToSlurm({ configPath: req.configPath, set: req.set, outDir: req.outDir, workspace: req.workspace, profile });
    } catch (e) {
      void vscode.window
        .showErrorMessage(`Flowloop: cannot submit to Slurm: ${describe(e)}`, 'Pick Executor')
        .then((p) => p && vscode.commands.executeCommand('flowloop.pickExecutor'));
      return undefined;
    }
    const watched: WatchedRun[] = [
      ...sub.runs.map((r) => ({ runDir: r.runDir, jobId: r.jobId })),
      ...sub.kept.filter((k) => k.jobId && k.status.startsWith('still queued')).map((k) => ({ runDir: k.runDir, jobId: k.jobId! })),
    ];
    const label = configLabel(req.configPath) + (req.variant ? ` · ${req.variant}` : '') + ' (slurm)';
    return this.follow(
      {
        configPath: req.configPath,
        label,
        set: req.set,
        runDir: sub.sweepDir ?? sub.runs[0]?.runDir,
        sweepDir: sub.sweepDir,
        metrics: sub.config.sweep?.metrics,
      },
      watched,
      submissionSummary(sub),
    );
  }

  /** Follow Slurm runs as one managed run; its end is the run's (or the sweep's) status from the run folders. */
  private follow(
    what: { configPath: string; label: string; set?: string[]; runDir?: string; sweepDir?: string; metrics?: string[] },
    watched: WatchedRun[],
    lines: string[],
  ): ManagedRun {
    const live: { watch?: SlurmWatch; detached?: boolean } = {};
    const handle = this.runs.adopt(
      { ...what, message: lines[0] ?? 'slurm' },
      {
        stop: () => void live.watch?.cancel().then((err) => err && handle.message(`scancel: ${err}`)),
        detach: () => {
          live.detached = true;
          live.watch?.detach();
        },
      },
    );
    for (const l of lines.slice(1)) handle.message(l);
    const end = () => {
      if (what.sweepDir) {
        const { index } = finishSweep(what.sweepDir, what.metrics);
        handle.end(
          index.status,
          index.status === 'failed' ? 'some sweep points failed (see sweep.json; run it again to resubmit only those)' : undefined,
        );
      } else {
        const info = what.runDir ? readRunInfo(what.runDir) : undefined;
        handle.end((info?.status ?? 'failed') as RunStatus, info?.error);
      }
    };
    if (!watched.length) {
      end();
      return handle.run;
    }
    const watch = followSlurm(
      watched,
      (e) => handle.event(e),
      (m) => handle.message(m),
    );
    live.watch = watch;
    this.watches.add(watch);
    void watch.done.then(() => {
      this.watches.delete(watch);
      if (!live.detached) end();
    });
    return handle.run;
  }

  /** A reopened window: follow every run (and sweep) of the workspaces that Slurm may still be running. */
  reattach(workspaces: string[]): number {
    let n = 0;
    for (const ws of workspaces) {
      for (const l of listRuns(runsRoot(ws))) {
        if (l.sweep) {
          let index: SweepIndex;
          try {
            index = JSON.parse(readFileSync(join(l.dir, 'sweep.json'), 'utf8'));
          } catch {
            continue;
          }
          if (index.status !== 'running' || !index.slurmJobs?.length) continue;
          const watched = index.points
            .map((p) => (p.runDir ? { dir: p.runDir, info: readRunInfo(p.runDir) } : undefined))
            .filter((x) => x?.info?.status === 'running' && x.info.slurm)
            .map((x) => ({ runDir: x!.dir, jobId: x!.info!.slurm!.jobId }));
          this.follow({ configPath: index.configPath, label: `${index.name} (slurm)`, runDir: l.dir, sweepDir: l.dir }, watched, [
            `slurm: reattached to sweep ${basename(l.dir)} (${watched.length} job${watched.length === 1 ? '' : 's'} not ended)`,
          ]);
          n++;
        } else if (l.info.status === 'running' && l.info.slurm && !l.info.sweep) {
          this.follow(
            { configPath: l.info.configPath, label: `${l.info.name} (slurm)`, runDir: l.dir },
            [{ runDir: l.dir, jobId: l.info.slurm.jobId }],
            [`slurm: reattached to job ${l.info.slurm.jobId} (${l.info.slurm.state})`],
          );
          n++;
        }
      }
    }
    return n;
  }

  /** Command flowloop.pickExecutor: local, or a Slurm profile of .flowloop/executors.json (stored in the workspace settings). */
  async pick(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const items: (vscode.QuickPickItem & { executor: ExecutorName; profile?: string })[] = [
      { label: 'local', description: 'a worker process on this machine', executor: 'local' },
    ];
    let problem: string | undefined;
    try {
      const file = folder ? readProfiles(folder) : undefined;
      for (const [name, p] of Object.entries(file?.profiles ?? {})) {
        const what = [
          p.partition && `partition ${p.partition}`,
          p.time && `time ${p.time}`,
          p.cpus && `${p.cpus} cpus`,
          p.mem,
          p.gres ?? (p.gpus !== undefined ? `gpus ${p.gpus}` : undefined),
        ]
          .filter(Boolean)
          .join(', ');
        items.push({ label: `${p.executor}: ${name}`, description: what || undefined, executor: p.executor, profile: name });
      }
      if (!file) items.push({ label: 'slurm', description: "the cluster's defaults (no .flowloop/executors.json)", executor: 'slurm' });
    } catch (e) {
      problem = describe(e);
    }
    if (problem) void vscode.window.showWarningMessage(`Flowloop: executor profiles not read: ${problem}`);
    const pick = await vscode.window.showQuickPick(items, { title: 'Flowloop: where runs go' });
    if (!pick) return;
    const cfg = vscode.workspace.getConfiguration('flowloop');
    await cfg.update('executor', pick.executor, vscode.ConfigurationTarget.Workspace);
    await cfg.update('executorProfile', pick.profile ?? '', vscode.ConfigurationTarget.Workspace);
  }

  dispose(): void {
    // the jobs go on: only stop watching (RunManager.stopAll detaches the adopted runs)
    for (const w of this.watches) w.detach();
  }
}

/** A LocatedError's `where: message`, or the message. */
function describe(e: unknown): string {
  const err = e as { message?: string; where?: string } | undefined;
  return `${err?.where ? `${err.where}: ` : ''}${err?.message ?? String(e)}`;
}
