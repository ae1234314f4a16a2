/**
 * `kind: "afl"` runner: prompt pack + agents + loop + evaluations over LastFM / Steam /
 * MovieLens (docs/methods.md Part B). Writes `transcripts.jsonl`, streams `dialogue-turn` / `metric` events,
 * saves metrics after each phase and prints the results table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kindContext, LocatedError, throwIfCancelled, type KindRunner } from '../experiment/context';
import { baseHr1, fmtCount } from './evaluate';
import { RULE_BASED_LABEL } from './agents';
import { buildUsers, candidateScores, datasetNameOf, loadModelSpec, loadRecRows, popularityCounts, priorNames, type Model } from './inputs';
import { checkEndpoints, failedShare, makeClients, mergedStats, priceNotes, type LlmClients } from './llmAgents';
import type { LlmStats } from './llm/client';
import { KEY_PATH, missingKey } from './llmKey';
import { EndpointError } from './llm/client';
import { requireGroup } from './pack';
import { TranscriptWriter } from './transcripts';
import { OutcomeLog, readFinished, settingsThatDiffer } from './resume';
import { runUserSimulation } from './usersimRun';
import { makeAgents, resolvePack } from './agentSetup';
import { BudgetStop, loopSignal, runVariant, stoppable, summaryLines, type VariantIo } from './variant';

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
