import type { RunEvent } from '../experiment/events';

/**
 * Progress on stderr: a redrawn bar on a TTY, plain rate-limited lines otherwise (CI logs, pipes).
 * Logs and warnings always get their own line.
 */
export class ProgressPrinter {
  private lastLine = 0;
  private lastPhase = '';
  private barShown = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly tty = Boolean(process.stderr.isTTY)) {}

  handle(e: RunEvent): void {
    switch (e.type) {
      case 'run-started': this.line(`flowloop: ${e.kind} run "${e.name}" → ${e.runDir}`); break;
      case 'progress': this.progress(e.phase, e.done, e.total, e.message); break;
      case 'log': this.line(`${e.level === 'info' ? '' : e.level + ': '}${e.message}`); break;
      case 'artifact': break;
      case 'metric': if (!e.name.startsWith('train/')) this.line(`  ${e.name} = ${fmt(e.value)}${e.epoch !== undefined ? ` (epoch ${e.epoch})` : ''}`); break;
      case 'run-failed': this.line(`failed: ${e.where ? e.where + ': ' : ''}${e.error}`); break;
      case 'run-cancelled': this.line(`cancelled: ${e.reason}`); break;
      case 'run-degraded': this.line(`warning: degraded — ${e.reason}`); break;
      case 'run-finished': this.line(`${e.degraded ? 'degraded' : 'finished'} in ${(e.durationMs / 1000).toFixed(1)} s`); break;
      default: break;
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
    if (this.barShown) { this.out.write('\r\x1b[2K'); this.barShown = false; }
    this.out.write(text + '\n');
  }

  end(): void {
    if (this.barShown) { this.out.write('\n'); this.barShown = false; }
  }
}

export function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** Plain-text table with aligned columns (results printed to stdout). */
export function formatTable(header: string[], rows: (string | number)[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
