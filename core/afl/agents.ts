/**
 * The two AFL agents (docs/methods.md §B1/B2) in two kinds:
 *  - LLM agents: prompt from the pack, one chat call, parse; bounded parse retries (each failure counted
 *    and listed), an HTTP failure after the client's bounded retries ends the turn as failed (= a miss).
 *  - Built-in rule-based agents ("rule-based, not an LLM"), offline:
 *    rec agent = the base model's best candidate not yet rejected, with a templated reason;
 *    user agent = accepts when the reward model ranks the item first among the remaining candidates.
 */
import { Rng } from '../util/random';
import { CancelledError } from '../experiment/context';
import type { ChatMessage, LlmClient } from './llm/client';
import type { LlmClients } from './llmAgents';
import { renderMessages, type PromptPack, type TemplateValues } from './pack';
import { parseRecReply, parseUserReply, type Matching, type ParseResult } from './parse';

export type AgentKind = 'llm' | 'rule-based';
export const RULE_BASED_LABEL = 'rule-based, not an LLM';

/** One user as the loop sees it (names, not ids: docs/methods.md §B7 "match whole names"). */
export interface LoopUser {
  id: number;
  history: string[];
  candidates: string[];
  target: string;
  /** Base model's top-1 candidate (docs/methods.md §B3 prior); null in the w/o-recommendation-model ablation. */
  prior: string | null;
  /** Base model's scores aligned with `candidates` (ranking for the rule-based rec agent), when known. */
  priorScores: number[] | null;
  /** Reward model's top ⌊n/4⌋ candidate names, best first (docs/methods.md §B2); null w/o reward model. */
  focus: string[] | null;
  /** Reward model scores aligned with `candidates`; null w/o reward model. */
  rewardScores: number[] | null;
}

export interface TurnAttempt {
  response: string;
  fromCache: boolean;
  httpCalls: number;
  httpErrors: string[];
  parseError?: string;
  /** How this attempt retried an unparsable reply (absent on the first attempt): see ParseRetry. */
  retry?: ParseRetry;
  /** The messages of a corrective-turn retry (the first attempt's are the turn's `prompt`). */
  messages?: ChatMessage[];
}

/**
 * How a reply that cannot be parsed is retried (docs/methods.md §B2 "Fix"): `corrective-turn` sends the
 * reply back with the parse error and the required format; `vary-seed` resends with seed + attempt;
 * `resend` resends the same request (the released code; at temperature 0 it gets the same reply).
 */
export type ParseRetry = 'corrective-turn' | 'vary-seed' | 'resend';

/** What one agent turn produced (also the transcript record's body). */
export interface AgentTurn {
  agentKind: AgentKind;
  /** The messages sent (system + user), as text; for rule-based agents the rule applied. */
  prompt: string;
  messages?: ChatMessage[];
  /** The last raw response. */
  response: string;
  attempts: TurnAttempt[];
  /** Parse failures and HTTP failures, in order: never silent. */
  errors: string[];
  parseFailures: number;
  httpRetries: number;
  httpFailures: number;
  failed: boolean;
  promptTokens: number;
  completionTokens: number;
}
export interface RecTurn extends AgentTurn {
  reason?: string;
  item?: string;
}
export interface UserTurn extends AgentTurn {
  reason?: string;
  decision?: 'yes' | 'no';
}

export interface RecInput {
  user: LoopUser;
  round: number;
  /** Rec memory entries (rounds so far). */
  memory: string[];
  /** Candidate indexes rejected in earlier rounds. */
  rejected: ReadonlySet<number>;
}
export interface UserInput {
  user: LoopUser;
  round: number;
  /** User memory entries to show, or null when not read (userMemoryInLoop: false). */
  memory: string[] | null;
  item: string;
  /** Index of the item in the candidates (-1 = not in the list). */
  itemIndex: number;
  recReason: string;
  rejected: ReadonlySet<number>;
}

export interface RecAgent {
  readonly kind: AgentKind;
  recommend(input: RecInput, signal?: AbortSignal): Promise<RecTurn>;
}
export interface UserAgent {
  readonly kind: AgentKind;
  judge(input: UserInput, signal?: AbortSignal): Promise<UserTurn>;
}

export function messagesText(messages: ChatMessage[]): string {
  return messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
}

/** A turn with nothing sent or counted yet: the start of every agent's turn (and of a test's scripted one). */
export function emptyTurn(kind: AgentKind, prompt: string): AgentTurn {
  return {
    agentKind: kind,
    prompt,
    response: '',
    attempts: [],
    errors: [],
    parseFailures: 0,
    httpRetries: 0,
    httpFailures: 0,
    failed: false,
    promptTokens: 0,
    completionTokens: 0,
  };
}

/** The reply format each agent must follow, quoted in a corrective turn. */
export const REC_FORMAT = 'Reason: <your reason>\nItem: <one item from the candidate list>';
export const USER_FORMAT = 'Reason: <your reason>\nDecision: <yes or no>';

