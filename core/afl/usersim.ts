/**
 * User-simulation evaluation (docs/methods.md §B4, paper Table 5): LastFM, 60 users × 20 items per ratio
 * (1:1, 1:3, 1:9).
 *  Step 1: run the loop (max rounds) on the user's loop candidates and keep the user agent's memory.
 *  Step 2: a fresh user agent judges each of the 20 items alone, shown the reward model's raw logit as
 *          "score": "User Agent" = without memory, "AFL" = with the step-1 memory.
 * Micro and macro precision / recall / F1; "Reward Model" baseline = yes for the reward model's top
 * quarter (⌊20/4⌋ = 5) of the 20 items.
 */
import { CancelledError } from '../experiment/context';
import type { LlmClient } from './llm/client';
import { callAndParse, emptyTurn, RULE_BASED_LABEL, USER_FORMAT, type AgentKind, type AgentTurn, type ParseRetry } from './agents';
import { renderMessages, type PromptPack } from './pack';
import { parseUserReply, type Matching } from './parse';

export interface UserSimCase {
  id: number;
  history: string[];
  /** The loop's candidates (step 1). */
  loopCandidates: string[];
  /** Items judged in step 2, their labels (1 = real future item) and reward-model logits. */
  items: string[];
  labels: number[];
  scores: number[];
}

export interface Judgement {
  user: number;
  item: string;
  label: number;
  score: number;
  withMemory: boolean;
  decision: 'yes' | 'no' | null;
  turn: Omit<AgentTurn, 'messages'>;
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
}
export interface PrfReport {
  micro: Prf & { tp: number; fp: number; fn: number; tn: number };
  macro: Prf;
  judgements: number;
  failed: number;
}

function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/** Micro (pooled) and macro (mean over users) precision / recall / F1; a failed judgement counts as "no". */
export function scorePredictions(rows: { user: number; label: number; yes: boolean | null }[]): PrfReport {
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0,
    failed = 0;
  const per = new Map<number, { tp: number; fp: number; fn: number }>();
  for (const r of rows) {
    const yes = r.yes === true;
    if (r.yes === null) failed++;
    const u = per.get(r.user) ?? { tp: 0, fp: 0, fn: 0 };
    if (yes && r.label === 1) {
      tp++;
      u.tp++;
    } else if (yes) {
      fp++;
      u.fp++;
    } else if (r.label === 1) {
      fn++;
      u.fn++;
    } else tn++;
    per.set(r.user, u);
  }
  const users = [...per.values()].map((u) => prf(u.tp, u.fp, u.fn));
  const mean = (k: keyof Prf) => (users.length ? users.reduce((a, p) => a + p[k], 0) / users.length : 0);
  return {
    micro: { ...prf(tp, fp, fn), tp, fp, fn, tn },
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    judgements: rows.length,
    failed,
  };
}

