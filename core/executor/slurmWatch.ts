/**
 * Watching Slurm runs (docs/design.md "Executors"): one `squeue` call for all watched jobs per poll, with
 * backoff while nothing changes; live events are read from each run folder's events.jsonl (the job
 * writes them there first, as every run does), so every consumer of RunEvents works for Slurm runs.
 * When Slurm ends a job, the run folder is settled: a job Slurm killed (time limit, node failure, out of
 * memory, preemption) ends `failed` with Slurm's state and reason and the tail of its stderr; `scancel`
 * ends it `cancelled`; the events already written are kept. Anyone may watch (the CLI, a reopened editor).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hasResults, type RunEvent, type RunInfo, type RunStatus } from '../experiment/events';
import { EventTail } from '../experiment/eventTail';
import { EventLog, readRunInfo, writeJsonAtomic } from '../experiment/runStore';
import { queryJobs, scancel, slurmSync, SLURM_TERMINAL, type SlurmJobState } from './slurm';

export interface WatchedRun {
  runDir: string;
  jobId: string;
  /** Set once the run folder is settled. */
  status?: RunStatus;
  /** Slurm's last word on the job. */
  slurm?: SlurmJobState;
}

export interface WatchOptions {
  /** Every new event of a watched run, in order. */
  onEvent?: (run: WatchedRun, e: RunEvent) => void;
  /** Slurm's state or reason changed (PENDING → RUNNING, a new pending reason). */
  onState?: (run: WatchedRun) => void;
  /** The run's folder is settled (finished, failed or cancelled). */
  onSettled?: (run: WatchedRun) => void;
  /** Poll interval bounds (ms): the first polls are fast, then the interval grows ×1.5 while nothing changes. */
  minMs?: number;
  maxMs?: number;
}

/** Slurm states that mean Slurm itself ended the job (not the run's own end, not scancel). */
const KILLED = new Set(['TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED']);