/** The corrective turn after an unparsable reply: the reply as the assistant's, then what was wrong. */
export function correctiveTurn(messages: ChatMessage[], reply: string, error: string, format: string): ChatMessage[] {
  return [
    ...messages,
    { role: 'assistant', content: reply },
    { role: 'user', content: `Your reply could not be read: ${error}. Answer again, exactly in this format:\n${format}` },
  ];
}

export interface ParseOptions {
  /** Retries after an unparsable reply (docs/methods.md §B2: bounded, default 3). */
  parseRetries: number;
  retry: ParseRetry;
  /** The format quoted by a corrective turn (REC_FORMAT / USER_FORMAT). */
  format: string;
}

/**
 * docs/methods.md §B2 "Fix": one LLM call with bounded parse retries, each made as `opts.retry` says and
 * recorded in its attempt. Attempt k (0-based) is a separate cache entry, so a rerun replays the same
 * sequence. HTTP failure (after the client's retries) = failed turn; a call cut by the run's cancel or
 * the budget throws CancelledError (the user is unfinished, not a miss).
 */
export async function callAndParse<T>(
  client: LlmClient,
  messages: ChatMessage[],
  parse: (text: string) => ParseResult<T>,
  opts: ParseOptions,
  signal?: AbortSignal,
): Promise<{ turn: AgentTurn; value?: T }> {
  const { parseRetries } = opts;
  const turn = emptyTurn('llm', messagesText(messages));
  turn.messages = messages;
  let send = messages;
  for (let attempt = 0; attempt <= parseRetries; attempt++) {
    const retry = attempt === 0 ? undefined : opts.retry;
    const r = await client.chat(send, { attempt, signal, seedOffset: retry === 'vary-seed' ? attempt : 0 });
    if (r.cancelled) throw new CancelledError(r.errors[r.errors.length - 1] ?? 'cancelled');
    turn.httpRetries += r.retries;
    turn.promptTokens += r.promptTokens;
    turn.completionTokens += r.completionTokens;
    const a: TurnAttempt = { response: r.text, fromCache: r.fromCache, httpCalls: r.httpCalls, httpErrors: r.errors };
    if (retry) a.retry = retry;
    if (retry === 'corrective-turn') a.messages = send;
    turn.attempts.push(a);
    for (const e of r.errors) turn.errors.push(`request ${attempt + 1}, ${e}`);
    if (!r.ok) {
      turn.httpFailures++;
      turn.failed = true;
      turn.errors.push(`LLM call failed after ${r.retries} retr${r.retries === 1 ? 'y' : 'ies'}: permanent failure, counted as a miss`);
      return { turn };
    }
    turn.response = r.text;
    const p = parse(r.text);
    if (p.ok) return { turn, value: p.value };
    a.parseError = p.error;
    turn.parseFailures++;
    turn.errors.push(`parse failure ${turn.parseFailures}/${parseRetries + 1}: ${p.error}`);
    if (opts.retry === 'corrective-turn') send = correctiveTurn(messages, r.text, p.error, opts.format);
  }
  turn.failed = true;
  turn.errors.push(`no parsable reply after ${parseRetries + 1} attempts: permanent failure, counted as a miss`);
  return { turn };
}

/** Placeholder values shared by the loop prompts. */
export function loopValues(pack: PromptPack, user: LoopUser, round: number, memory: string[] | null): TemplateValues {
  return {
    history: user.history.join(pack.listJoin),
    numCandidates: String(user.candidates.length),
    candidates: user.candidates.join(pack.listJoin),
    prior: user.prior,
    focus: user.focus === null ? null : user.focus.join(pack.listJoin),
    memory: memory && memory.length > 0 ? memory.join(pack.memoryJoin) : null,
    round: String(round),
  };
}

/** What the LLM agents share: their client, prompt pack, matching rule and bounded parse retries (docs/methods.md §B2). */
abstract class LlmAgent {
  readonly kind = 'llm' as const;
  constructor(
    readonly client: LlmClient,
    protected readonly pack: PromptPack,
    protected readonly matching: Matching,
    private readonly parseRetries: number,
    private readonly retry: ParseRetry = 'corrective-turn',
  ) {}
  /** One call with this agent's retry policy, its reply parsed by `parse` in `format`. */
  protected ask<T>(messages: ChatMessage[], parse: (text: string) => ParseResult<T>, format: ParseOptions['format'], signal?: AbortSignal) {
    return callAndParse(this.client, messages, parse, { parseRetries: this.parseRetries, retry: this.retry, format }, signal);
  }
}

export class LlmRecAgent extends LlmAgent implements RecAgent {
  /** docs/methods.md §B2 step 1: round 1 sees the prior, later rounds the memory instead. */
  async recommend(input: RecInput, signal?: AbortSignal): Promise<RecTurn> {
    const first = input.memory.length === 0;
    const values = loopValues(this.pack, input.user, input.round, first ? null : input.memory);
    if (!first) values.prior = null;
    const hasNext = this.pack.templates['rec.memoryUser'] !== undefined;
    const msgs =
      !first && hasNext
        ? renderMessages(this.pack, 'rec.memorySystem', 'rec.memoryUser', values)
        : renderMessages(this.pack, 'rec.system', 'rec.user', values);
    const { turn, value } = await this.ask(msgs, (t) => parseRecReply(t, this.matching), REC_FORMAT, signal);
    return { ...turn, reason: value?.reason, item: value?.item };
  }
}

