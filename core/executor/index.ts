/**
 * Executors (docs/design.md "Executors"): where a run goes. `local` (the default) runs it on this machine
 * (in process, or child workers for `--jobs`); `slurm` submits it with sbatch and watches it through
 * squeue, reading its events from the run folder. Both write the same run folders and report the same
 * RunEvents and RunResult, so every front door (CLI, editor) treats them alike.
 */
import { basename, join } from 'node:path';
import { hasResults, type RunEvent, type RunStatus } from '../experiment/events';
import { runExperiment } from '../experiment/run';
import type { RunOptions, RunResult } from '../experiment/runner';
import { readMetrics, readRunInfo, writeJsonAtomic } from '../experiment/runStore';
import { writeSweepResults, type SweepIndex } from '../experiment/sweep';
import { readFileSync } from 'node:fs';
import type { ExecutorName } from './profile';
import { submitToSlurm, type Submission } from './slurmRun';
import { SlurmWatch, type WatchedRun } from './slurmWatch';

export { EXECUTORS, type ExecutorName, type ExecutorProfile } from './profile';

export interface ExecuteOptions extends RunOptions {
  jobs?: number;
  executor?: ExecutorName;
  /** executors.json profile (slurm). */
  profile?: string;
  /** Slurm: return once submitted (the jobs go on; `flowloop run` again, or the editor, reattaches). */
  detach?: boolean;
}

/** Run (or submit and follow) an experiment, a sweep, with the chosen executor. */
export async function execute(opts: ExecuteOptions): Promise<RunResult> {
  if ((opts.executor ?? 'local') === 'local') return runExperiment(opts);
  const sub = await submitToSlurm({
    configPath: opts.configPath,
    set: opts.set,
    outDir: opts.outDir,
    workspace: opts.workspace,
    profile: opts.profile,
  });
  const where = sub.sweepDir ?? sub.runs[0].runDir;
  opts.onRunDir?.(where);
  const say = (message: string, level: 'info' | 'warn' = 'info') =>
    opts.onEvent?.({ type: 'log', runId: basename(where), t: Date.now(), level, message });
  for (const line of submissionSummary(sub)) say(line);
  const runs: WatchedRun[] = [
    ...sub.runs.map((r) => ({ runDir: r.runDir, jobId: r.jobId })),
    ...sub.kept.filter((k) => k.jobId && k.status.startsWith('still queued')).map((k) => ({ runDir: k.runDir, jobId: k.jobId! })),
  ];
  if (opts.detach || !runs.length) return finalResult(sub, opts.detach && runs.length ? 'running' : undefined);
  const watch = followSlurm(runs, opts.onEvent, say);
  const onAbort = () => void watch.cancel().then((err) => err && say(`scancel: ${err}`, 'warn'));
  opts.signal?.addEventListener('abort', onAbort);
  await watch.done;
  opts.signal?.removeEventListener('abort', onAbort);
  return finalResult(sub);
}

/** Lines that say what was submitted (job id, array size, script) and what a rerun left alone. */
export function submissionSummary(sub: Submission): string[] {
  const out: string[] = [];
  if (sub.runs.length)
    out.push(
      `slurm: submitted job ${sub.jobId}${sub.runs.length > 1 || sub.sweepDir ? ` (array of ${sub.runs.length})` : ''} with profile "${sub.profile}"; script ${sub.script}`,
    );
  for (const k of sub.kept) out.push(`slurm: ${k.label} ${k.status}${k.jobId ? ` (job ${k.jobId})` : ''}: not resubmitted`);
  if (!sub.runs.length) out.push('slurm: nothing to submit');
  return out;
}

/** Follow runs on Slurm: their events go to onEvent, Slurm's state changes and ends to `say`. */
export function followSlurm(
  runs: WatchedRun[],
  onEvent: ((e: RunEvent) => void) | undefined,
  say: (m: string, level?: 'info' | 'warn') => void,
): SlurmWatch {
  return new SlurmWatch(runs, {
    onEvent: (_r, e) => onEvent?.(e),
    onState: (r) =>
      say(
        `slurm: job ${r.jobId} ${r.slurm!.state}${r.slurm!.reason ? ` (${r.slurm!.reason})` : ''}${r.slurm!.node && r.slurm!.state === 'RUNNING' ? ` on ${r.slurm!.node}` : ''}`,
      ),
    onSettled: (r) =>
      say(
        `slurm: job ${r.jobId} ended ${r.slurm?.state ?? '(unknown to Slurm)'} → run ${r.status}: ${basename(r.runDir)}`,
        hasResults(r.status) ? 'info' : 'warn',
      ),
  });
}

/** The sweep index brought up to date from its points' run folders, and its results table written. */
export function finishSweep(dir: string, metrics?: string[], running?: boolean): { index: SweepIndex; table: string[] } {
  const index: SweepIndex = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  for (const p of index.points) {
    const info = p.runDir ? readRunInfo(p.runDir) : undefined;
    if (info) p.status = info.status;
  }
  const statuses = index.points.map((p) => p.status);
  // as a local sweep (core/experiment/sweep.ts): a degraded point keeps its results but degrades the sweep
  index.status =
    running || statuses.includes('running')
      ? 'running'
      : statuses.every((s) => hasResults(s))
        ? statuses.includes('degraded')
          ? 'degraded'
          : 'finished'
        : statuses.includes('cancelled') && !statuses.includes('failed')
          ? 'cancelled'
          : 'failed';
  if (index.status !== 'running') index.endedAt = new Date().toISOString();
  writeJsonAtomic(join(dir, 'sweep.json'), index);
  return { index, table: index.status === 'running' ? [] : writeSweepResults(dir, index, metrics) };
}

function finalResult(sub: Submission, detached?: 'running'): RunResult {
  if (sub.sweepDir) {
    const { index, table } = finishSweep(sub.sweepDir, sub.config.sweep?.metrics, !!detached);
    const finished = index.points.filter((p) => hasResults(p.status)).length;
    return {
      runDir: sub.sweepDir,
      status: index.status,
      metrics: { points: index.points.length, finished },
      table,
      error:
        index.status === 'failed'
          ? 'some sweep points failed (see sweep.json; run the same command again to resubmit only those)'
          : undefined,
    };
  }
  const runDir = sub.runs[0].runDir;
  const info = readRunInfo(runDir);
  const status: RunStatus = detached ?? info?.status ?? 'failed';
  return {
    runDir,
    status,
    metrics: readMetrics(runDir) ?? {},
    table: [],
    error: status === 'failed' ? info?.error : undefined,
    where: info?.where,
  };
}
