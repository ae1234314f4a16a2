/**
 * `kind: "afl"` runner: prompt pack + agents + loop + evaluations over LastFM / Steam /
 * MovieLens (docs/methods.md Part B). Writes `transcripts.jsonl`, streams `dialogue-turn` / `metric` events,
 * saves metrics after each phase and prints the results table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AflConfig } from '../experiment/configTypes';
import { CancelledError, kindContext, LocatedError, throwIfCancelled, type KindRunner, type RunContext } from '../experiment/context';
import { RULE_BASED_LABEL, LlmRecAgent, LlmUserAgent, RuleRecAgent, RuleUserAgent, type AgentsBundle, type LoopUser } from './agents';
import { baseHr1, fmtCount, summarizeLoop, type LoopSummary } from './evaluate';
import { buildUsers, candidateScores, datasetNameOf, loadModelSpec, loadRecRows, popularityCounts, priorNames, type Model } from './inputs';
import { checkEndpoints, failedShare, makeClients, mergedStats, priceNotes, type LlmClients } from './llmAgents';
import type { LlmStats } from './llm/client';
import { KEY_PATH, missingKey } from './llmKey';
import { EndpointError } from './llm/client';
import { LoopStopped, runLoopAll, type UserOutcome } from './loop';
import { packFromJson, loadPackFile, requireGroup, type PromptPack } from './pack';
import { loadReleasedPack } from './released';
import { TranscriptWriter } from './transcripts';
import { OutcomeLog, readFinished, settingsThatDiffer } from './resume';
import { runUserSimulation } from './usersimRun';
import lastfmPack from './packs/lastfm.json';
import steamPack from './packs/steam.json';
import movielensPack from './packs/movielens.json';

const BUILTIN_PACKS: Record<string, unknown> = { lastfm: lastfmPack, steam: steamPack, movielens: movielensPack };

/** Resolves `pack`: default (built-in per dataset), released, a pack file or a released-format JSON. */
export function resolvePack(
  spec: string,
  dataset: string,
  datasetDir: string,
  resolvePath: (p: string) => string,
  configPath: string,
): PromptPack {
  if (spec === 'default') return packFromJson(BUILTIN_PACKS[dataset], `core/afl/packs/${dataset}.json (built-in)`);
  const file = spec === 'released' ? join(datasetDir, 'prompts_released.json') : resolvePath(spec);
  if (!existsSync(file)) throw new LocatedError(`prompt pack not found: ${file}`, configPath, 'pack');
  let isReleased = spec === 'released';
  if (!isReleased) {
    try {
      const o = JSON.parse(readFileSync(file, 'utf8'));
      isReleased = o && typeof o === 'object' && 'loop' in o && 'arguments' in o && !('templates' in o);
    } catch {
      /* loadPackFile reports it */
    }
  }
  return isReleased ? loadReleasedPack(file) : loadPackFile(file);
}

/** The agents a config asks for; the LLM clients read the key from the environment only. */
export function makeAgents(
  ctx: RunContext<AflConfig>,
  pack: PromptPack,
  priorLabel: string,
  rewardLabel: string,
  llmClients?: LlmClients,
): AgentsBundle {
  const c = ctx.config;
  const matching = c.matching ?? 'lenient';
  const parseRetries = c.parseRetries ?? 3;
  if ((c.agents ?? 'rule-based') === 'rule-based') {
    return {
      rec: new RuleRecAgent(ctx.seed, priorLabel),
      user: new RuleUserAgent(rewardLabel),
      label: `built-in agents (${RULE_BASED_LABEL})`,
    };
  }
  const clients = llmClients ?? makeClients(ctx);
  const retry = c.llm.parseRetry ?? 'corrective-turn';
  return {
    rec: new LlmRecAgent(clients.rec, pack, matching, parseRetries, retry),
    user: new LlmUserAgent(clients.user, pack, matching, parseRetries, retry),
    clients,
    label: `${clients.label}; parse retries: ${retry}`,
  };
}

/** The run's signal joined with the LLM clients' stop (fatal endpoint failure, exhausted budget). */
function loopSignal(ctx: RunContext<AflConfig>, agents: AgentsBundle): AbortSignal {
  return agents.clients ? AbortSignal.any([ctx.signal, agents.clients.stop.signal]) : ctx.signal;
}