export class LlmUserAgent extends LlmAgent implements UserAgent {
  /** docs/methods.md §B2 step 2: prior + focus list every round; memory when read and non-empty. */
  async judge(input: UserInput, signal?: AbortSignal): Promise<UserTurn> {
    const values: TemplateValues = {
      ...loopValues(this.pack, input.user, input.round, input.memory),
      item: input.item,
      recReason: input.recReason,
    };
    const withMemory = values.memory !== null && this.pack.templates['user.memoryUser'] !== undefined;
    const msgs = withMemory
      ? renderMessages(this.pack, 'user.memorySystem', 'user.memoryUser', values)
      : renderMessages(this.pack, 'user.system', 'user.user', values);
    const { turn, value } = await this.ask(msgs, (t) => parseUserReply(t, this.matching), USER_FORMAT, signal);
    return { ...turn, reason: value?.reason, decision: value?.decision };
  }
}

/** Built-in rec agent (rule-based, not an LLM): the base model's best candidate not yet rejected. */
export class RuleRecAgent implements RecAgent {
  readonly kind = 'rule-based' as const;
  constructor(
    private readonly seed: number,
    private readonly baseModelName: string,
  ) {}

  async recommend(input: RecInput): Promise<RecTurn> {
    const { user, rejected, round } = input;
    let open = user.candidates.map((_, i) => i).filter((i) => !rejected.has(i));
    if (open.length === 0) open = user.candidates.map((_, i) => i);
    let pick: number;
    let why: string;
    if (user.priorScores) {
      pick = open.reduce((b, i) => (user.priorScores![i] > user.priorScores![b] ? i : b), open[0]);
      why = `the base model (${this.baseModelName}) scores ${user.candidates[pick]} highest (${user.priorScores[pick].toFixed(3)}) among the ${open.length} candidates not yet rejected`;
    } else if (user.prior !== null && round === 1 && user.candidates.indexOf(user.prior) >= 0) {
      pick = user.candidates.indexOf(user.prior);
      why = `the base model (${this.baseModelName}) suggests ${user.prior}`;
    } else {
      // No ranking (prior CSV gives only its top-1, or no base model): a seeded random open candidate.
      const rng = new Rng(this.seed).fork(user.id * 31 + round);
      pick = open[rng.int(open.length)];
      why =
        user.prior === null
          ? `no base model (ablation): a seeded random choice among the ${open.length} candidates not yet rejected`
          : `the base model's ranking is unknown beyond its top-1 (${user.prior}, rejected): a seeded random choice among the ${open.length} candidates not yet rejected`;
    }
    const reason = `Rule-based choice: ${why}.`;
    const response = `Reason: ${reason}\nItem: ${user.candidates[pick]}`;
    const t = emptyTurn('rule-based', `(${RULE_BASED_LABEL}: no prompt is sent) rule: the base model's best candidate not yet rejected`);
    const p = parseRecReply(response);
    return { ...t, response, reason: p.ok ? p.value.reason : reason, item: user.candidates[pick] };
  }
}

/** Built-in user agent (rule-based, not an LLM): yes iff the reward model ranks the item first among the remaining candidates. */
export class RuleUserAgent implements UserAgent {
  readonly kind = 'rule-based' as const;
  constructor(private readonly rewardModelName: string) {}

  async judge(input: UserInput): Promise<UserTurn> {
    const { user, rejected, itemIndex, item } = input;
    let decision: 'yes' | 'no';
    let why: string;
    if (itemIndex < 0) {
      decision = 'no';
      why = `${item} is not in the candidate list`;
    } else if (!user.rewardScores) {
      decision = 'yes';
      why = 'no reward model (ablation): nothing to compare with, the recommendation is accepted';
    } else {
      const s = user.rewardScores;
      const open = user.candidates.map((_, i) => i).filter((i) => !rejected.has(i) || i === itemIndex);
      const best = open.reduce((b, i) => (s[i] > s[b] ? i : b), open[0]);
      const rank = 1 + open.filter((i) => s[i] > s[itemIndex]).length;
      decision = best === itemIndex || rank === 1 ? 'yes' : 'no';
      why =
        decision === 'yes'
          ? `the reward model (${this.rewardModelName}) ranks ${item} first among the ${open.length} remaining candidates`
          : `the reward model (${this.rewardModelName}) ranks ${item} ${rank} of ${open.length} remaining candidates; it ranks ${user.candidates[best]} first`;
    }
    const reason = `Rule-based judgement: ${why}.`;
    const response = `Reason: ${reason}\nDecision: ${decision}`;
    const t = emptyTurn(
      'rule-based',
      `(${RULE_BASED_LABEL}: no prompt is sent) rule: accept iff the reward model ranks the item first among the remaining candidates`,
    );
    return { ...t, response, reason, decision };
  }
}

/** The two agents of a run, the LLM clients behind them (absent for the rule-based agents) and their label. */
export interface AgentsBundle {
  rec: RecAgent;
  user: UserAgent;
  clients?: LlmClients;
  label: string;
}