/** The last lines of a file (Slurm's stderr of the job), '' when it does not exist. */
export function tailOf(path: string, bytes = 2000, lines = 8): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    closeSync(fd);
    return buf.toString('utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Record Slurm's end of a job in its run folder (idempotent). The run's own terminal status stands when the
 * job ended by itself (COMPLETED, or FAILED after the run recorded its failure); Slurm's kill overrides a
 * `cancelled` the run wrote on the SIGTERM Slurm sent it.
 */
export function settleRun(runDir: string, job: SlurmJobState | undefined): RunStatus {
  const info = readRunInfo(runDir);
  if (!info) return 'failed';
  const state = job?.state ?? 'UNKNOWN';
  const stderr = info.slurm?.stderr ? tailOf(info.slurm.stderr) : '';
  const tail = stderr ? `\n--- stderr (${info.slurm!.stderr}) ---\n${stderr}` : '';
  let status: RunStatus = info.status;
  let error = info.error;
  let event: RunEvent | undefined;
  const now = Date.now();
  if (KILLED.has(state) && !hasResults(info.status)) {
    status = 'failed';
    const why = state === 'NODE_FAIL' && job?.node ? nodeReason(job.node) : undefined;
    error = `Slurm ended the job: ${state}${job?.reason ? ` (${job.reason})` : ''}${job?.node ? ` on ${job.node}` : ''}${why ? `, node reason: "${why}"` : ''}${tail}`;
    event = { type: 'run-failed', runId: info.id, t: now, error, where: `slurm job ${info.slurm?.jobId ?? '?'}` };
  } else if (state === 'CANCELLED' && info.status === 'running') {
    status = 'cancelled';
    error = `cancelled in Slurm (scancel)${job?.reason ? `: ${job.reason}` : ''}`;
    event = { type: 'run-cancelled', runId: info.id, t: now, reason: error };
  } else if (info.status === 'running') {
    status = 'failed';
    error = job
      ? `the Slurm job ended (${state}) but the run did not finish${tail}`
      : `Slurm no longer knows job ${info.slurm?.jobId ?? '?'} and the run did not finish${tail}`;
    event = { type: 'run-failed', runId: info.id, t: now, error, where: `slurm job ${info.slurm?.jobId ?? '?'}` };
  }
  const slurm = info.slurm
    ? { ...info.slurm, state, reason: job?.reason ?? info.slurm.reason, node: job?.node ?? info.slurm.node }
    : undefined;
  const changed = status !== info.status || error !== info.error || JSON.stringify(slurm) !== JSON.stringify(info.slurm);
  if (event) new EventLog(runDir).append(event);
  if (changed) {
    const ended = info.endedAt ?? new Date(now).toISOString();
    const fixed: RunInfo = {
      ...info,
      status,
      error,
      slurm,
      endedAt: ended,
      durationMs: info.durationMs ?? now - Date.parse(info.startedAt),
    };
    writeJsonAtomic(join(runDir, 'run.json'), fixed);
  }
  return status;
}

/** Why an administrator (or Slurm) took a node down: `sinfo`'s reason, if it still has one. */
function nodeReason(node: string): string | undefined {
  try {
    const r = slurmSync('sinfo', ['-h', '-N', '-n', node, '-o', '%E']).trim().split('\n')[0];
    return r && r !== 'none' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Watch Slurm runs until each is settled (or `detach()`); `cancel()` scancels the ones not ended. */
export class SlurmWatch {
  private readonly tails = new Map<WatchedRun, EventTail>();
  private timer: NodeJS.Timeout | undefined;
  private interval: number;
  private readonly misses = new Map<WatchedRun, number>();
  private resolveDone!: () => void;
  private polling = false;
  private detached = false;
  /** Resolves when every run is settled or the watch is detached. */
  readonly done: Promise<void>;
  /** The last error from squeue (shown, never fatal: the next poll tries again). */
  lastError?: string;

  constructor(
    readonly runs: WatchedRun[],
    private readonly opts: WatchOptions = {},
  ) {
    this.interval = opts.minMs ?? 1000;
    for (const r of runs) this.tails.set(r, new EventTail(r.runDir));
    this.done = new Promise((res) => (this.resolveDone = res));
    this.timer = setTimeout(() => void this.poll(), 0);
  }

  /** Runs not settled yet. */
  active(): WatchedRun[] {
    return this.runs.filter((r) => !r.status);
  }

  /** Stop watching; the jobs go on (closing the editor never kills Slurm jobs). */
  detach(): void {
    this.detached = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.resolveDone();
  }

  /** scancel every job not ended; the watch goes on until Slurm reports them ended. */
  async cancel(): Promise<string | undefined> {
    const err = await scancel([...new Set(this.active().map((r) => r.jobId))]);
    this.interval = this.opts.minMs ?? 1000;
    return err;
  }

  /** Poll now (after a cancel, or when a view asks). */
  async poll(): Promise<void> {
    if (this.polling || this.detached) return;
    this.polling = true;
    let changed = false;
    try {
      const active = this.active();
      const { states, error } = await queryJobs(active.map((r) => r.jobId));
      this.lastError = error;
      for (const r of active) {
        for (const e of this.tails.get(r)!.read()) {
          changed = true;
          this.opts.onEvent?.(r, e);
        }
        const s = states.get(r.jobId);
        if (s && (s.state !== r.slurm?.state || s.reason !== r.slurm?.reason || s.node !== r.slurm?.node)) {
          changed = true;
          r.slurm = s;
          if (!SLURM_TERMINAL.has(s.state)) this.recordState(r.runDir, s);
          this.opts.onState?.(r);
        }
        const gone = !s && !error && this.misses.set(r, (this.misses.get(r) ?? 0) + 1).get(r)! >= 3;
        if ((s && SLURM_TERMINAL.has(s.state)) || gone) {
          r.status = settleRun(r.runDir, s);
          for (const e of this.tails.get(r)!.read()) this.opts.onEvent?.(r, e);
          changed = true;
          this.opts.onSettled?.(r);
        }
      }
    } finally {
      this.polling = false;
    }
    if (!this.active().length) return this.detach();
    if (this.detached) return;
    this.interval = changed ? (this.opts.minMs ?? 1000) : Math.min(this.interval * 1.5, this.opts.maxMs ?? 30_000);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), this.interval);
  }

  /**
   * Slurm's word goes into run.json while Flowloop has not started in the job (pending and why; running its
   * setup lines, on which node): until then nothing else writes it; once the job's `flowloop run` has
   * written its own run.json (state RUNNING), that file is the job's.
   */
  private recordState(runDir: string, s: SlurmJobState): void {
    const info = readRunInfo(runDir);
    if (!info?.slurm || info.status !== 'running' || info.slurm.state !== 'PENDING') return;
    if (s.state === 'PENDING' && info.slurm.reason === s.reason) return;
    writeJsonAtomic(join(runDir, 'run.json'), {
      ...info,
      slurm: { ...info.slurm, state: s.state, reason: s.reason, node: s.node ?? info.slurm.node },
    });
  }
}

/** Every run under a runs folder (and its sweeps) that Slurm may still be running: what a reopened editor reattaches to. */
export function slurmRunsToWatch(dirs: string[]): WatchedRun[] {
  const out: WatchedRun[] = [];
  for (const dir of dirs) {
    const info = readRunInfo(dir);
    if (info?.status === 'running' && info.slurm) out.push({ runDir: dir, jobId: info.slurm.jobId });
  }
  return out;
}
