import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from './events';

/**
 * Reads a run's append-only events.jsonl incrementally: each call returns the events of the complete
 * lines written since the last call (a line still being written waits for its newline). Because the
 * worker appends every event BEFORE sending it anywhere, following the file gives each event exactly
 * once and in order, whether the run is this window's worker, a CLI run or a finished run.
 */
export class EventTail {
  private offset = 0;
  readonly path: string;
  /** Lines that did not parse (reported once, never silently dropped). */
  readonly badLines: string[] = [];

  constructor(runDir: string) {
    this.path = join(runDir, 'events.jsonl');
  }

  read(): RunEvent[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // truncated/replaced: start over
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      // consume whole lines only (bytes, so a multi-byte character is never split)
      const end = buf.subarray(0, n).lastIndexOf(0x0a);
      if (end < 0) return [];
      this.offset += end + 1;
      const lines = buf.subarray(0, end).toString('utf8').split('\n');
      const out: RunEvent[] = [];
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          out.push(JSON.parse(line) as RunEvent);
        } catch {
          this.badLines.push(line.slice(0, 200));
        }
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }
}
