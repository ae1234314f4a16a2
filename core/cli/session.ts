import { join } from 'node:path';
import type { RunInfo } from '../experiment/events';
import { readRunInfo, writeJsonAtomic } from '../experiment/runStore';
import { ProgressPrinter } from './progress';

export { runInWorker } from '../executor/local';

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
      if (info && info.status === 'running')
        writeJsonAtomic(join(dir, 'run.json'), {
          ...info,
          status: 'cancelled',
          error: sig,
          endedAt: new Date().toISOString(),
        } satisfies RunInfo);
    }
    process.exit(130);
  }
}
