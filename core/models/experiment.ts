/**
 * Kind `sequential` (issue 5 item 5): train SASRec / GRU4Rec / Caser on an Amazon or LastFM-style
 * folder and report HR@K / NDCG@K over the full catalogue (METHODS A9; title match) plus, where the
 * folder has 20-candidate lists, HR@1 among the candidates and the live prior CSV (METHODS B3).
 * Metric events per step (train/loss) and per epoch (valid/<metric>), checkpoints into the run folder.
 */
import { CancelledError, LocatedError, type KindRunner, type RunContext } from '../experiment/context';
import { Rng } from '../util/random';
import { serializeModel, loadModelDir } from './checkpoint';
import { candidateHr1, candidateRanking, fullRanking, sampleCandidateLists, titleGroups } from './evaluate';
import { createModel } from './factory';
import type { ModelKind, SeqModelBase, SeqModelConfig } from './layers';
import { computePriors, priorCsv, priorHits } from './prior';
import { loadSeqData, subsetRows, type DatasetFormat } from './seqdata';
import { initModelsTf } from './tf';
import { TfjsScorer } from './tfjs-scorer';
import { trainModel } from './train';

const ARCH: Record<ModelKind, string> = { sasrec: 'SASRec', gru4rec: 'GRU4Rec', caser: 'Caser' };

/** Write a model folder (manifest.json + weights.bin) into the run folder as artifacts. */
function writeModel(ctx: RunContext, rel: string, model: SeqModelBase, extra: Record<string, unknown>, description: string): void {
  const { manifest, bin } = serializeModel(model, extra);
  ctx.writeArtifact(`${rel}/weights.bin`, bin, 'checkpoint', description);
  ctx.writeArtifact(`${rel}/manifest.json`, manifest, 'checkpoint', description);
}

