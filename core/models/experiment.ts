/**
 * Kind `sequential`: train SASRec / GRU4Rec / Caser on an Amazon or LastFM-style
 * folder and report HR@K / NDCG@K over the full catalogue (docs/methods.md §A9, K ∈ {1,3,5,10} plus the 20 that
 * early stopping reads; title match) plus, where the folder has 20-candidate lists, HR@1 among the
 * candidates and the live prior CSV (docs/methods.md §B3). On Amazon it also writes the top-10 titles per test row
 * (`recommendations.jsonl`, the Flower kind's format, scored by `flowloop metrics` the same way) and
 * reports the Table 4 SASRec row: DGU/MGU over the 8 popularity groups and H/TTR over the top-1 titles
 * (docs/methods.md §A9; `recommendationMetrics`).
 * Defaults that depend on the dataset (docs/methods.md §A8): Amazon = Flower's SASRec recipe (batch 1024, weight
 * decay 1e-5); LastFM/Steam/MovieLens = DROS/LLaRA's (batch 256, no weight decay; docs/methods.md §C). The values
 * used are written back into the run's config.json.
 * Metric events per step (train/loss) and per epoch (valid/<metric>), checkpoints into the run folder;
 * `resume` continues a run from a training checkpoint (weights, Adam state, epoch, early-stopping state).
 */
import type { SequentialConfig } from '../experiment/configTypes';
import { CancelledError, kindContext, LocatedError, type KindRunner, type RunContext } from '../experiment/context';
import { amazonListMetrics, writeModel, writeTrainCheckpoint } from './sequentialArtifacts';
import { Rng } from '../util/random';
import { loadModelDir, readTrainCheckpoint, resolveResume } from './checkpoint';
import { candidateHr1, candidateRanking, fullRanking, fullRankingTop, sampleCandidateLists, titleGroups } from './evaluate';
import { createModel } from './factory';
import type { ModelKind, SeqModelBase, SeqModelConfig } from './layers';
import { computePriors, priorCsv, priorHits } from './prior';
import { loadSeqData, subsetRows, type DatasetFormat, type SeqData } from './seqdata';
import { initBackend } from '../tensor';
import { TfjsScorer } from './tfjsScorer';
import { trainModel, type TrainCheckpoint } from './train';

const ARCH: Record<ModelKind, string> = { sasrec: 'SASRec', gru4rec: 'GRU4Rec', caser: 'Caser' };

/** docs/methods.md §A9: the cut-offs K (1, 3, 5, 10) and 20, which Flower's SASRec early-stops on (NDCG@20). */
export const SEQUENTIAL_KS = [1, 3, 5, 10, 20];

/**
 * docs/methods.md §A8 / docs/methods.md §C "Training": batch size and weight decay when the config leaves them out.
 * Amazon (Flower's SASRec, also its GRU4Rec/Caser script): batch 1024, Adam weight decay 1e-5.
 * LastFM / Steam / MovieLens (DROS/LLaRA, the AFL reward models): batch 256, no weight decay.
 */
export function datasetDefaults(format: SeqData['format']): { batchSize: number; weightDecay: number } {
  return format === 'amazon' ? { batchSize: 1024, weightDecay: 1e-5 } : { batchSize: 256, weightDecay: 0 };
}

