import type { RunEvent } from '../experiment/events';
import { fmt } from '../util/table';

/**
 * Progress on stderr: a redrawn bar on a TTY, plain rate-limited lines otherwise (CI logs, pipes).
 * Logs and warnings always get their own line.
 */
export class ProgressPrinter {
  private lastLine = 0;
  private lastPhase = '';
  private barShown = false;
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  handle(e: RunEvent): void {
    switch (e.type) {
      case 'run-started':
        this.line(`flowloop: ${e.kind} run "${e.name}" → ${e.runDir}`);
        break;
      case 'progress':
        this.progress(e.phase, e.done, e.total, e.message);
        break;
      case 'log':
        this.line(`${e.level === 'info' ? '' : e.level + ': '}${e.message}`);
        break;
      case 'artifact':
        break;
      case 'metric':
        if (!e.name.startsWith('train/')) this.line(`  ${e.name} = ${fmt(e.value)}${e.epoch !== undefined ? ` (epoch ${e.epoch})` : ''}`);
        break;
      case 'run-failed':
        this.line(`failed: ${e.where ? e.where + ': ' : ''}${e.error}`);
        break;
      case 'run-cancelled':
        this.line(`cancelled: ${e.reason}`);
        break;
      case 'run-degraded':
        this.line(`warning: degraded — ${e.reason}`);
        break;
      case 'run-finished':
        this.line(`${e.degraded ? 'degraded' : 'finished'} in ${(e.durationMs / 1000).toFixed(1)} s`);
        break;
      default:
        break;
    }
  }

  private progress(phase: string, done: number, total: number, message?: string): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    if (this.tty) {
      const width = 28;
      const fill = Math.round(frac * width);
      const text = `${phase} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total}${message ? ' ' + message : ''}`;
      this.out.write(`\r\x1b[2K${text.slice(0, (this.out.columns ?? 100) - 1)}`);
      this.barShown = true;
      return;
    }
    const now = Date.now();
    if (phase !== this.lastPhase || done === total || now - this.lastLine > 2000) {
      this.lastPhase = phase;
      this.lastLine = now;
      this.out.write(`${phase}: ${done}/${total}${message ? ' ' + message : ''}\n`);
    }
  }

  line(text: string): void {
    if (this.barShown) {
      this.out.write('\r\x1b[2K');
      this.barShown = false;
    }
    this.out.write(text + '\n');
  }

  end(): void {
    if (this.barShown) {
      this.out.write('\n');
      this.barShown = false;
    }
  }
}