/** Indexes of the top ⌊n/4⌋ scores (ties: earlier first). */
export function topQuarter(scores: number[]): Set<number> {
  const k = Math.floor(scores.length / 4);
  return new Set(
    scores
      .map((s, i) => [s, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k)
      .map(([, i]) => i),
  );
}

/**
 * docs/methods.md §B4 "Reward Model" baseline: yes for the top quarter of the 20 items by reward-model score.
 * It does not reproduce the paper's Table 5 row (LastFM 1:1: P .6667, R .0533), nor does any other definition
 * tried (§B4 lists them with their numbers).
 */
export function rewardModelBaseline(cases: UserSimCase[]): PrfReport {
  const rows: { user: number; label: number; yes: boolean }[] = [];
  for (const c of cases) {
    const top = topQuarter(c.scores);
    c.items.forEach((_, j) => rows.push({ user: c.id, label: c.labels[j], yes: top.has(j) }));
  }
  return scorePredictions(rows);
}

export interface Step2Options {
  pack: PromptPack;
  agents: AgentKind;
  client?: LlmClient;
  matching: Matching;
  parseRetries: number;
  /** How unparsable replies are retried (default corrective-turn). */
  parseRetry?: ParseRetry;
  signal?: AbortSignal;
  /** Memory (joined entries) per user id for the "AFL" judge; users without memory get none. */
  memory: Map<number, string[]>;
  withMemory: boolean;
  onJudgement?: (j: Judgement) => void;
  pool?: number;
}

/**
 * docs/methods.md §B4 step 2 for every case and item. Rule-based judge (not an LLM): yes iff the item is in the
 * reward model's top quarter of the 20 items (= the Reward Model baseline; it ignores the memory text).
 */
export async function judgeAll(cases: UserSimCase[], opts: Step2Options): Promise<Judgement[]> {
  const tasks: { c: UserSimCase; j: number }[] = [];
  for (const c of cases) for (let j = 0; j < c.items.length; j++) tasks.push({ c, j });
  const out: Judgement[] = new Array(tasks.length);
  let next = 0;
  const one = async (k: number) => {
    const { c, j } = tasks[k];
    const mem = opts.withMemory ? (opts.memory.get(c.id) ?? []) : null;
    const base = { user: c.id, item: c.items[j], label: c.labels[j], score: c.scores[j], withMemory: opts.withMemory };
    if (opts.agents === 'rule-based') {
      const top = topQuarter(c.scores);
      const yes = top.has(j);
      const reason = `Rule-based judgement: the reward model's score ${c.scores[j]} is ${yes ? '' : 'not '}in the top quarter of the ${c.items.length} items${mem ? ' (a rule-based judge cannot read the memory text: same as without memory)' : ''}.`;
      const turn: Omit<AgentTurn, 'messages'> = {
        ...emptyTurn(
          'rule-based',
          `(${RULE_BASED_LABEL}: no prompt is sent) rule: yes iff the reward model ranks the item in the top quarter`,
        ),
        response: `Reason: ${reason}\nDecision: ${yes ? 'yes' : 'no'}`,
      };
      return { ...base, decision: yes ? 'yes' : 'no', turn } as Judgement;
    }
    const values = {
      history: c.history.join(opts.pack.listJoin),
      item: c.items[j],
      score: pyFloat(c.scores[j]),
      memory: mem && mem.length ? mem.join(opts.pack.memoryJoin) : null,
      loopCandidates: c.loopCandidates.join(opts.pack.listJoin),
    };
    const msgs = opts.withMemory
      ? renderMessages(opts.pack, 'userSim.memorySystem', 'userSim.memoryUser', values)
      : renderMessages(opts.pack, 'userSim.system', 'userSim.user', values);
    const { turn, value } = await callAndParse(
      opts.client!,
      msgs,
      (t) => parseUserReply(t, opts.matching),
      { parseRetries: opts.parseRetries, retry: opts.parseRetry ?? 'corrective-turn', format: USER_FORMAT },
      opts.signal,
    );
    const { messages: _m, ...t } = turn;
    return { ...base, decision: value?.decision ?? null, turn: t } as Judgement;
  };
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= tasks.length || opts.signal?.aborted) return;
      out[k] = await one(k);
      opts.onJudgement?.(out[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.pool ?? 256, tasks.length)) }, worker));
  // stopped part-way: the judgements are incomplete, never reported as if they were all
  if (opts.signal?.aborted) throw new CancelledError(String(opts.signal.reason ?? 'cancelled'));
  return out;
}

/**
 * A number as Python's `repr(float)` writes it (what `str.format` puts in the released step-2 prompt):
 * the shortest round-trip digits, fixed notation for exponents -4..15 (with ".0" for whole numbers),
 * else `d.ddde±XX`.
 */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16)
    return `${neg ? '-' : ''}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  let out: string;
  if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${neg ? '-' : ''}${out}`;
}

export function reportOf(js: Judgement[]): PrfReport {
  return scorePredictions(js.map((j) => ({ user: j.user, label: j.label, yes: j.decision === null ? null : j.decision === 'yes' })));
}
