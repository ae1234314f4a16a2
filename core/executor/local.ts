/**
 * The local executor's one worker launcher (docs/design.md "Executors"): forks the worker (dist/worker.js,
 * or core/experiment/worker.ts through tsx from sources) as its own process group, speaks the worker
 * protocol (WorkerRequest in, WorkerMessage out, core/experiment/events.ts), relays its events and output
 * lines, and stops it in steps (IPC cancel, then SIGTERM to its tree, then SIGKILL). When the worker dies
 * without its last message, the run folder is the truth, and a run.json still saying "running" is
 * corrected. Used by the CLI (`--jobs`: sweep points, baselines) and the editor's run manager.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  isWorkerMessage,
  WORKER_PROTOCOL,
  type RunEvent,
  type RunInfo,
  type RunStatus,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerStart,
} from '../experiment/events';
import { readRunInfo, writeJsonAtomic } from '../experiment/runStore';
import { isAlive, killTree } from './processTree';

/** Milliseconds between the IPC cancel and SIGTERM, and between SIGTERM and SIGKILL (after the worker's own 10 s exit). */
export const CANCEL_GRACE_MS = 5000;
export const TERM_GRACE_MS = 7000;

/** The worker entry beside this bundle (dist/worker.js), or the TypeScript entry through tsx (tests, sources). */
export function workerEntry(): { file: string; execArgv: string[] } {
  if (extname(__filename) === '.js' && existsSync(join(__dirname, 'worker.js')))
    return { file: join(__dirname, 'worker.js'), execArgv: [] };
  // tsx by absolute URL: the worker must load from any working directory
  const loader = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return {
    file: join(__dirname, '..', 'experiment', 'worker.ts'),
    execArgv: ['--import', existsSync(loader) ? pathToFileURL(loader).href : 'tsx'],
  };
}

export interface WorkerEnd {
  status: RunStatus;
  runDir?: string;
  error?: string;
  degraded?: string[];
  /** False when the worker died without its `done` message (the status then comes from the run folder or the exit). */
  reported: boolean;
}

export interface LocalWorkerOptions {
  request: WorkerStart;
  /** Default: workerEntry(). */
  workerPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (e: RunEvent) => void;
  /** The worker's stdout/stderr, line by line. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** What the launcher itself does (escalating a stop). */
  onLog?: (message: string) => void;
}

/** One run in a worker process. */
export class LocalWorker {
  readonly pid: number;
  /** Resolves once the worker has exited and the run's status is known. */
  readonly done: Promise<WorkerEnd>;
  runDir?: string;
  /** The last line the worker wrote or logged: what a person sees when it dies. */
  lastLine = 'starting worker';
  cancelRequested = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly child;

