/**
 * The agentic feedback loop (docs/methods.md §B1/B2), per user with fresh memories:
 *  1. rec agent call (round 1: prior; later: memory) -> item (matched to the candidates);
 *  2. maxRounds = 1 ("Rec Agent"): stop; else user agent call -> yes/no (prior + focus list every round,
 *     its memory when `userMemoryInLoop`);
 *  3. on "no" append the round to both memories (pack templates) and continue; stop on "yes".
 * Final answer = the last recommended item (accepted or not). A permanent failure (parse or HTTP) ends
 * the user's loop as a miss, with the reason recorded; a thrown error is caught per user, never lost.
 */
import { CancelledError } from '../experiment/context';
import type { AgentKind, AgentTurn, LoopUser, RecAgent, RecTurn, UserAgent, UserTurn } from './agents';
import { renderTemplate, type PromptPack } from './pack';
import { isHit, matchItem, type Matching } from './parse';

export interface LoopOptions {
  pack: PromptPack;
  maxRounds: number;
  userMemoryInLoop: boolean;
  matching: Matching;
  signal?: AbortSignal;
  /** Called after every turn (transcripts, dialogue-turn events). */
  onTurn?: (t: TurnRecord) => void;
}

/** One transcript line: a rec- or user-agent turn in one round for one user. */
export interface TurnRecord extends Omit<AgentTurn, 'messages'> {
  user: number;
  round: number;
  agent: 'rec' | 'user';
  agentKind: AgentKind;
  reason?: string;
  item?: string;
  decision?: 'yes' | 'no';
  inCandidates?: boolean;
  hit?: boolean;
  target: string;
  prior: string | null;
  focus: string[] | null;
}

export interface RoundResult {
  round: number;
  /** Recommended item (candidate's own name when matched), null when the rec turn failed. */
  item: string | null;
  inCandidates: boolean;
  hit: boolean;
  decision: 'yes' | 'no' | null;
}

export interface UserOutcome {
  user: number;
  target: string;
  rounds: RoundResult[];
  /** The last recommended item (docs/methods.md §B1), null when none could be obtained. */
  final: string | null;
  hit: boolean;
  accepted: boolean;
  failed: boolean;
  failure?: string;
  /** Round at which the permanent failure happened. */
  failedRound?: number;
  parseFailures: number;
  httpRetries: number;
  httpFailures: number;
  itemsNotInCandidates: number;
  recMemory: string[];
  /** User memory entries incl. the accepted round (`user.memoryEntryAccepted`), for user-simulation step 2. */
  userMemory: string[];
  promptTokens: number;
  completionTokens: number;
}

/** A user's outcome before its first round: nothing recommended, nothing counted. */
export function newOutcome(user: Pick<LoopUser, 'id' | 'target'>): UserOutcome {
  return {
    user: user.id,
    target: user.target,
    rounds: [],
    final: null,
    hit: false,
    accepted: false,
    failed: false,
    parseFailures: 0,
    httpRetries: 0,
    httpFailures: 0,
    itemsNotInCandidates: 0,
    recMemory: [],
    userMemory: [],
    promptTokens: 0,
    completionTokens: 0,
  };
}

function account(o: UserOutcome, t: AgentTurn): void {
  o.parseFailures += t.parseFailures;
  o.httpRetries += t.httpRetries;
  o.httpFailures += t.httpFailures;
  o.promptTokens += t.promptTokens;
  o.completionTokens += t.completionTokens;
}

function record(user: LoopUser, round: number, agent: 'rec' | 'user', turn: RecTurn | UserTurn, extra: Partial<TurnRecord>): TurnRecord {
  const { messages: _m, ...rest } = turn as AgentTurn & { messages?: unknown };
  return { ...rest, user: user.id, round, agent, target: user.target, prior: user.prior, focus: user.focus, ...extra } as TurnRecord;
}

