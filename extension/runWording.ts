/**
 * How the extension words a run for people: its progress (status bar, CodeLens, notification), the result that
 * matters when it ends, and the name a person knows its config by.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunInfo } from '../core/experiment/events';
import { formatRunProgress, type RunProgress } from '../core/experiment/runProgress';
import { headline } from '../core/experiment/headline';

/** What a run last reported of its progress. */
export interface RunProgressReport {
  phase: string;
  done: number;
  total: number;
  message?: string;
  run?: RunProgress;
}

/** One wording of a run's progress for the status bar, the CodeLens and the notification. */
export function progressText(p: RunProgressReport | undefined): string {
  if (!p) return '';
  return p.run ? formatRunProgress(p.run) : `${p.phase} ${p.done}/${p.total}`;
}

/** The result that matters (headline.ts: "KL(target‖gen) Flower 0.16 vs SFT 0.77, coverage 100% vs 93%"), else the key metric. */
export function resultOf(runDir: string): string | undefined {
  try {
    const info = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunInfo;
    const metrics = existsSync(join(runDir, 'metrics.json')) ? JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')) : {};
    const k = info.keyMetric;
    return headline(info.kind, metrics) ?? (k ? `${k.name} ${Number.isInteger(k.value) ? k.value : k.value.toPrecision(4)}` : undefined);
  } catch {
    return undefined;
  }
}

/** The name a person knows a config by: its "name" field, else the file name without .flowloop.json. */
export function configLabel(configPath: string): string {
  try {
    const name = JSON.parse(readFileSync(configPath, 'utf8'))?.name;
    if (typeof name === 'string' && name) return name;
  } catch {
    /* unreadable: fall back to the file name */
  }
  return basename(configPath).replace(/\.flowloop\.json$/, '');
}