/** Runs one loop variant over all users with transcripts, progress and per-round metrics. */
export interface VariantIo {
  tw: TranscriptWriter;
  /** Every finished user's outcome goes here at once (resume). */
  log?: OutcomeLog;
  /** Users an earlier run finished (`resume`), by variant: kept, not run again. */
  resumed?: Map<string, Map<number, UserOutcome>>;
}

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
class BudgetStop extends Error {}

function summaryLines(name: string, s: LoopSummary, maxRounds: number): string[] {
  return [
    `${name}: Rec Agent HR@1 (round 1 = the same first call as a 1-round run) ${fmtCount(s.recAgent)} · AFL HR@1 (≤${maxRounds} rounds) ${fmtCount(s.afl)}`,
    `  HR@1 per round: ${s.curve.map((p, i) => `r${i + 1} ${p.hits} (${p.hr.toFixed(4)})`).join(' · ')}`,
    `  popularity of recommended items per round (mean interaction count / percentile): ${s.popularity.map((p) => (p.users ? `r${p.round} ${p.meanCount.toFixed(1)}/${p.meanPercentile.toFixed(2)} (n=${p.users})` : `r${p.round} — (n=0)`)).join(' · ')}`,
    `  accepted by round: ${s.acceptedByRound.join(', ')} · mean rounds ${s.meanRounds.toFixed(2)} · failed users ${s.failedUsers} · parse failures ${s.parseFailures} · HTTP retries ${s.httpRetries} · items not in candidates ${s.itemsNotInCandidates}`,
  ];
}

