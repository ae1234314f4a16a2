/**
 * `kind: "afl"` runner: prompt pack + agents + loop + evaluations over LastFM / Steam /
 * MovieLens (docs/methods.md Part B). Writes `transcripts.jsonl`, streams `dialogue-turn` / `metric` events,
 * saves metrics after each phase and prints the results table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { AflConfig } from '../experiment/configTypes';
import { kindContext, LocatedError, throwIfCancelled, type KindRunner, type RunContext } from '../experiment/context';
import { RULE_BASED_LABEL, LlmRecAgent, LlmUserAgent, RuleRecAgent, RuleUserAgent, type LoopUser, type RecAgent, type UserAgent } from './agents';
import { baseHr1, fmtCount, summarizeLoop, type LoopSummary } from './evaluate';
import { buildUsers, candidateScores, datasetNameOf, loadModelSpec, loadRecRows, popularityCounts, priorNames, type Model } from './inputs';
import { apiKeyFromEnv, LlmClient } from './llm/client';
import { runLoopAll, type UserOutcome } from './loop';
import { packFromJson, loadPackFile, requireGroup, type PromptPack } from './pack';
import { loadReleasedPack } from './released';
import { TranscriptWriter } from './transcripts';
import { runUserSimulation } from './usersimRun';
import lastfmPack from './packs/lastfm.json';
import steamPack from './packs/steam.json';
import movielensPack from './packs/movielens.json';

const BUILTIN_PACKS: Record<string, unknown> = { lastfm: lastfmPack, steam: steamPack, movielens: movielensPack };

/** Resolves `pack`: default (built-in per dataset), released, a pack file or a released-format JSON. */
export function resolvePack(spec: string, dataset: string, datasetDir: string, resolvePath: (p: string) => string, configPath: string): PromptPack {
  if (spec === 'default') return packFromJson(BUILTIN_PACKS[dataset], `core/afl/packs/${dataset}.json (built-in)`);
  const file = spec === 'released' ? join(datasetDir, 'prompts_released.json') : resolvePath(spec);
  if (!existsSync(file)) throw new LocatedError(`prompt pack not found: ${file}`, configPath, 'pack');
  let isReleased = spec === 'released';
  if (!isReleased) {
    try {
      const o = JSON.parse(readFileSync(file, 'utf8'));
      isReleased = o && typeof o === 'object' && 'loop' in o && 'arguments' in o && !('templates' in o);
    } catch { /* loadPackFile reports it */ }
  }
  return isReleased ? loadReleasedPack(file) : loadPackFile(file);
}

/** Default LLM cache folder: `<workspace>/.flowloop/cache/llm` (workspace = the folder holding the run's `.flowloop`). */
export function defaultCacheDir(runDir: string, configPath: string): string {
  const parts = resolve(runDir).split(sep);
  const k = parts.lastIndexOf('.flowloop');
  if (k > 0) return join(parts.slice(0, k + 1).join(sep) || sep, 'cache', 'llm');
  return join(dirname(configPath), '.flowloop', 'cache', 'llm');
}

/** The API key for `agents: "llm"` (env only); none is needed for a local endpoint (llm.baseURL). */
export function checkLlmKey(ctx: RunContext<AflConfig>): string | undefined {
  const key = apiKeyFromEnv();
  if ((ctx.config.agents ?? 'rule-based') === 'llm' && !ctx.config.llm?.baseURL && !process.env.OPENAI_BASE_URL && !key) {
    throw new LocatedError('agents "llm" with the OpenAI endpoint needs an API key: set FLOWLOOP_LLM_API_KEY (or OPENAI_API_KEY), use "Flowloop: Set LLM API Key" in VS Code, or set llm.baseURL to a local server', ctx.configPath, 'llm');
  }
  return key;
}

export interface AgentsBundle { rec: RecAgent; user: UserAgent; client?: LlmClient; label: string }

/** The agents a config asks for; the LLM client reads its key from the environment only. */
export function makeAgents(ctx: RunContext<AflConfig>, pack: PromptPack, priorLabel: string, rewardLabel: string): AgentsBundle {
  const c = ctx.config;
  const matching = c.matching ?? 'lenient';
  const parseRetries = c.parseRetries ?? 3;
  if ((c.agents ?? 'rule-based') === 'rule-based') {
    return { rec: new RuleRecAgent(ctx.seed, priorLabel), user: new RuleUserAgent(rewardLabel), label: `built-in agents (${RULE_BASED_LABEL})` };
  }
  const l = c.llm ?? {};
  const key = checkLlmKey(ctx);
  const client = new LlmClient({
    baseURL: l.baseURL,
    model: l.model ?? 'gpt-4o-mini',
    temperature: l.temperature ?? 0,
    maxTokens: l.maxTokens,
    concurrency: l.concurrency ?? 16,
    timeoutMs: l.timeoutMs ?? 60000,
    maxRetries: l.maxRetries ?? 4,
    cacheDir: l.cache === false ? null : l.cacheDir ? ctx.resolvePath(l.cacheDir) : defaultCacheDir(ctx.runDir, ctx.configPath),
    costPer1kTokens: l.costPer1kTokens ?? { input: 0.00015, output: 0.0006 },
  }, key, ctx.seed);
  return {
    rec: new LlmRecAgent(client, pack, matching, parseRetries),
    user: new LlmUserAgent(client, pack, matching, parseRetries),
    client,
    label: `LLM ${client.settings.model} at ${l.baseURL ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1'} (temperature ${client.settings.temperature}, concurrency ${client.settings.concurrency})`,
  };
}

