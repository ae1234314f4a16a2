/**
 * Resuming an interrupted AFL run (docs/methods.md §B2): every finished user's outcome is appended to
 * `outcomes.jsonl` in the run folder as soon as it finishes (append-only, like transcripts.jsonl, so a
 * crash, a cancel or a budget stop loses none); a run with `resume: <folder>` takes those outcomes over,
 * skips their users and runs only the others (not merely replaying calls from the cache).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { UserOutcome } from './loop';

export const OUTCOMES_FILE = 'outcomes.jsonl';

/** Appends each finished user's outcome, per loop variant ("afl", "w/o rec model", ...). */
export class OutcomeLog {
  readonly file: string;
  constructor(runDir: string) {
    this.file = join(runDir, OUTCOMES_FILE);
  }
  add(variant: string, o: UserOutcome): void {
    appendFileSync(this.file, JSON.stringify({ variant, outcome: o }) + '\n');
  }
}

/** The finished users of an earlier run, by variant and user id; the settings that must match are compared by the caller. */
export function readFinished(dir: string, configPath: string): Map<string, Map<number, UserOutcome>> {
  const file = join(dir, OUTCOMES_FILE);
  if (!existsSync(file)) {
    throw new LocatedError(
      `nothing to resume in ${dir}: it has no ${OUTCOMES_FILE} (not an AFL run folder, or one from before outcomes were kept)`,
      configPath,
      'resume',
    );
  }
  const out = new Map<string, Map<number, UserOutcome>>();
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let o: { variant?: unknown; outcome?: UserOutcome };
    try {
      o = JSON.parse(line);
    } catch {
      // a line cut by a crash can only be the last one
      if (i >= lines.length - 2) return;
      throw new LocatedError(`line ${i + 1} is not JSON`, `${file}:${i + 1}`);
    }
    if (typeof o.variant !== 'string' || typeof o.outcome?.user !== 'number')
      throw new LocatedError(`line ${i + 1} is not a {variant, outcome} record`, `${file}:${i + 1}`);
    if (!out.has(o.variant)) out.set(o.variant, new Map());
    out.get(o.variant)!.set(o.outcome.user, o.outcome);
  });
  return out;
}

/** Settings of two AFL configs that change the users' outcomes, where they differ ("maxRounds 4 -> 2"). */
export function settingsThatDiffer(beforeConfig: object, nowConfig: object): string[] {
  type Settings = Record<string, unknown> & { llm?: Record<string, unknown> };
  const before = beforeConfig as Settings,
    now = nowConfig as Settings;
  const keys = [
    'dataset',
    'candidates',
    'prior',
    'rewardModel',
    'pack',
    'maxRounds',
    'userMemoryInLoop',
    'matching',
    'parseRetries',
    'agents',
    'itemNaming',
  ];
  const llmKeys = ['baseURL', 'model', 'temperature', 'topP', 'maxTokens', 'seed', 'stop', 'extraBody', 'rec', 'user', 'parseRetry'];
  const d: string[] = [];
  for (const k of keys)
    if (JSON.stringify(before[k]) !== JSON.stringify(now[k])) d.push(`${k} ${JSON.stringify(before[k])} -> ${JSON.stringify(now[k])}`);
  for (const k of llmKeys)
    if (JSON.stringify(before.llm?.[k]) !== JSON.stringify(now.llm?.[k]))
      d.push(`llm.${k} ${JSON.stringify(before.llm?.[k])} -> ${JSON.stringify(now.llm?.[k])}`);
  return d;
}