export const runAflExperiment: KindRunner = async (runCtx) => {
  const ctx = kindContext(runCtx, 'afl');
  const c = ctx.config;
  const datasetDir = ctx.resolvePath(c.dataset);
  const dataset = datasetNameOf(datasetDir, c.datasetName);
  const noKey = missingKey(c);
  if (noKey) throw new LocatedError(noKey, ctx.configPath, KEY_PATH); // fail before loading anything
  const maxRounds: number = c.maxRounds ?? 4;
  const evaluations: string[] = c.evaluations ?? ['recommendation'];
  const users = c.users ?? {};
  const inputs = loadRecRows(
    datasetDir,
    dataset,
    c.candidates ? ctx.resolvePath(c.candidates) : undefined,
    users.sample ?? 'auto',
    users.seed ?? 2025,
    users.limit,
    c.itemNaming ?? 'methods',
  );
  ctx.log(`AFL on ${dataset}: ${inputs.sampleNote} from ${inputs.candidatesFile}`);
  if (inputs.renamed)
    ctx.log(
      `item names from the catalogue (${inputs.naming} naming, docs/methods.md §B7): ${inputs.renamed} candidate slots of the candidate file carried another name`,
    );
  ctx.writeArtifact(
    'users.json',
    JSON.stringify({ dataset, candidatesFile: inputs.candidatesFile, sample: inputs.sampleNote, ids: inputs.rows.map((r) => r.id) }) + '\n',
    'other',
    `the ${inputs.rows.length} users evaluated (${inputs.sampleNote})`,
  );
  const pack = resolvePack(c.pack ?? 'default', dataset, datasetDir, (p) => ctx.resolvePath(p), ctx.configPath);
  if (evaluations.includes('user-simulation')) {
    requireGroup(pack, 'userSim.first', 'the user-simulation evaluation');
    requireGroup(pack, 'userSim.memory', 'the user-simulation evaluation');
  }
  // The LLM endpoints answer (or the run fails with the cause) before any model is loaded.
  let clients: LlmClients | undefined;
  if ((c.agents ?? 'rule-based') === 'llm') {
    clients = makeClients(ctx);
    try {
      await checkEndpoints(ctx, clients);
    } catch (e) {
      if (e instanceof EndpointError) throw new LocatedError(e.message, ctx.configPath, 'llm');
      throw e;
    }
    for (const n of priceNotes(c.llm, clients)) ctx.log(`price: ${n}`);
  }
  const { counts, source: popSource } = popularityCounts(inputs.ds);
  const modelOpts = { engine: c.engine ?? 'tfjs', device: c.device, configPath: ctx.configPath, catalogue: inputs.ds.catalogue };
  const prior: Model = await loadModelSpec(c.prior, (p) => ctx.resolvePath(p), { ...modelOpts, path: 'prior', csvAllowed: true });
  // The same model folder as prior and reward model (the usual SASRec setup) is loaded once.
  const reward: Model =
    c.rewardModel === c.prior && prior.kind === 'scorer'
      ? prior
      : await loadModelSpec(c.rewardModel, (p) => ctx.resolvePath(p), { ...modelOpts, path: 'rewardModel', csvAllowed: false });
  throwIfCancelled(ctx.signal);
  const rows = inputs.rows;
  const priorScores = await candidateScores(prior, rows, ctx.configPath);
  const priorTop = priorNames(prior, rows, priorScores, `${ctx.configPath} (prior)`);
  const rewardScores = await candidateScores(reward, rows, ctx.configPath);
  const targets = rows.map((r) => r.correctAnswer);
  const matching = c.matching ?? 'lenient';

  const metrics: Record<string, unknown> = {
    dataset,
    users: rows.length,
    userSample: inputs.sampleNote,
    pack: pack.name,
    maxRounds,
    matching,
    userMemoryInLoop: c.userMemoryInLoop ?? true,
    popularitySource: popSource,
  };
  const table: string[] = [];
  // Base HR@1 (docs/methods.md §B3): the prior alone, and any extra priors.
  const base = baseHr1(priorTop, targets, matching);
  metrics.base = { prior: prior.label, ...base };
  table.push(`Base HR@1 (prior alone: ${prior.label})  ${fmtCount(base)}`);
  const extraPriors: unknown[] = [];
  metrics.extraPriors = extraPriors;
  for (const [i, spec] of (c.extraPriors ?? []).entries()) {
    const m = await loadModelSpec(spec, (p) => ctx.resolvePath(p), { ...modelOpts, path: `extraPriors[${i}]`, csvAllowed: true });
    const s = await candidateScores(m, rows, ctx.configPath);
    const b = baseHr1(priorNames(m, rows, s, `${ctx.configPath} (extraPriors[${i}])`), targets, matching);
    extraPriors.push({ prior: m.label, ...b });
    table.push(`Base HR@1 (prior alone: ${m.label})  ${fmtCount(b)}`);
    m.scorer?.dispose();
  }
  ctx.metric('afl/base-hr@1', 0, base.hr);
  ctx.saveMetrics(metrics);

  const agents = makeAgents(ctx, pack, prior.label, reward.label, clients);
  metrics.agents = agents.label;
  // what produced these numbers, carried into sweep results (results.csv/.txt, sweep.json, plot titles)
  metrics.producedBy = agents.clients ? agents.clients.label : `AFL agents: ${RULE_BASED_LABEL}`;
  metrics.agentKind = agents.clients ? 'llm' : 'rule-based';
  ctx.log(`agents: ${agents.label}; prompt pack: ${pack.name}; prior: ${prior.label}; reward model: ${reward.label}`);
  table.unshift(`AFL on ${dataset}: ${inputs.sampleNote}; agents: ${agents.label}; pack ${pack.name}`);
  const tw = new TranscriptWriter(ctx);
  const io: VariantIo = { tw, log: new OutcomeLog(ctx.runDir) };
  if (c.resume) {
    const from = ctx.resolvePath(c.resume);
    io.resumed = readFinished(from, ctx.configPath);
    let before: object = {};
    try {
      before = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
    } catch {
      /* compared when present */
    }
    const differ = settingsThatDiffer(before, c);
    if (differ.length) ctx.log(`resume: ${differ.join(', ')}: the resumed users were run with the earlier settings`, 'warn');
    metrics.resumedFrom = from;
    const n = [...io.resumed.values()].reduce((a, m) => a + m.size, 0);
    table.push(
      `Resumed from ${from}: ${n} finished user outcome(s) taken over (${[...io.resumed.entries()].map(([v, m]) => `${v} ${m.size}`).join(', ')}), only the others were run.`,
    );
  }
  const priorPart = prior.kind === 'none' ? null : { names: priorTop, scores: priorScores };
  const rewardPart = reward.kind === 'none' ? null : rewardScores;

  const stopAt = (stopped: string | undefined) => {
    if (!stopped) return false;
    metrics.stopped = 'budget';
    table.push(`Run ${stopped}: the users finished so far are kept and scored above; later phases did not run.`);
    ctx.degrade(stopped);
    return true;
  };
  try {
    let stopped = false;
    if (evaluations.includes('recommendation')) {
      const v = await runVariant(ctx, 'afl', buildUsers(rows, priorPart, rewardPart), agents, pack, maxRounds, counts, io);
      metrics.recommendation = { ...v.summary, finishedUsers: v.outcomes.length, resumedUsers: v.resumed };
      table.push(
        ...summaryLines(`AFL${v.stopped ? ` (${v.outcomes.length} of ${rows.length} users finished)` : ''}`, v.summary, maxRounds),
      );
      if (dataset === 'lastfm' && rows.length === 122)
        table.push(
          '  paper (docs/methods.md §B6; LastFM, SASRec base, GPT-4o-mini): Base 35/122 = .2869 · Rec Agent 39/122 = .3197 · AFL 46/122 = .3770',
        );
      // named by its metrics.json key (flattened), like the other kinds' headlines
      ctx.setKeyMetric('recommendation.afl.hr', v.summary.afl.hr);
      ctx.saveMetrics(metrics);
      stopped = stopAt(v.stopped);
    }
    if (!stopped && evaluations.includes('ablations')) {
      const ablations: Record<string, unknown> = {};
      metrics.ablations = ablations;
      for (const [name, p, r] of [
        ['w/o rec model', null, rewardPart],
        ['w/o reward model', priorPart, null],
        ['w/o both', null, null],
      ] as const) {
        throwIfCancelled(ctx.signal);
        const v = await runVariant(ctx, name, buildUsers(rows, p, r), agents, pack, maxRounds, counts, io);
        ablations[name] = { ...v.summary, finishedUsers: v.outcomes.length, resumedUsers: v.resumed };
        table.push(
          ...summaryLines(
            `AFL ${name}${v.stopped ? ` (${v.outcomes.length} of ${rows.length} users finished)` : ''}`,
            v.summary,
            maxRounds,
          ),
        );
        ctx.saveMetrics(metrics);
        if ((stopped = stopAt(v.stopped))) break;
      }
    }
    if (!stopped && evaluations.includes('user-simulation')) {
      try {
        const us = await stoppable(
          ctx,
          agents,
          () =>
            runUserSimulation(ctx, { datasetDir, dataset, pack, agents, prior, reward, maxRounds, tw, signal: loopSignal(ctx, agents) }),
          () => null,
        );
        if (us.value) {
          metrics.userSimulation = us.value.metrics;
          table.push(...us.value.table);
        }
        stopAt(us.stopped);
      } catch (e) {
        if (!(e instanceof BudgetStop)) throw e;
        stopAt(e.message);
      }
      ctx.saveMetrics(metrics);
    }
  } finally {
    // Whatever happened, what was measured is saved, listed and printed (partial results included).
    const s = agents.clients ? mergedStats(agents.clients) : undefined;
    if (s) metrics.llm = { ...s, budgetCalls: agents.clients!.budget.calls };
    metrics.transcriptLines = tw.lines;
    ctx.saveMetrics(metrics);
    prior.scorer?.dispose();
    if (reward.scorer !== prior.scorer) reward.scorer?.dispose();
    if (tw.lines > 0)
      ctx.emit({
        type: 'artifact',
        path: 'transcripts.jsonl',
        kind: 'transcripts',
        description: `${tw.lines} agent turns (prompts, raw replies, parse results, decisions)`,
      });
    if (s) {
      table.push(
        `LLM: ${s.calls} calls, ${s.cacheHits} answers from the cache, ${s.httpCalls} HTTP requests, ${s.retries} retries, ${s.failedCalls} failed calls${s.cancelledCalls ? `, ${s.cancelledCalls} cut by a cancel or the budget` : ''}, tokens ${s.promptTokens} in / ${s.completionTokens} out, est. cost $${s.costUsd.toFixed(4)}, max in flight ${s.maxInFlight}`,
      );
      if (s.cacheHits > 0)
        ctx.log(`${s.cacheHits} of ${s.calls} LLM answers came from the cache (${agents.clients!.rec.settings.cacheDir ?? 'no cache'})`);
    } else {
      table.push(`Agents are ${RULE_BASED_LABEL}: no LLM was called.`);
    }
    ctx.table(table);
  }
  // More than llm.maxFailedShare of the calls failed after every retry: the scores mostly measure failures.
  if (agents.clients && metrics.stopped === undefined) {
    const f = failedShare(metrics.llm as LlmStats);
    const max = c.llm.maxFailedShare ?? 0.1;
    if (f.share > max)
      ctx.degrade(
        `${f.failed} of ${f.made} LLM calls failed after every retry (${(100 * f.share).toFixed(1)}% > llm.maxFailedShare ${max}): each such user counts as a miss`,
      );
  }
  return metrics;
};
