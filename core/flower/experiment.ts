/**
 * The `flower` experiment kind: build the setup from the config, fit the policy with each objective
 * (core/flower/fitPolicy.ts), then evaluate: constrained beam search → recommendations.jsonl + metrics.json
 * (recommend mode, with the mechanism measurements), or the RQ1 distribution fit → KL/JS/coverage + SVG plot
 * (distribution mode).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../experiment/runStore';
import { resolveFlowerDefaults, type ResolvedFlowerConfig } from './defaults';
import { kindContext, type KindRunner, type RunContext } from '../experiment/context';
import type { HfModel } from '../llm/load';
import { checkPolicyModel, loadPolicyModel, trainingMemory, type FlowerLm } from './lmPolicy';
import { initBackend } from '../tensor';
import { setupDistribution, setupRecommend } from './setup';
import type { TrainState } from './train';
import { evaluateRecommend } from './evaluate';
import { evaluateDistribution } from './distribution';
import { measureMechanism } from './mechanism';
import { fitPolicy, type FlowerPolicy } from './fitPolicy';
import { loadPu } from './personalizationSource';

export const runFlowerExperiment: KindRunner = async (runCtx) => {
  const flowerCtx = kindContext(runCtx, 'flower');
  // θ (docs/methods.md §A4, per dataset) and personalization.mode (docs/methods.md §A5) defaults: resolved here, logged,
  // and written back into config.json so the run folder records the values actually used.
  const resolved = resolveFlowerDefaults(flowerCtx.config);
  const ctx = flowerCtx as RunContext<ResolvedFlowerConfig>; // resolveFlowerDefaults filled θ and personalization.mode in
  const c = ctx.config;
  writeJsonAtomic(join(ctx.runDir, 'config.json'), c);
  ctx.log(
    `θ = ${resolved.theta} (${resolved.thetaFrom}); personalization ${resolved.personalizationMode} (${resolved.personalizationFrom})`,
  );
  const backend = await initBackend(c.device ?? 'auto');
  // policy.model: folder and tokenizer checked first (cheap), the tree built with the model's tokenizer, the
  // memory of a training step estimated against the backend, and only then the weights read.
  const folder = c.policy.model ? checkPolicyModel(c, ctx.resolvePath) : undefined;
  ctx.progress('load data', 0, 1);
  const s =
    c.mode === 'distribution' ? await setupDistribution(c, ctx.resolvePath) : await setupRecommend(c, ctx.resolvePath, folder?.tokenizer);
  let hf: HfModel | undefined;
  if (folder) {
    ctx.log(trainingMemory(c, s, folder.config, backend.name, ctx.configPath));
    ctx.progress('load model', 0, 1);
    hf = loadPolicyModel(c, ctx.resolvePath, backend.name);
    ctx.log(
      `policy.model ${hf.dir}: ${hf.config.architectureName}, ${hf.precision}; the tree uses the model's tokenizer (config "tokenizer" ignored)`,
    );
  }
  ctx.setBackend({ name: backend.name, reason: hf ? `${backend.reason}; ${hf.precision}` : backend.reason });
  for (const n of s.notes) ctx.log(n);
  ctx.log(
    `${s.mode}: ${s.trie.titles.length} titles, trie ${s.trie.size} nodes, policy vocabulary ${s.vocab.size}, ${s.train.length} training / ${s.valid.length} validation examples${s.test.length ? `, ${s.test.length} test rows` : ''}`,
  );
  const objectives: string[] = s.mode === 'distribution' && c.compare?.length ? c.compare : [c.objective];
  const gfnTrains = objectives.includes('flower') && c.theta < 1 && c.epochs > 0;
  const { pu, sasrec } = objectives.includes('flower') ? await loadPu(ctx, s, gfnTrains) : {};
  if (pu) ctx.log(`personalization ${c.personalization.mode}: p_u from ${pu.description}`);
  const base: Record<string, unknown> = {
    mode: s.mode,
    dataset: s.datasetName,
    trainExamples: s.train.length,
    personalization: pu ? c.personalization.mode : 'none',
    personalizationFrom: resolved.personalizationFrom,
    scorer: pu?.description,
  };
  if (sasrec) {
    base.sasrecRun = sasrec.runDir;
    // the nested SASRec's test row (docs/methods.md §A8 baseline) as flat "sasrec/<metric>" keys, like the alsoDecode rows
    for (const [k, v] of Object.entries(sasrec.metrics))
      if (typeof v === 'number' && /^(test\/|dgu|mgu|entropy|ttr|distinct)/.test(k)) base[`sasrec/${k.replace(/^test\//, '')}`] = v;
  }
  const fitted: { objective: string; policy: FlowerPolicy; state: TrainState; lm?: FlowerLm }[] = [];
  for (const objective of objectives) {
    const tag = objectives.length > 1 ? objective : '';
    const { policy, state, lm, initFrom } = await fitPolicy(ctx, s, objective, tag, pu, hf);
    if (lm) {
      const dir = await lm.save(ctx.runDir);
      ctx.log(
        lm.lora
          ? `saved the LoRA adapter (PEFT layout: adapter_config.json + adapter_model.safetensors) to ${dir}`
          : `saved the fine-tuned model (Hugging Face layout) to ${dir}`,
      );
    }
    const p = tag ? `${tag}/` : '';
    if (initFrom) base[`${p}init`] = initFrom;
    Object.assign(base, {
      [`${p}objective`]: objective,
      [`${p}theta`]: objective === 'flower' ? c.theta : undefined,
      [`${p}epochsTrained`]: state.epoch,
      [`${p}bestEpoch`]: state.bestEpoch,
      [`${p}bestValidNll`]: Number.isFinite(state.bestValid) ? state.bestValid : undefined,
      parameters: policy.paramCount(),
    });
    ctx.saveMetrics(base);
    fitted.push({ objective, policy, state, lm });
  }
  const result = s.mode === 'distribution' ? await evaluateDistribution(ctx, fitted, s) : await evaluateRecommend(ctx, fitted[0].policy, s);
  if (s.mode === 'recommend' && c.mechanismRows > 0 && s.test.length) {
    const t0 = Date.now();
    const H = fitted[0].policy.cfg.maxHistory;
    const recs = readFileSync(join(ctx.runDir, 'recommendations.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { row: number; titles: string[] });
    const mech = await measureMechanism({
      policy: fitted[0].policy,
      trie: s.trie,
      vocab: s.vocab,
      dataset: s.dataset!,
      trainHistories: s.train.map((e) => e.history),
      sampleRows: c.mechanismRows,
      testRows: s.test.map((r) => ({ row: r.row, history: r.historyIds.slice(-H) })),
      lists: recs.map((r) => r.titles),
      mode: c.personalization?.mode ?? 'none',
      pu,
      idsOfTitle: s.itemIdsOfTitle,
      seed: ctx.seed,
    });
    result.mechanism = mech;
    ctx.saveMetrics({ ...base, ...result });
    const f = (x: number) => x.toFixed(3);
    ctx.log(
      `mechanism (${((Date.now() - t0) / 1000).toFixed(1)} s): sampled on ${mech.sampled.rows} training histories DGU ${f(mech.sampled.dgu)} MGU ${f(mech.sampled.mgu)}, ${mech.sampled.distinct} distinct, on-tree mass ${f(mech.sampled.onTreeMass)}; ` +
        `reward target's top-10 (${mech.oracle.personalization}) NDCG@10 ${mech.oracle['ndcg@10'].toFixed(4)} DGU ${f(mech.oracle.dgu)} MGU ${f(mech.oracle.mgu)} Jaccard ${f(mech.oracle['jaccard@10'])}; decoded top-10 Jaccard ${f(mech['jaccard@10'])}`,
    );
  }
  for (const f of fitted) f.policy.dispose();
  return { ...base, ...result };
};