/** Runs one loop variant over all users with transcripts, progress and per-round metrics. */
export async function runVariant(ctx: RunContext<AflConfig>, variant: string, users: LoopUser[], agents: AgentsBundle, pack: PromptPack, maxRounds: number, counts: Map<string, number>, tw: TranscriptWriter): Promise<{ outcomes: UserOutcome[]; summary: LoopSummary }> {
  const c = ctx.config;
  const byId = new Map(users.map((u) => [u.id, u]));
  const outcomes = await runLoopAll(users, agents.rec, agents.user, {
    pack, maxRounds, userMemoryInLoop: c.userMemoryInLoop ?? true, matching: c.matching ?? 'lenient', signal: ctx.signal,
    userPool: Math.max(16, (agents.client?.settings.concurrency ?? 16) * 8),
    onTurn: (t) => tw.turn(variant, t, byId.get(t.user)?.candidates ?? []),
    onUserDone: (_o, done) => ctx.progress(`users (${variant})`, done, users.length),
  });
  const summary = summarizeLoop(outcomes, maxRounds, counts);
  summary.curve.forEach((p, i) => ctx.metric('afl/hr@1', i + 1, p.hr, { series: variant }));
  summary.popularity.forEach((p) => { if (p.users > 0) ctx.metric('afl/popularity', p.round, p.meanCount, { series: variant }); });
  for (const f of summary.failures.slice(0, 20)) ctx.log(`${variant}: user ${f.user}: ${f.failure}`, 'warn');
  if (summary.failures.length > 20) ctx.log(`${variant}: ${summary.failures.length - 20} more failed users (see transcripts.jsonl)`, 'warn');
  return { outcomes, summary };
}

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
  checkLlmKey(ctx); // fail before loading anything
  const maxRounds: number = c.maxRounds ?? 4;
  const evaluations: string[] = c.evaluations ?? ['recommendation'];
  const users = c.users ?? {};
  const inputs = loadRecRows(datasetDir, dataset, c.candidates ? ctx.resolvePath(c.candidates) : undefined, users.sample ?? 'auto', users.seed ?? 2025, users.limit, c.itemNaming ?? 'methods');
  ctx.log(`AFL on ${dataset}: ${inputs.sampleNote} from ${inputs.candidatesFile}`);
  if (inputs.renamed) ctx.log(`item names from the catalogue (${inputs.naming} naming, docs/methods.md §B7): ${inputs.renamed} candidate slots of the candidate file carried another name`);
  ctx.writeArtifact('users.json', JSON.stringify({ dataset, candidatesFile: inputs.candidatesFile, sample: inputs.sampleNote, ids: inputs.rows.map((r) => r.id) }) + '\n', 'other', `the ${inputs.rows.length} users evaluated (${inputs.sampleNote})`);
  const pack = resolvePack(c.pack ?? 'default', dataset, datasetDir, (p) => ctx.resolvePath(p), ctx.configPath);
  if (evaluations.includes('user-simulation')) {
    requireGroup(pack, 'userSim.first', 'the user-simulation evaluation');
    requireGroup(pack, 'userSim.memory', 'the user-simulation evaluation');
  }
  const { counts, source: popSource } = popularityCounts(inputs.ds);
  const modelOpts = { engine: c.engine ?? 'tfjs', device: c.device, configPath: ctx.configPath, catalogue: inputs.ds.catalogue };
  const prior: Model = await loadModelSpec(c.prior, (p) => ctx.resolvePath(p), { ...modelOpts, path: 'prior', csvAllowed: true });
  // The same model folder as prior and reward model (the usual SASRec setup) is loaded once.
  const reward: Model = c.rewardModel === c.prior && prior.kind === 'scorer'
    ? prior
    : await loadModelSpec(c.rewardModel, (p) => ctx.resolvePath(p), { ...modelOpts, path: 'rewardModel', csvAllowed: false });
  throwIfCancelled(ctx.signal);
  const rows = inputs.rows;
  const priorScores = await candidateScores(prior, rows, ctx.configPath);
  const priorTop = priorNames(prior, rows, priorScores, `${ctx.configPath} (prior)`);
  const rewardScores = await candidateScores(reward, rows, ctx.configPath);
  const targets = rows.map((r) => r.correctAnswer);
  const matching = c.matching ?? 'lenient';

  const metrics: Record<string, any> = {
    dataset, users: rows.length, userSample: inputs.sampleNote, pack: pack.name, maxRounds, matching,
    userMemoryInLoop: c.userMemoryInLoop ?? true, popularitySource: popSource,
  };
  const table: string[] = [];
  // Base HR@1 (docs/methods.md §B3): the prior alone, and any extra priors.
  const base = baseHr1(priorTop, targets, matching);
  metrics.base = { prior: prior.label, ...base };
  table.push(`Base HR@1 (prior alone: ${prior.label})  ${fmtCount(base)}`);
  metrics.extraPriors = [];
  for (const [i, spec] of (c.extraPriors ?? []).entries()) {
    const m = await loadModelSpec(spec, (p) => ctx.resolvePath(p), { ...modelOpts, path: `extraPriors[${i}]`, csvAllowed: true });
    const s = await candidateScores(m, rows, ctx.configPath);
    const b = baseHr1(priorNames(m, rows, s, `${ctx.configPath} (extraPriors[${i}])`), targets, matching);
    metrics.extraPriors.push({ prior: m.label, ...b });
    table.push(`Base HR@1 (prior alone: ${m.label})  ${fmtCount(b)}`);
    m.scorer?.dispose();
  }
  ctx.metric('afl/base-hr@1', 0, base.hr);
  ctx.saveMetrics(metrics);

  const agents = makeAgents(ctx, pack, prior.label, reward.label);
  metrics.agents = agents.label;
  metrics.agentKind = agents.client ? 'llm' : 'rule-based';
  ctx.log(`agents: ${agents.label}; prompt pack: ${pack.name}; prior: ${prior.label}; reward model: ${reward.label}`);
  table.unshift(`AFL on ${dataset}: ${inputs.sampleNote}; agents: ${agents.label}; pack ${pack.name}`);
  const tw = new TranscriptWriter(ctx);
  const priorPart = prior.kind === 'none' ? null : { names: priorTop, scores: priorScores };
  const rewardPart = reward.kind === 'none' ? null : rewardScores;

  try {
    if (evaluations.includes('recommendation')) {
      const { summary } = await runVariant(ctx, 'afl', buildUsers(rows, priorPart, rewardPart), agents, pack, maxRounds, counts, tw);
      metrics.recommendation = summary;
      table.push(...summaryLines('AFL', summary, maxRounds));
      if (dataset === 'lastfm' && rows.length === 122) table.push('  paper (docs/methods.md §B6; LastFM, SASRec base, GPT-4o-mini): Base 35/122 = .2869 · Rec Agent 39/122 = .3197 · AFL 46/122 = .3770');
      ctx.setKeyMetric('hr@1', summary.afl.hr);
      ctx.saveMetrics(metrics);
    }
    if (evaluations.includes('ablations')) {
      metrics.ablations = {};
      for (const [name, p, r] of [['w/o rec model', null, rewardPart], ['w/o reward model', priorPart, null], ['w/o both', null, null]] as const) {
        throwIfCancelled(ctx.signal);
        const { summary } = await runVariant(ctx, name, buildUsers(rows, p, r), agents, pack, maxRounds, counts, tw);
        metrics.ablations[name] = summary;
        table.push(...summaryLines(`AFL ${name}`, summary, maxRounds));
        ctx.saveMetrics(metrics);
      }
    }
    if (evaluations.includes('user-simulation')) {
      const us = await runUserSimulation(ctx, { datasetDir, dataset, pack, agents, prior, reward, maxRounds, tw });
      metrics.userSimulation = us.metrics;
      table.push(...us.table);
      ctx.saveMetrics(metrics);
    }
  } finally {
    // Whatever happened, what was measured is saved, listed and printed (partial results included).
    if (agents.client) metrics.llm = { ...agents.client.stats };
    metrics.transcriptLines = tw.lines;
    ctx.saveMetrics(metrics);
    prior.scorer?.dispose();
    if (reward.scorer !== prior.scorer) reward.scorer?.dispose();
    if (tw.lines > 0) ctx.emit({ type: 'artifact', path: 'transcripts.jsonl', kind: 'transcripts', description: `${tw.lines} agent turns (prompts, raw replies, parse results, decisions)` });
    if (agents.client) {
      const s = agents.client.stats;
      table.push(`LLM: ${s.calls} calls (${s.httpCalls} HTTP, ${s.cacheHits} from cache), ${s.retries} retries, ${s.failedCalls} failed calls, tokens ${s.promptTokens} in / ${s.completionTokens} out, est. cost $${s.costUsd.toFixed(4)}, max in flight ${s.maxInFlight}`);
    } else {
      table.push(`Agents are ${RULE_BASED_LABEL}: no LLM was called.`);
    }
    ctx.table(table);
  }
  return metrics;
};
