/**
 * Runs the user-simulation evaluation (docs/methods.md §B4) for a config: reads the samples, runs step 1 (the
 * loop, once per distinct user setup across ratios), step 2 with and without memory, and the Reward
 * Model baseline; returns metrics and table lines.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readPriorCsv, readUserSimSamples, type UserSimSample } from '../data/candidates';
import type { AflConfig } from '../experiment/configTypes';
import { LocatedError, throwIfCancelled, type RunContext } from '../experiment/context';
import type { AgentsBundle, LoopUser } from './agents';
import { argmax, loopUser, type Model } from './inputs';
import { runLoopAll } from './loop';
import type { PromptPack } from './pack';
import type { TranscriptWriter } from './transcripts';
import { judgeAll, reportOf, rewardModelBaseline, type PrfReport, type UserSimCase } from './usersim';

export interface UserSimArgs {
  datasetDir: string;
  dataset: string;
  pack: PromptPack;
  agents: AgentsBundle;
  prior: Model;
  reward: Model;
  maxRounds: number;
  tw: TranscriptWriter;
  /** The run's signal joined with the LLM clients' stop (budget, fatal endpoint failure). */
  signal?: AbortSignal;
}

const fmt = (r: PrfReport) =>
  `P ${r.micro.precision.toFixed(4)} R ${r.micro.recall.toFixed(4)} F1 ${r.micro.f1.toFixed(4)} (macro P ${r.macro.precision.toFixed(4)} R ${r.macro.recall.toFixed(4)} F1 ${r.macro.f1.toFixed(4)})${r.failed ? `, ${r.failed} failed judgements counted as no` : ''}`;

async function scoresFor(model: Model, hist: number[][], cans: number[][]): Promise<number[][] | null> {
  if (model.kind !== 'scorer') return null;
  const s = await model.scorer!.scoreCandidates(hist, cans);
  return s.map((a) => Array.from(a));
}