/** docs/methods.md §B2: the loop for one user. */
export async function runUserLoop(user: LoopUser, rec: RecAgent, userAgent: UserAgent, opts: LoopOptions): Promise<UserOutcome> {
  const o = newOutcome(user);
  const rejected = new Set<number>();
  const { pack } = opts;
  for (let round = 1; round <= opts.maxRounds; round++) {
    if (opts.signal?.aborted) throw new CancelledError();
    const r = await rec.recommend({ user, round, memory: o.recMemory, rejected }, opts.signal);
    account(o, r);
    if (r.failed || r.item === undefined) {
      o.failed = true;
      o.failedRound = round;
      o.failure = `rec agent, round ${round}: ${r.errors[r.errors.length - 1] ?? 'failed'}`;
      o.rounds.push({ round, item: null, inCandidates: false, hit: false, decision: null });
      opts.onTurn?.(record(user, round, 'rec', r, { agentKind: rec.kind, hit: false }));
      o.final = null;
      o.hit = false;
      return o;
    }
    const m = matchItem(r.item, user.candidates, opts.matching);
    const inCandidates = m.index >= 0;
    if (!inCandidates) {
      o.itemsNotInCandidates++;
      r.errors.push(`item not in the candidate list: ${JSON.stringify(r.item)}`);
    }
    const item = opts.matching === 'strict' ? r.item : m.name;
    const hit = isHit(item, user.target, opts.matching);
    o.final = item;
    o.hit = hit;
    const rr: RoundResult = { round, item, inCandidates, hit, decision: null };
    o.rounds.push(rr);
    opts.onTurn?.(record(user, round, 'rec', r, { agentKind: rec.kind, item, inCandidates, hit }));
    if (opts.maxRounds === 1) break;

    const u = await userAgent.judge(
      {
        user,
        round,
        memory: opts.userMemoryInLoop ? o.userMemory : null,
        item,
        itemIndex: m.index,
        recReason: r.reason ?? '',
        rejected,
      },
      opts.signal,
    );
    account(o, u);
    if (u.failed || u.decision === undefined) {
      o.failed = true;
      o.failedRound = round;
      o.failure = `user agent, round ${round}: ${u.errors[u.errors.length - 1] ?? 'failed'}`;
      o.hit = false;
      opts.onTurn?.(record(user, round, 'user', u, { agentKind: userAgent.kind, item }));
      return o;
    }
    rr.decision = u.decision;
    opts.onTurn?.(record(user, round, 'user', u, { agentKind: userAgent.kind, item, decision: u.decision, inCandidates, hit }));
    const entry = { round: String(round), item, recReason: r.reason ?? '', userReason: u.reason ?? '' };
    if (u.decision === 'yes') {
      o.accepted = true;
      // the released loop writes the accepted round with the rejection template and the user's reason
      const acc = pack.replication ? pack.templates['user.memoryEntry'] : pack.templates['user.memoryEntryAccepted'];
      if (acc !== undefined) o.userMemory.push(renderTemplate(acc, entry));
      break;
    }
    if (m.index >= 0) rejected.add(m.index);
    o.recMemory.push(renderTemplate(pack.templates['rec.memoryEntry']!, entry));
    o.userMemory.push(renderTemplate(pack.templates['user.memoryEntry']!, entry));
  }
  return o;
}

/**
 * The loop was stopped before every user finished (a cancel, an exhausted budget, an endpoint that
 * cannot be used): the users that finished, in input order. A CancelledError, so callers that only
 * know cancels treat it as one.
 */
export class LoopStopped extends CancelledError {
  constructor(
    reason: string,
    readonly finished: UserOutcome[],
    readonly total: number,
  ) {
    super(reason);
    this.name = 'LoopStopped';
  }
}

/**
 * Runs the loop for every user: all users progress together (LLM calls are bounded by the client's
 * concurrency semaphore), at most `userPool` users in flight. Every user gets an outcome, in input order;
 * an unexpected error becomes that user's recorded failure.
 */
export async function runLoopAll(
  users: LoopUser[],
  rec: RecAgent,
  userAgent: UserAgent,
  opts: LoopOptions & { userPool?: number; onUserDone?: (o: UserOutcome, done: number) => void },
): Promise<UserOutcome[]> {
  const out: UserOutcome[] = new Array(users.length);
  let next = 0;
  let done = 0;
  const pool = Math.max(1, Math.min(opts.userPool ?? 256, users.length));
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= users.length) return;
      if (opts.signal?.aborted) return;
      try {
        out[i] = await runUserLoop(users[i], rec, userAgent, opts);
      } catch (e) {
        if (e instanceof CancelledError) return;
        const o = newOutcome(users[i]);
        o.failed = true;
        o.failure = `unexpected error: ${(e as Error).message}`;
        out[i] = o;
      }
      done++;
      opts.onUserDone?.(out[i], done);
    }
  };
  await Promise.all(Array.from({ length: pool }, worker));
  if (opts.signal?.aborted)
    throw new LoopStopped(
      String(opts.signal.reason ?? 'cancelled'),
      out.filter((o) => o !== undefined),
      users.length,
    );
  return out;
}