  constructor(private readonly opts: LocalWorkerOptions) {
    const entry = opts.workerPath ? { file: opts.workerPath, execArgv: [] } : workerEntry();
    this.child = fork(entry.file, [], {
      cwd: opts.cwd,
      env: opts.env,
      execArgv: entry.execArgv,
      serialization: 'json',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: process.platform !== 'win32', // own process group: the whole tree can be signalled
    });
    const child = this.child;
    this.pid = child.pid ?? -1;
    let doneMsg: Extract<WorkerMessage, { type: 'done' }> | undefined;
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trimEnd();
          buf = buf.slice(nl + 1);
          if (line) {
            this.lastLine = line;
            opts.onLine?.(line, name);
          }
        }
      });
    }
    child.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) {
        this.lastLine = `ignored a malformed worker message: ${JSON.stringify(m).slice(0, 200)}`;
        opts.onLine?.(this.lastLine, 'stderr');
        return;
      }
      if (m.type === 'event') {
        if (m.event.type === 'run-started') this.runDir = m.event.runDir;
        if (m.event.type === 'log') this.lastLine = m.event.message;
        if (m.event.type === 'run-failed') this.lastLine = m.event.where ? `${m.event.where}: ${m.event.error}` : m.event.error;
        opts.onEvent?.(m.event);
      } else if (m.type === 'done') {
        doneMsg = m;
        if (m.runDir) this.runDir = m.runDir;
      }
    });
    this.done = new Promise((resolve) => {
      let ended = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        for (const t of this.timers) clearTimeout(t);
        // whatever the worker left in its process group goes with it
        if (process.platform !== 'win32' && this.pid > 0)
          try {
            process.kill(-this.pid, 'SIGKILL');
          } catch {
            /* group empty */
          }
        resolve(this.outcome(doneMsg, code, signal));
      };
      child.on('error', (err) => {
        this.lastLine = `worker error: ${err.message}`;
        opts.onLog?.(this.lastLine);
        if (child.pid === undefined) finish(null, null); // never started: no 'exit' will come
      });
      child.on('exit', (code, signal) => finish(code, signal));
    });
    if (child.connected) child.send({ ...opts.request, protocol: WORKER_PROTOCOL } satisfies WorkerRequest);
  }

  private outcome(
    doneMsg: Extract<WorkerMessage, { type: 'done' }> | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): WorkerEnd {
    if (doneMsg)
      return {
        status: doneMsg.status,
        runDir: doneMsg.runDir ?? this.runDir,
        error: doneMsg.error ?? (doneMsg.status === 'failed' ? this.lastLine : undefined),
        degraded: doneMsg.degraded,
        reported: true,
      };
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const onDisk = this.runDir ? readRunInfo(this.runDir) : undefined;
    if (onDisk && onDisk.status !== 'running')
      return { status: onDisk.status, runDir: this.runDir, error: onDisk.error, degraded: onDisk.degraded, reported: false };
    if (this.cancelRequested) {
      this.repairRunJson('cancelled', `cancelled (worker stopped with ${how})`);
      return { status: 'cancelled', runDir: this.runDir, reported: false };
    }
    const error = `worker exited unexpectedly (${how}): ${this.lastLine}`;
    this.repairRunJson('failed', error);
    return { status: 'failed', runDir: this.runDir, error, reported: false };
  }

  /** Stop: IPC cancel now, SIGTERM to the tree after `graceMs`, SIGKILL `termMs` later. */
  cancel(graceMs = CANCEL_GRACE_MS, termMs = TERM_GRACE_MS): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    try {
      if (this.child.connected) this.child.send({ type: 'cancel' } satisfies WorkerRequest);
      else killTree(this.pid, 'SIGTERM');
    } catch {
      killTree(this.pid, 'SIGTERM');
    }
    this.timers.push(
      setTimeout(() => {
        if (isAlive(this.pid)) {
          this.opts.onLog?.('worker did not stop: SIGTERM');
          killTree(this.pid, 'SIGTERM');
        }
      }, graceMs),
    );
    this.timers.push(
      setTimeout(() => {
        if (isAlive(this.pid)) {
          this.opts.onLog?.('worker did not stop: SIGKILL');
          killTree(this.pid, 'SIGKILL');
        }
      }, graceMs + termMs),
    );
  }

  /** Window close: IPC cancel and SIGTERM now, SIGKILL after `killMs` if the tree is still there. */
  async kill(killMs = 2000): Promise<void> {
    this.cancelRequested = true;
    try {
      this.child.send({ type: 'cancel' } satisfies WorkerRequest);
    } catch {
      /* gone */
    }
    killTree(this.pid, 'SIGTERM');
    await Promise.race([this.done, new Promise<void>((r) => setTimeout(r, killMs))]);
    if (isAlive(this.pid)) killTree(this.pid, 'SIGKILL');
  }

  /** A worker that died left run.json saying "running": record what happened (atomic write). */
  private repairRunJson(status: RunStatus, error: string): void {
    if (!this.runDir) return;
    const info = readRunInfo(this.runDir);
    if (!info || info.status !== 'running') return;
    const ended = new Date();
    const fixed: RunInfo = {
      ...info,
      status,
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - Date.parse(info.startedAt),
      error: status === 'failed' ? error : info.error,
    };
    writeJsonAtomic(join(this.runDir, 'run.json'), fixed);
  }
}

/** Run one config in a worker process until it ends; aborting `signal` stops it (parallel sweep points and baselines). */
export async function runInWorker(
  req: WorkerStart,
  signal: AbortSignal,
  onEvent: (e: RunEvent) => void,
): Promise<{ status: RunStatus; runDir?: string; error?: string }> {
  const w = new LocalWorker({ request: req, onEvent });
  const onAbort = () => w.cancel();
  signal.addEventListener('abort', onAbort);
  const end = await w.done;
  signal.removeEventListener('abort', onAbort);
  return { status: end.status, runDir: end.runDir, error: end.error };
}