export async function runUserSimulation(
  ctx: RunContext<AflConfig>,
  a: UserSimArgs,
): Promise<{ metrics: Record<string, unknown>; table: string[] }> {
  const cfg = ctx.config.userSimulation ?? {};
  const dir = cfg.dir ? ctx.resolvePath(cfg.dir) : join(a.datasetDir, 'user_sim');
  const ratios: string[] = cfg.ratios ?? ['1_1', '1_3', '1_9'];
  if (a.reward.kind === 'none')
    throw new LocatedError(
      'the user-simulation evaluation shows the reward model\'s score: rewardModel cannot be "none"',
      ctx.configPath,
      'rewardModel',
    );
  const csvPrior = cfg.prior ? new Map(readPriorCsv(ctx.resolvePath(cfg.prior)).map((r) => [r.id, r.generate])) : null;
  const samples = new Map<string, UserSimSample[]>();
  for (const r of ratios) {
    const f = join(dir, `samples_${r}.jsonl`);
    if (!existsSync(f)) throw new LocatedError(`user-simulation samples not found: ${f}`, ctx.configPath, 'userSimulation.dir');
    let rows = readUserSimSamples(f);
    if (cfg.limit) rows = rows.slice(0, cfg.limit);
    samples.set(r, rows);
  }
  // Step 1 users, one per distinct (history, candidates) setup across the ratio files.
  const setups = new Map<string, UserSimSample>();
  for (const rows of samples.values()) for (const s of rows) setups.set(JSON.stringify([s.id, s.seq, s.cans]), s);
  const uniq = [...setups.values()];
  const priorScores = await scoresFor(
    a.prior,
    uniq.map((s) => s.seq),
    uniq.map((s) => s.cans),
  );
  const rewardScores = await scoresFor(
    a.reward,
    uniq.map((s) => s.seq),
    uniq.map((s) => s.cans),
  );
  const users: LoopUser[] = uniq.map((s, i) => {
    let prior: string | null = null;
    if (a.prior.kind === 'scorer') prior = s.cansNames[argmax(priorScores![i])];
    else if (a.prior.kind !== 'none') {
      prior = csvPrior?.get(s.id) ?? s.priorAnswer ?? null;
      if (prior === null)
        throw new LocatedError(
          `user-simulation sample ${s.id} (${[...samples.entries()]
            .filter(([, rs]) => rs.includes(s))
            .map(([r]) => `samples_${r}.jsonl`)
            .join(
              ', ',
            )}) has no prior_answer: use a model folder as "prior" (computed live) or give userSimulation.prior (a prior CSV for these samples)`,
          ctx.configPath,
          'userSimulation.prior',
        );
    }
    return loopUser(
      s,
      prior,
      priorScores ? priorScores[i] : null,
      rewardScores ? rewardScores[i] : null,
      s.sasrecEvalFocusTopQuarter ?? null,
    );
  });
  if (!rewardScores && a.agents.user.kind === 'rule-based')
    ctx.log(
      'user simulation: rewardModel "candidates-file" gives the samples\' focus lists but no loop scores; the rule-based user agent accepts the first recommendation in step 1',
      'warn',
    );
  const byId = new Map(users.map((u) => [u.id, u]));
  const outcomes = await runLoopAll(users, a.agents.rec, a.agents.user, {
    pack: a.pack,
    maxRounds: a.maxRounds,
    userMemoryInLoop: ctx.config.userMemoryInLoop ?? true,
    matching: ctx.config.matching ?? 'lenient',
    signal: a.signal ?? ctx.signal,
    onTurn: (t) => a.tw.turn('user-sim step 1', t, byId.get(t.user)?.candidates ?? []),
    onUserDone: (_o, done) => ctx.progress('user simulation step 1', done, users.length),
  });
  const memoryByKey = new Map<string, string[]>();
  uniq.forEach((s, i) => memoryByKey.set(JSON.stringify([s.id, s.seq, s.cans]), outcomes[i].userMemory));
  const step1Failed = outcomes.filter((o) => o.failed).length;

  const metrics: Record<string, unknown> = {
    step1: {
      users: users.length,
      failedUsers: step1Failed,
      meanRounds: outcomes.reduce((x, o) => x + o.rounds.length, 0) / Math.max(1, outcomes.length),
    },
  };
  const table: string[] = [
    `User simulation (docs/methods.md §B4): ${ratios.map((r) => `${samples.get(r)!.length} users at ${r.replace('_', ':')}`).join(', ')}; step 1 = ${users.length} loops (distinct history+candidates setups), ${step1Failed} failed; judge: ${a.agents.label}`,
  ];
  for (const r of ratios) {
    throwIfCancelled(ctx.signal);
    const rows = samples.get(r)!;
    // Step-2 scores: the reward model's logits of the judged items given the user's initial items (init_list),
    // which reproduces the samples' sasrec_eval_scores_eval_cans (2e-6 with the ONNX model).
    const live = await scoresFor(
      a.reward,
      rows.map((s) => s.initList),
      rows.map((s) => s.evalCans),
    );
    const cases: UserSimCase[] = rows.map((s, i) => ({
      id: s.id,
      history: s.seqNames,
      loopCandidates: s.cansNames,
      items: s.evalCansNames,
      labels: s.label,
      scores: live ? live[i] : s.sasrecEvalScoresEvalCans,
    }));
    const memory = new Map(rows.map((s) => [s.id, memoryByKey.get(JSON.stringify([s.id, s.seq, s.cans])) ?? []]));
    const common = {
      pack: a.pack,
      agents: a.agents.clients ? ('llm' as const) : ('rule-based' as const),
      client: a.agents.clients?.user,
      parseRetry: ctx.config.llm?.parseRetry,
      matching: ctx.config.matching ?? 'lenient',
      parseRetries: ctx.config.parseRetries ?? 3,
      signal: a.signal ?? ctx.signal,
      memory,
      pool: Math.max(16, (a.agents.clients?.user.settings.concurrency ?? 16) * 8),
    };
    const noMem = await judgeAll(cases, {
      ...common,
      withMemory: false,
      onJudgement: (j) => a.tw.judgement(`user-sim ${r} User Agent`, j),
    });
    const withMem = await judgeAll(cases, { ...common, withMemory: true, onJudgement: (j) => a.tw.judgement(`user-sim ${r} AFL`, j) });
    const rm = rewardModelBaseline(cases);
    const ua = reportOf(noMem);
    const afl = reportOf(withMem);
    metrics[r] = { users: rows.length, rewardModel: rm, userAgent: ua, afl };
    for (const [name, rep] of [
      ['reward-model', rm],
      ['user-agent', ua],
      ['afl', afl],
    ] as const) {
      ctx.metric(`afl/usersim-${r}/${name}/f1`, 0, rep.micro.f1, { series: name });
    }
    table.push(
      `  ${r.replace('_', ':')} Reward Model  ${fmt(rm)}`,
      `  ${r.replace('_', ':')} User Agent    ${fmt(ua)}`,
      `  ${r.replace('_', ':')} AFL           ${fmt(afl)}`,
    );
  }
  table.push(
    "  Reward Model = SASRec's top quarter of the 20 items; the paper's row (LastFM 1:1: P .6667, R .0533) is not reproduced by it or any definition tried (docs/methods.md §B4)",
  );
  return { metrics, table };
}