export const runSequentialExperiment: KindRunner = async (ctx) => {
  const c = ctx.config;
  const backend = await initModelsTf(c.device ?? 'auto');
  ctx.setBackend({ name: backend.name, reason: backend.reason });
  const rng = new Rng(ctx.seed);

  const dir = ctx.resolvePath(c.dataset);
  const data = await loadSeqData(dir, (c.datasetFormat ?? 'auto') as DatasetFormat);
  const train = subsetRows(data.train, c.maxTrainRows ?? 0, rng.fork(1));
  const valid = subsetRows(data.valid, c.maxEvalRows ?? 0, rng.fork(2));
  ctx.log(`dataset ${data.name} (${data.format}): ${data.numItems} items; train ${train.length}/${data.train.length} rows, valid ${valid.length}/${data.valid.length}, test ${data.test.length}` +
    (data.candidates ? `, ${data.candidates.length} candidate lists` : ''));
  if (c.train !== false && train.length === 0) throw new LocatedError(`no training rows in ${dir} (train.jsonl missing or empty); set "train": false to only evaluate`, ctx.configPath, 'dataset');
  if (c.train !== false && valid.length === 0) throw new LocatedError(`no validation rows in ${dir} (valid.csv / val.jsonl)`, ctx.configPath, 'dataset');

  const model: ModelKind = c.model ?? 'sasrec';
  const cfg: SeqModelConfig = {
    model, numItems: data.numItems, maxLen: c.maxLen ?? 10, hidden: c.hidden ?? 64, dropout: c.dropout ?? 0.1,
    ...(model === 'sasrec' && c.positionalInitStd !== undefined ? { positionalInitStd: c.positionalInitStd } : {}),
    ...(model === 'caser' ? { numFilters: c.numFilters ?? 16, filterSizes: c.filterSizes ?? [2, 3, 4] } : {}),
  };
  if (model === 'caser') {
    const bad = cfg.filterSizes!.findIndex((h) => h > cfg.maxLen);
    if (bad >= 0) throw new LocatedError(`filter size ${cfg.filterSizes![bad]} is larger than maxLen ${cfg.maxLen}`, ctx.configPath, `filterSizes[${bad}]`);
  }
  let net: SeqModelBase;
  if (c.init) {
    const initDir = ctx.resolvePath(c.init);
    net = loadModelDir(initDir).model;
    if (net.config.model !== model || net.config.numItems !== data.numItems) {
      throw new LocatedError(`init weights are ${net.config.model} over ${net.config.numItems} items; the config asks for ${model} over ${data.numItems}`, ctx.configPath, 'init');
    }
    Object.assign(net.config, { dropout: cfg.dropout });
    ctx.log(`initial weights from ${initDir}`);
  } else net = createModel(cfg, rng.fork(3));
  ctx.log(`${ARCH[model]}: ${net.size} parameters (hidden ${net.config.hidden}, maxLen ${net.config.maxLen}); backend ${backend.name} (${backend.reason})`);

  const scorer = new TfjsScorer(net, `${model}-${data.name}`, `${ARCH[model]} trained by Flowloop (tfjs ${backend.name})`, 512);
  const groupOf = c.titleMatch === false ? undefined : titleGroups(data.numItems, (id) => data.catalogue.title(id));
  const ks: number[] = c.ks ?? [1, 5, 10, 20];
  const validMetric: string = c.validMetric ?? 'ndcg@20';
  const vk = Number(validMetric.split('@')[1]);
  const evalKs = [...new Set([...ks, vk])].sort((a, b) => a - b);
  const metrics: Record<string, unknown> = {
    dataset: data.name, model, trainRows: train.length, trainRowsAll: data.train.length, validRows: valid.length, testRows: data.test.length,
    parameters: net.size, backend: backend.name,
  };

  const nCands: number = c.validCandidates ?? 0;
  if (nCands === 1) throw new LocatedError('validCandidates must be 0 (full ranking) or at least 2', ctx.configPath, 'validCandidates');
  const validLists = nCands >= 2 ? sampleCandidateLists(valid, data.numItems, nCands, rng.fork(5)) : undefined;
  const validWhat = validLists ? `among ${nCands} sampled candidates` : 'full ranking';
  metrics.validOn = validWhat;
  if (c.train !== false) {
    const ckpt: string = c.checkpoints ?? 'best';
    const steps = Math.ceil(train.length / (c.batchSize ?? 256));
    const result = await trainModel(net, train, {
      loss: c.loss ?? 'bce', negatives: c.negatives ?? 1, epochs: c.epochs ?? 20, batchSize: c.batchSize ?? 256, lr: c.lr ?? 1e-3,
      weightDecay: c.weightDecay ?? 0, patience: c.patience ?? 5, rng: rng.fork(4), signal: ctx.signal,
      validate: async () => {
        const m = validLists
          ? await candidateRanking(scorer, validLists, evalKs)
          : await fullRanking(scorer, valid, evalKs, { groupOf, signal: ctx.signal });
        return { score: m[validMetric], metrics: m };
      },
      onStep: (step, loss, epoch) => { if (step % 10 === 0 || step === 1) ctx.metric('train/loss', step, loss, { epoch }); },
      onProgress: (done, total, epoch) => ctx.progress(`train epoch ${epoch}`, done, total),
      onEpoch: (epoch, info) => {
        const step = epoch * steps;
        ctx.metric('train/epoch_loss', step, info.loss, { epoch });
        for (const [k, v] of Object.entries(info.metrics)) ctx.metric(`valid/${k}`, step, v, { epoch });
        ctx.log(`epoch ${epoch}: loss ${info.loss.toFixed(4)}, valid ${validMetric} ${info.metrics[validMetric].toFixed(4)} (${validWhat})${info.best ? ' (best)' : ''}, ${info.seconds.toFixed(1)} s`);
        const extra = { epoch, valid: info.metrics, dataset: data.name };
        if (ckpt !== 'none') {
          writeModel(ctx, 'checkpoints/last', net, extra, `epoch ${epoch} weights`);
          if (ckpt === 'every') writeModel(ctx, `checkpoints/epoch-${epoch}`, net, extra, `epoch ${epoch} weights`);
          if (info.best) writeModel(ctx, 'model', net, extra, `best so far (epoch ${epoch}, valid ${validMetric} ${info.metrics[validMetric].toFixed(4)})`);
        }
        metrics.epochsRun = epoch;
        ctx.saveMetrics(metrics);
      },
    });
    Object.assign(metrics, { bestEpoch: result.bestEpoch, epochsRun: result.epochsRun, stoppedEarly: result.stoppedEarly, [`valid/${validMetric}`]: result.bestScore });
    if (result.cancelled) {
      ctx.saveMetrics(metrics);
      throw new CancelledError('cancelled during training (best checkpoint so far is in model/)');
    }
    ctx.log(`best epoch ${result.bestEpoch} (valid ${validMetric} ${result.bestScore.toFixed(4)}); its weights are restored for the test`);
  }

  // test: full ranking (and the candidate lists where present)
  ctx.progress('test', 0, 1);
  const test = await fullRanking(scorer, data.test, evalKs, { groupOf, signal: ctx.signal });
  if (ctx.signal.aborted) throw new CancelledError();
  for (const [k, v] of Object.entries(test)) metrics[`test/${k}`] = v;
  const lastStep = Math.max(1, Number(metrics.epochsRun ?? 0)) * Math.ceil(train.length / (c.batchSize ?? 256));
  for (const [k, v] of Object.entries(test)) ctx.metric(`test/${k}`, lastStep, v);
  const lines = [`${ARCH[model]} on ${data.name} (${train.length} training rows, ${data.test.length} test rows, full ranking${groupOf ? ' by title' : ''})`];
  lines.push(ks.map((k) => `HR@${k} ${test[`hr@${k}`].toFixed(4)}  NDCG@${k} ${test[`ndcg@${k}`].toFixed(4)}`).join(' | '));
  if (data.candidates) {
    const hr = await candidateHr1(scorer, data.candidates);
    metrics['test/cand_hr@1'] = hr.hr1;
    metrics['test/cand_hits'] = hr.hits;
    ctx.metric('test/cand_hr@1', lastStep, hr.hr1);
    const priors = await computePriors(scorer, data.candidates, data.catalogue);
    ctx.writeArtifact('prior.csv', priorCsv(priors), 'table', `live prior of this ${ARCH[model]}: top-1 among the candidates (HR@1 ${priorHits(priors).hits}/${priors.length})`);
    lines.push(`HR@1 among the 20 candidates: ${hr.hits}/${hr.total} = ${hr.hr1.toFixed(4)} (prior.csv)`);
    ctx.setKeyMetric('hr@1', hr.hr1);
  } else ctx.setKeyMetric('ndcg@10', test['ndcg@10'] ?? test[`ndcg@${ks[0]}`]);
  if (c.train === false || c.checkpoints === 'none') writeModel(ctx, 'model', net, { dataset: data.name, test }, 'final weights');
  ctx.table(lines);
  ctx.saveMetrics(metrics);
  scorer.dispose();
  return metrics;
};
