import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunEvent, RunInfo } from './events';
import { errorCode } from '../util/errors';

/**
 * The run folder, docs/design.md "Run folder": `.flowloop/runs/<yyyymmdd-hhmmss>-<name>/` with config.json,
 * run.json, events.jsonl (append-only), metrics.json, checkpoints/, and the kind's artifacts.
 * Every write except the event log is atomic (temp file + rename).
 */

/** Default runs folder of a workspace. */
export function runsRoot(workspace: string): string {
  return join(resolve(workspace), '.flowloop', 'runs');
}

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Create a fresh run folder `<root>/<stamp>-<name>` (suffix -2, -3... if taken). */
export function createRunFolder(root: string, name: string): string {
  mkdirSync(root, { recursive: true });
  const base = `${stamp()}-${name}`;
  for (let i = 1; ; i++) {
    const dir = join(root, i === 1 ? base : `${base}-${i}`);
    try {
      mkdirSync(dir); // fails if it exists: no two runs share a folder, even in parallel
      return dir;
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') throw e;
    }
  }
}

/** Atomic write: temp file in the same folder, fsync, rename. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** The append-only event log. appendFileSync returns after the write reached the OS: a kill cannot lose it. */
export class EventLog {
  readonly path: string;
  constructor(runDir: string) {
    this.path = join(runDir, 'events.jsonl');
  }
  append(event: RunEvent): void {
    appendFileSync(this.path, JSON.stringify(event) + '\n');
  }
}

/** Read a run's events; a torn last line (killed mid-write) is skipped, any other bad line reported. */
export function readEvents(runDir: string): RunEvent[] {
  const p = join(runDir, 'events.jsonl');
  if (!existsSync(p)) return [];
  const lines = readFileSync(p, 'utf8').split('\n');
  const out: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line));
    } catch {
      if (i < lines.length - 2) throw new Error(`${p}:${i + 1}: corrupt event line`);
    }
  });
  return out;
}

export function readRunInfo(runDir: string): RunInfo | undefined {
  const p = join(runDir, 'run.json');
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunInfo;
  } catch {
    return undefined;
  }
}

export function readMetrics(runDir: string): Record<string, unknown> | undefined {
  const p = join(runDir, 'metrics.json');
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8'));
}

export interface RunListing {
  dir: string;
  info: RunInfo;
  /** Set for sweep folders (they hold sweep.json and point runs). */
  sweep?: boolean;
}

/** All runs (and sweeps) under a runs folder, newest first. A run whose process died while "running" shows as failed. */
export function listRuns(root: string): RunListing[] {
  if (!existsSync(root)) return [];
  const out: RunListing[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    const info = readRunInfo(dir);
    if (info) out.push({ dir, info: withLiveness(info) });
    else if (existsSync(join(dir, 'sweep.json'))) {
      try {
        const s = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
        out.push({
          dir,
          sweep: true,
          info: {
            id: basename(dir),
            name: s.name,
            kind: s.kind,
            status: s.status,
            configPath: s.configPath,
            seed: s.seed ?? 0,
            startedAt: s.startedAt,
            endedAt: s.endedAt,
            versions: {},
            pid: s.pid ?? 0,
          },
        });
      } catch {
        /* unreadable sweep index: skip */
      }
    }
  }
  return out.sort((a, b) => (a.info.startedAt < b.info.startedAt ? 1 : -1));
}

/** A run.json that still says "running" but whose process is gone was killed hard (SIGKILL, power loss). */
export function withLiveness(info: RunInfo): RunInfo {
  // a Slurm job's pid lives on a compute node: its liveness is Slurm's state (core/executor/slurmWatch.ts)
  if (info.status !== 'running' || info.slurm) return info;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return { ...info, status: 'failed', error: info.error ?? `the run's process (pid ${info.pid}) ended without finishing` };
  }
}

/** A metrics.json object flattened to dotted numeric keys ({base:{hr:0.3}} → {"base.hr": 0.3}); non-numbers dropped. */
export function flattenMetrics(m: Record<string, unknown>, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [k, v] of Object.entries(m)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) flattenMetrics(v as Record<string, unknown>, key, out);
  }
  return out;
}
