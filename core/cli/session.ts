import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunEvent, RunInfo, RunStatus, WorkerMessage, WorkerRequest } from '../experiment/events';
import { readRunInfo, writeJsonAtomic } from '../experiment/runStore';
import { ProgressPrinter } from './progress';

/**
 * One CLI invocation's runs: progress on stderr, one AbortController, SIGINT/SIGTERM handling (first
 * signal cancels, a second — or 10 s later — records `cancelled` in every run still running and exits 130).
 */
export class CliSession {
  readonly printer = new ProgressPrinter();
  readonly controller = new AbortController();
  private readonly live = new Set<string>();
  private signals = 0;

  constructor() {
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A run folder now exists (and is running). */
  started(dir: string): void {
    this.live.add(dir);
  }

  ended(dir: string | undefined): void {
    if (dir) this.live.delete(dir);
  }

  private onSignal(sig: string): void {
    this.signals++;
    if (this.signals === 1) {
      this.printer.line(`${sig}: cancelling (events so far are kept in events.jsonl)…`);
      this.controller.abort(sig);
      // grace period for a kind stuck in a long synchronous step; then record the cancel ourselves
      setTimeout(() => this.forceCancel(sig), 10_000).unref();
    } else this.forceCancel(sig);
  }

  private forceCancel(sig: string): void {
    for (const dir of this.live) {
      const info = readRunInfo(dir);
      if (info && info.status === 'running') writeJsonAtomic(join(dir, 'run.json'), { ...info, status: 'cancelled', error: sig, endedAt: new Date().toISOString() } satisfies RunInfo);
    }
    process.exit(130);
  }
}

function workerEntry(): { file: string; execArgv: string[] } {
  // bundled: dist/worker.js beside dist/cli.js; from sources (tests, tsx): the TypeScript entry
  if (extname(__filename) === '.js' && existsSync(join(__dirname, 'worker.js'))) return { file: join(__dirname, 'worker.js'), execArgv: [] };
  // tsx by absolute URL: the worker must load from any working directory
  const loader = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return { file: join(__dirname, '..', 'experiment', 'worker.ts'), execArgv: ['--import', existsSync(loader) ? pathToFileURL(loader).href : 'tsx'] };
}

/** Run one config in a worker process (the extension's protocol), for runs in parallel. */
export function runInWorker(req: Extract<WorkerRequest, { type: 'start' }>, signal: AbortSignal, onEvent: (e: RunEvent) => void): Promise<{ status: RunStatus; runDir?: string; error?: string }> {
  const { file, execArgv } = workerEntry();
  return new Promise((resolveP) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let done: { status: RunStatus; runDir?: string; error?: string } | undefined;
    let runDir: string | undefined;
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const onAbort = () => child.connected && child.send({ type: 'cancel' } satisfies WorkerRequest);
    signal.addEventListener('abort', onAbort);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'event') {
        if (m.event.type === 'run-started') runDir = m.event.runDir;
        onEvent(m.event);
      }
      if (m.type === 'done') done = { status: m.status, runDir: m.runDir ?? runDir, error: m.error };
    });
    child.on('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      const onDisk = runDir ? readRunInfo(runDir) : undefined;
      resolveP(done ?? (onDisk && onDisk.status !== 'running' ? { status: onDisk.status, runDir, error: onDisk.error }
        : { status: signal.aborted ? 'cancelled' : 'failed', runDir, error: `worker exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}` }));
    });
    child.send(req);
  });
}
