/**
 * A run's progress as a whole: the runner stamps every `progress` event with the named stage it belongs to
 * ("SFT", "Flower", "users (afl)") and the run's share done (0–1), so that every front end (status bar,
 * CodeLens, notification, CLI) shows the same thing: "Flower (2/2) · epoch 6/30 · run 60%", not the share
 * of one epoch. Phases are the kinds' own (flower: "<objective> train epoch e/E", "evaluate <objective>";
 * sequential: "train epoch e", "test"; afl: "users (<variant>)"); the stages come from the config (a flower
 * run's `compare` list is fitted in order, docs/methods.md §A8).
 */

/** Display names of the objectives a flower run fits (docs/methods.md §A8). */
const STAGE_NAMES: Record<string, string> = {
  sft: 'SFT',
  flower: 'Flower',
  ifairlrs: 'IFairLRS',
  temp: 'Temp',
  d3: 'D3',
  bigrec: 'BIGRec',
};
export const stageName = (s: string): string => STAGE_NAMES[s.toLowerCase()] ?? s;

/** Share of a run spent training (the rest: loading, evaluation), for the estimate below. */
const TRAIN_SHARE = 0.9;

export interface RunProgress {
  /** Named stage ("SFT", "Flower", "train", "users (afl)"). */
  stage?: string;
  /** 1-based index of the stage among `stages`, when known. */
  stageIndex?: number;
  stages?: number;
  /** Epoch within the stage, when training. */
  epoch?: number;
  epochs?: number;
  /** The run's share done, 0–1 (an estimate: training is TRAIN_SHARE of it, stages weigh the same). */
  share: number;
}

/** The fields progress reads from a config (any kind's config has this shape). */
type ProgressConfig = { kind?: unknown; compare?: unknown; objective?: unknown; epochs?: unknown };

/** The training stages of a run in order (flower: its `compare` list or its objective; others: one). */
export function stagesOf(config: ProgressConfig): string[] {
  if (config.kind === 'flower')
    return Array.isArray(config.compare) && config.compare.length ? config.compare.map(String) : [String(config.objective ?? 'flower')];
  return [];
}

/** Where a run stands after a progress event of `phase` (done/total), from the kind's phase names and the config. */
export function runProgress(phase: string, done: number, total: number, config: ProgressConfig): RunProgress {
  const within = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const stages = stagesOf(config);
  const n = Math.max(1, stages.length);
  const idx = (tag: string | undefined) => (tag ? stages.indexOf(tag) : -1);
  const train = /^(?:(\S+) )?train epoch (\d+)(?:\/(\d+))?$/.exec(phase);
  if (train) {
    const tag = train[1];
    const epoch = Number(train[2]);
    const epochs = Number(train[3] ?? config.epochs ?? epoch) || epoch;
    const i = Math.max(0, idx(tag));
    const inStage = Math.min(1, (epoch - 1 + within) / epochs);
    return {
      stage: tag ? stageName(tag) : 'train',
      stageIndex: stages.length ? i + 1 : undefined,
      stages: stages.length || undefined,
      epoch,
      epochs,
      share: (TRAIN_SHARE * (i + inStage)) / n,
    };
  }
  const evaluate = /^evaluate (\S+)$/.exec(phase);
  if (evaluate) {
    const i = Math.max(0, idx(evaluate[1]));
    return { stage: `evaluate ${stageName(evaluate[1])}`, share: TRAIN_SHARE + ((1 - TRAIN_SHARE) * (i + within)) / n };
  }
  if (/^(test|evaluate|decode)\b/.test(phase)) return { stage: phase, share: TRAIN_SHARE + (1 - TRAIN_SHARE) * within };
  if (/^load\b/.test(phase)) return { stage: phase, share: 0 };
  // a kind whose work is one counted pass (AFL users, user simulation): its own share
  return { stage: phase, share: within };
}

/** "Flower (2/2) · epoch 6/30 · 60% of the run" — one wording for the status bar, CodeLens and notification. */
export function formatRunProgress(p: RunProgress): string {
  const stage = p.stage ? `${p.stage}${p.stageIndex && p.stages && p.stages > 1 ? ` (${p.stageIndex}/${p.stages})` : ''}` : '';
  const epoch = p.epoch !== undefined ? `epoch ${p.epoch}/${p.epochs}` : '';
  return [stage, epoch, `${Math.round(100 * p.share)}% of the run`].filter(Boolean).join(' · ');
}
