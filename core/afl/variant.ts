/**
 * One AFL loop variant (docs/methods.md §B3: AFL, or an ablation with another prior/reward) over all users: the
 * loop with transcripts, progress, per-round metrics and resume, and the phases the LLM clients may stop (a fatal
 * endpoint failure fails the run; an exhausted budget keeps what finished).
 */
import type { AflConfig } from '../experiment/configTypes';
import { CancelledError, LocatedError, type RunContext } from '../experiment/context';
import type { AgentsBundle, LoopUser } from './agents';
import { fmtCount, summarizeLoop, type LoopSummary } from './evaluate';
import { LoopStopped, runLoopAll, type UserOutcome } from './loop';
import type { PromptPack } from './pack';
import type { TranscriptWriter } from './transcripts';
import type { OutcomeLog } from './resume';

/** The run's signal joined with the LLM clients' stop (fatal endpoint failure, exhausted budget). */
export function loopSignal(ctx: RunContext<AflConfig>, agents: AgentsBundle): AbortSignal {
  return agents.clients ? AbortSignal.any([ctx.signal, agents.clients.stop.signal]) : ctx.signal;
}

/** Where a variant's users go: the transcripts, the resume log, and the users an earlier run finished. */
export interface VariantIo {
  tw: TranscriptWriter;
  /** Every finished user's outcome goes here at once (resume). */
  log?: OutcomeLog;
  /** Users an earlier run finished (`resume`), by variant: kept, not run again. */
  resumed?: Map<string, Map<number, UserOutcome>>;
}

/** Runs one loop variant over all users with transcripts, progress and per-round metrics. */
export async function runVariant(
  ctx: RunContext<AflConfig>,
  variant: string,
  users: LoopUser[],
  agents: AgentsBundle,
  pack: PromptPack,
  maxRounds: number,
  counts: Map<string, number>,
  io: VariantIo,
): Promise<{ outcomes: UserOutcome[]; summary: LoopSummary; stopped?: string; resumed: number }> {
  const c = ctx.config;
  const tw = io.tw;
  const byId = new Map(users.map((u) => [u.id, u]));
  const earlier = io.resumed?.get(variant) ?? new Map<number, UserOutcome>();
  const kept = users.filter((u) => earlier.has(u.id)).map((u) => earlier.get(u.id)!);
  for (const o of kept) io.log?.add(variant, o);
  if (kept.length)
    ctx.log(`resume: ${kept.length} of ${users.length} users of "${variant}" were finished by the earlier run: kept, not run again`);
  const todo = users.filter((u) => !earlier.has(u.id));
  const ran = await stoppable(
    ctx,
    agents,
    () =>
      runLoopAll(todo, agents.rec, agents.user, {
        pack,
        maxRounds,
        userMemoryInLoop: c.userMemoryInLoop ?? true,
        matching: c.matching ?? 'lenient',
        signal: loopSignal(ctx, agents),
        // under a budget, no more users in flight than calls can be (a budget stop then keeps the most finished users)
        userPool:
          c.llm?.budget?.maxCalls !== undefined || c.llm?.budget?.maxUsd !== undefined
            ? agents.clients!.rec.settings.concurrency
            : Math.max(16, (agents.clients?.rec.settings.concurrency ?? 16) * 8),
        onTurn: (t) => tw.turn(variant, t, byId.get(t.user)?.candidates ?? []),
        onUserDone: (o, done) => {
          io.log?.add(variant, o);
          ctx.progress(`users (${variant})`, kept.length + done, users.length);
        },
      }),
    (e) => e.finished,
  );
  // input order, the earlier run's users included
  const mine = new Map([...kept, ...ran.value].map((o) => [o.user, o]));
  const outcomes = { value: users.filter((u) => mine.has(u.id)).map((u) => mine.get(u.id)!), stopped: ran.stopped };
  if (outcomes.stopped)
    ctx.log(`${variant}: ${outcomes.stopped}; ${outcomes.value.length} of ${users.length} users finished and kept`, 'warn');
  const summary = summarizeLoop(outcomes.value, maxRounds, counts);
  summary.curve.forEach((p, i) => ctx.metric('afl/hr@1', i + 1, p.hr, { series: variant }));
  summary.popularity.forEach((p) => {
    if (p.users > 0) ctx.metric('afl/popularity', p.round, p.meanCount, { series: variant });
  });
  for (const f of summary.failures.slice(0, 20)) ctx.log(`${variant}: user ${f.user}: ${f.failure}`, 'warn');
  if (summary.failures.length > 20)
    ctx.log(`${variant}: ${summary.failures.length - 20} more failed users (see transcripts.jsonl)`, 'warn');
  return { outcomes: outcomes.value, summary, stopped: outcomes.stopped, resumed: kept.length };
}

/**
 * Runs a phase that the LLM clients may stop: a fatal endpoint failure fails the run with its cause
 * (docs/methods.md §B2 "fail fast"); an exhausted budget keeps what `partial` saves of the phase and
 * reports `stopped`; a cancel of the run stays a cancel.
 */
export async function stoppable<T>(
  ctx: RunContext<AflConfig>,
  agents: AgentsBundle,
  phase: () => Promise<T>,
  partial: (e: LoopStopped) => T,
): Promise<{ value: T; stopped?: string }> {
  try {
    return { value: await phase() };
  } catch (e) {
    const fatal = agents.clients?.fatal();
    if (fatal) throw new LocatedError(fatal.message, ctx.configPath, 'llm');
    if (ctx.signal.aborted || !agents.clients?.budget.exhausted || !(e instanceof CancelledError)) throw e;
    const why = `stopped: budget (${agents.clients.budget.exhausted})`;
    if (e instanceof LoopStopped) return { value: partial(e), stopped: why };
    throw new BudgetStop(why);
  }
}

/** The budget ran out inside a phase with nothing partial to keep (user-simulation step 2). */
export class BudgetStop extends Error {}

/** The results-table lines of one loop variant. */
export function summaryLines(name: string, s: LoopSummary, maxRounds: number): string[] {
  return [
    `${name}: Rec Agent HR@1 (round 1 = the same first call as a 1-round run) ${fmtCount(s.recAgent)} · AFL HR@1 (≤${maxRounds} rounds) ${fmtCount(s.afl)}`,
    `  HR@1 per round: ${s.curve.map((p, i) => `r${i + 1} ${p.hits} (${p.hr.toFixed(4)})`).join(' · ')}`,
    `  popularity of recommended items per round (mean interaction count / percentile): ${s.popularity.map((p) => (p.users ? `r${p.round} ${p.meanCount.toFixed(1)}/${p.meanPercentile.toFixed(2)} (n=${p.users})` : `r${p.round} — (n=0)`)).join(' · ')}`,
    `  accepted by round: ${s.acceptedByRound.join(', ')} · mean rounds ${s.meanRounds.toFixed(2)} · failed users ${s.failedUsers} · parse failures ${s.parseFailures} · HTTP retries ${s.httpRetries} · items not in candidates ${s.itemsNotInCandidates}`,
  ];
}