export const runSequentialExperiment: KindRunner = async (runCtx) => {
  const ctx: RunContext<SequentialConfig> = kindContext(runCtx, 'sequential');
  const c = ctx.config;
  const backend = await initBackend(c.device ?? 'auto');
  ctx.setBackend({ name: backend.name, reason: backend.reason });
  // one fork per purpose, always drawn in this order (a resumed run must get the same streams)
  const rng = new Rng(ctx.seed);
  const forks = { train: rng.fork(1), valid: rng.fork(2), init: rng.fork(3), fit: rng.fork(4), validLists: rng.fork(5), test: rng.fork(6) };

  const dir = ctx.resolvePath(c.dataset);
  const data = await loadSeqData(dir, (c.datasetFormat ?? 'auto') as DatasetFormat);
  const train = subsetRows(data.train, c.maxTrainRows ?? 0, forks.train);
  const valid = subsetRows(data.valid, c.maxEvalRows ?? 0, forks.valid);
  const testIdx = subsetRows(
    data.test.map((_, i) => i),
    c.maxTestRows ?? 0,
    forks.test,
  );
  const test = testIdx.map((i) => data.test[i]);
  ctx.log(
    `dataset ${data.name} (${data.format}): ${data.numItems} items; train ${train.length}/${data.train.length} rows, valid ${valid.length}/${data.valid.length}, test ${test.length}/${data.test.length}` +
      (data.candidates ? `, ${data.candidates.length} candidate lists` : ''),
  );
  if (c.train !== false && train.length === 0)
    throw new LocatedError(
      `no training rows in ${dir} (train.jsonl missing or empty); set "train": false to only evaluate`,
      ctx.configPath,
      'dataset',
    );
  if (c.train !== false && valid.length === 0)
    throw new LocatedError(`no validation rows in ${dir} (valid.csv / val.jsonl)`, ctx.configPath, 'dataset');
  if (c.init && c.resume)
    throw new LocatedError('"init" (weights only) and "resume" (weights + optimizer + epoch) exclude each other', ctx.configPath, 'resume');

  // docs/methods.md §A8 defaults by dataset family; the values used go back into the run's config.json
  const defaults = datasetDefaults(data.format);
  const filled: Partial<SequentialConfig> = {};
  const fill = <K extends 'batchSize' | 'weightDecay' | 'ks' | 'validMetric'>(k: K, v: SequentialConfig[K]) => {
    if (c[k] === undefined) {
      c[k] = v;
      filled[k] = v;
    }
  };
  fill('batchSize', defaults.batchSize);
  fill('weightDecay', defaults.weightDecay);
  fill('ks', SEQUENTIAL_KS);
  fill('validMetric', 'ndcg@20');
  const batchSize = c.batchSize ?? defaults.batchSize,
    weightDecay = c.weightDecay ?? defaults.weightDecay; // filled in just above
  if (Object.keys(filled).length) {
    ctx.writeArtifact(
      'config.json',
      JSON.stringify(c, null, 2) + '\n',
      'other',
      `resolved config: ${Object.keys(filled).join(', ')} filled from the ${data.format} defaults`,
    );
  }
  ctx.log(
    `batch ${batchSize}, weight decay ${weightDecay}${'batchSize' in filled || 'weightDecay' in filled ? ` (${data.format} defaults, docs/methods.md §A8)` : ''}`,
  );

  const model: ModelKind = c.model ?? 'sasrec';
  const cfg: SeqModelConfig = {
    model,
    numItems: data.numItems,
    maxLen: c.maxLen ?? 10,
    hidden: c.hidden ?? 64,
    dropout: c.dropout ?? 0.1,
    ...(model === 'sasrec' && c.positionalInitStd !== undefined ? { positionalInitStd: c.positionalInitStd } : {}),
    ...(model === 'caser' ? { numFilters: c.numFilters ?? 16, filterSizes: c.filterSizes ?? [2, 3, 4] } : {}),
  };
  if (model === 'caser') {
    const bad = cfg.filterSizes!.findIndex((h) => h > cfg.maxLen);
    if (bad >= 0)
      throw new LocatedError(
        `filter size ${cfg.filterSizes![bad]} is larger than maxLen ${cfg.maxLen}`,
        ctx.configPath,
        `filterSizes[${bad}]`,
      );
  }
  const nCands: number = c.validCandidates ?? 0;
  if (nCands === 1) throw new LocatedError('validCandidates must be 0 (full ranking) or at least 2', ctx.configPath, 'validCandidates');
  const validMetric: string = c.validMetric;
  /** What must match for a resumed run to continue the same training. */
  const setup: Record<string, unknown> = {
    dataset: data.name,
    seed: ctx.seed,
    batchSize,
    weightDecay,
    lr: c.lr ?? 1e-3,
    loss: c.loss ?? 'bce',
    negatives: c.negatives ?? 1,
    dropout: cfg.dropout,
    maxTrainRows: c.maxTrainRows ?? 0,
    maxEvalRows: c.maxEvalRows ?? 0,
    validMetric,
    validCandidates: nCands,
    titleMatch: c.titleMatch !== false,
  };

  let net: SeqModelBase;
  let resume: TrainCheckpoint | undefined;
  const metrics: Record<string, unknown> = {};
  if (c.resume) {
    const from = resolveResume(ctx.resolvePath(c.resume));
    const r = readTrainCheckpoint(from);
    net = r.model;
    resume = r.checkpoint;
    // the architecture must match (dropout and the init std do not shape the weights)
    const arch = (x: SeqModelConfig) =>
      JSON.stringify([x.model, x.numItems, x.maxLen, x.hidden, x.numFilters ?? null, x.filterSizes ?? null]);
    if (arch(net.config) !== arch(cfg)) {
      const got = arch(net.config);
      net.dispose();
      throw new LocatedError(
        `the checkpoint is [model, items, maxLen, hidden, numFilters, filterSizes] = ${got}; this config asks for ${arch(cfg)}`,
        ctx.configPath,
        'resume',
      );
    }
    if (r.setup.dataset !== undefined && r.setup.dataset !== data.name) {
      net.dispose();
      throw new LocatedError(`the checkpoint was trained on ${r.setup.dataset}, this config uses ${data.name}`, ctx.configPath, 'resume');
    }
    const differ = Object.keys(setup).filter((k) => JSON.stringify(r.setup[k]) !== JSON.stringify(setup[k]));
    if (differ.length)
      ctx.log(
        `resume: ${differ.map((k) => `${k} ${JSON.stringify(r.setup[k])} -> ${JSON.stringify(setup[k])}`).join(', ')}; the run will not repeat an uninterrupted one`,
        'warn',
      );
    Object.assign(net.config, { dropout: cfg.dropout });
    Object.assign(metrics, { resumedFrom: from, resumedAfterEpoch: resume.state.epoch });
    ctx.log(
      `resumed from ${from}: epoch ${resume.state.epoch} done, step ${resume.state.step}, best epoch ${resume.state.bestEpoch}${resume.state.stoppedEarly ? ' (it had stopped early)' : ''}`,
    );
  } else if (c.init) {
    const initDir = ctx.resolvePath(c.init);
    net = loadModelDir(initDir).model;
    if (net.config.model !== model || net.config.numItems !== data.numItems) {
      throw new LocatedError(
        `init weights are ${net.config.model} over ${net.config.numItems} items; the config asks for ${model} over ${data.numItems}`,
        ctx.configPath,
        'init',
      );
    }
    Object.assign(net.config, { dropout: cfg.dropout });
    ctx.log(`initial weights from ${initDir}`);
  } else net = createModel(cfg, forks.init);
  ctx.log(
    `${ARCH[model]}: ${net.size} parameters (hidden ${net.config.hidden}, maxLen ${net.config.maxLen}); backend ${backend.name} (${backend.reason})`,
  );

  const scorer = new TfjsScorer(net, `${model}-${data.name}`, `${ARCH[model]} trained by Flowloop (tfjs ${backend.name})`, 512);
  const groupOf = c.titleMatch === false ? undefined : titleGroups(data.numItems, (id) => data.catalogue.title(id));
  const ks: number[] = c.ks;
  const vk = Number(validMetric.split('@')[1]);
  const evalKs = [...new Set([...ks, vk])].sort((a, b) => a - b);
  Object.assign(metrics, {
    dataset: data.name,
    model,
    trainRows: train.length,
    trainRowsAll: data.train.length,
    validRows: valid.length,
    testRows: test.length,
    testRowsAll: data.test.length,
    parameters: net.size,
    backend: backend.name,
    resolved: { batchSize, weightDecay, ks, validMetric },
  });

  const validLists = nCands >= 2 ? sampleCandidateLists(valid, data.numItems, nCands, forks.validLists) : undefined;
  const validWhat = validLists ? `among ${nCands} sampled candidates` : 'full ranking';
  metrics.validOn = validWhat;
  const steps = Math.ceil(train.length / batchSize);
  if (c.train !== false) {
    const ckpt: string = c.checkpoints ?? 'best';
    let wroteBest = false;
    const result = await trainModel(net, train, {
      loss: c.loss ?? 'bce',
      negatives: c.negatives ?? 1,
      epochs: c.epochs ?? 20,
      batchSize,
      lr: c.lr ?? 1e-3,
      weightDecay,
      patience: c.patience ?? 5,
      rng: forks.fit,
      signal: ctx.signal,
      resume,
      validate: async () => {
        const m = validLists
          ? await candidateRanking(scorer, validLists, evalKs)
          : await fullRanking(scorer, valid, evalKs, { groupOf, signal: ctx.signal });
        return { score: m[validMetric], metrics: m };
      },
      onStep: (step, loss, epoch) => {
        if (step % 10 === 0 || step === 1) ctx.metric('train/loss', step, loss, { epoch });
      },
      onProgress: (done, total, epoch) => ctx.progress(`train epoch ${epoch}`, done, total),
      onEpoch: async (epoch, info) => {
        const step = epoch * steps;
        ctx.metric('train/epoch_loss', step, info.loss, { epoch });
        for (const [k, v] of Object.entries(info.metrics)) ctx.metric(`valid/${k}`, step, v, { epoch });
        ctx.log(
          `epoch ${epoch}: loss ${info.loss.toFixed(4)}, valid ${validMetric} ${info.metrics[validMetric].toFixed(4)} (${validWhat})${info.best ? ' (best)' : ''}, ${info.seconds.toFixed(1)} s`,
        );
        const extra = { epoch, valid: info.metrics, dataset: data.name };
        if (ckpt !== 'none') {
          const ck = await info.checkpoint();
          writeTrainCheckpoint(ctx, 'checkpoints/last', net, extra, ck, setup, `epoch ${epoch} weights`);
          if (ckpt === 'every') writeTrainCheckpoint(ctx, `checkpoints/epoch-${epoch}`, net, extra, ck, setup, `epoch ${epoch} weights`);
          if (info.best) {
            writeModel(
              ctx,
              'model',
              net,
              extra,
              `best so far (epoch ${epoch}, valid ${validMetric} ${info.metrics[validMetric].toFixed(4)})`,
            );
            wroteBest = true;
          }
        }
        metrics.epochsRun = epoch;
        ctx.saveMetrics(metrics);
      },
    });
    Object.assign(metrics, {
      bestEpoch: result.bestEpoch,
      epochsRun: result.epochsRun,
      stoppedEarly: result.stoppedEarly,
      [`valid/${validMetric}`]: result.bestScore,
    });
    if (result.cancelled) {
      ctx.saveMetrics(metrics);
      throw new CancelledError(
        'cancelled during training (best checkpoint so far is in model/; "resume" with this run folder continues from checkpoints/last)',
      );
    }
    if (resume && !wroteBest && ckpt !== 'none' && result.bestEpoch >= 0) {
      // the best epoch came before the resume: its weights (restored by trainModel) go to this run's model/ too
      const h = result.history.find((x) => x.epoch === result.bestEpoch);
      writeModel(
        ctx,
        'model',
        net,
        { epoch: result.bestEpoch, valid: h?.metrics, dataset: data.name },
        `best (epoch ${result.bestEpoch}, before the resume)`,
      );
    }
    if (resume && result.epochsRun === resume.state.epoch)
      ctx.log(
        `the checkpoint had already run ${resume.state.stoppedEarly ? 'until early stopping' : `all ${c.epochs ?? 20} epochs`}: evaluating only`,
      );
    ctx.log(`best epoch ${result.bestEpoch} (valid ${validMetric} ${result.bestScore.toFixed(4)}); its weights are restored for the test`);
  }

  // test: full ranking (and the candidate lists where present)
  ctx.progress('test', 0, 1);
  const amazon = data.format === 'amazon';
  const { metrics: full, top } = await fullRankingTop(scorer, test, evalKs, { groupOf, signal: ctx.signal, top: amazon ? 10 : 0 });
  if (ctx.signal.aborted) throw new CancelledError();
  for (const [k, v] of Object.entries(full)) metrics[`test/${k}`] = v;
  const lastStep = Math.max(1, Number(metrics.epochsRun ?? 0)) * steps;
  for (const [k, v] of Object.entries(full)) ctx.metric(`test/${k}`, lastStep, v);
  const lines = [
    `${ARCH[model]} on ${data.name} (${train.length} training rows, ${test.length} test rows, full ranking${groupOf ? ' by title' : ''})`,
  ];
  lines.push(ks.map((k) => `HR@${k} ${full[`hr@${k}`].toFixed(4)}  NDCG@${k} ${full[`ndcg@${k}`].toFixed(4)}`).join(' | '));
  if (amazon) {
    const a = amazonListMetrics(ctx, data, dir, test, testIdx, top, groupOf);
    for (const [k, v] of Object.entries(a)) {
      if (k.startsWith('hr@') || k.startsWith('ndcg@')) continue; // the full-ranking values above (the lists agree, see the test)
      metrics[`test/${k}`] = v;
      ctx.metric(`test/${k}`, lastStep, v);
    }
    lines.push(
      `DGU ${a.dgu.toFixed(4)}  MGU ${a.mgu.toFixed(4)} (top-10 slots) | H ${a.entropy.toFixed(3)}  TTR ${a.ttr.toFixed(4)} (top-1 titles, docs/methods.md §A9) | recommendations.jsonl`,
    );
  }
  if (data.candidates) {
    const hr = await candidateHr1(scorer, data.candidates);
    metrics['test/cand_hr@1'] = hr.hr1;
    metrics['test/cand_hits'] = hr.hits;
    ctx.metric('test/cand_hr@1', lastStep, hr.hr1);
    const priors = await computePriors(scorer, data.candidates, data.catalogue);
    ctx.writeArtifact(
      'prior.csv',
      priorCsv(priors),
      'table',
      `live prior of this ${ARCH[model]}: top-1 among the candidates (HR@1 ${priorHits(priors).hits}/${priors.length})`,
    );
    lines.push(`HR@1 among the 20 candidates: ${hr.hits}/${hr.total} = ${hr.hr1.toFixed(4)} (prior.csv)`);
    // the headline names its metrics.json key: HR@1 among the 20 candidates, not the full-ranking test/hr@1
    ctx.setKeyMetric('test/cand_hr@1', hr.hr1);
  } else if (full['ndcg@10'] !== undefined) ctx.setKeyMetric('test/ndcg@10', full['ndcg@10']);
  else ctx.setKeyMetric(`test/ndcg@${ks[0]}`, full[`ndcg@${ks[0]}`]);
  if (c.train === false || c.checkpoints === 'none') writeModel(ctx, 'model', net, { dataset: data.name, test: full }, 'final weights');
  ctx.table(lines);
  ctx.saveMetrics(metrics);
  scorer.dispose();
  return metrics;
};
