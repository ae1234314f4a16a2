/**
 * Recommend-mode evaluation (docs/methods.md §A7, A9): constrained beam search over the test rows (10 beams,
 * 10 returned, length penalty, temperature, max tokens) → `recommendations.jsonl` lines
 * `{"row": <0-based test.csv row>, "titles": [...]}`, scored by core/metrics `scoreRecommendations`
 * (HR/NDCG@K, DGU, MGU, entropy, TTR, distinct) → metrics.json. `alsoDecode` adds decodings of the same
 * model (e.g. the Temp and D3 baselines on the SFT backbone) under their own names.
 */
import type { FlowerConfig } from '../experiment/configTypes';
import type { RunContext } from '../experiment/context';
import { throwIfCancelled } from '../experiment/context';
import { beamSearch, type BeamOptions } from '../decode';
import { scoreRecommendations } from '../metrics';
import type { StepPolicy } from '../decode';

/** A decodable policy and how many history items it reads. */
export type DecodablePolicy = StepPolicy & { readonly cfg: { maxHistory: number } };
import type { FlowerSetup } from './setup';

/** One decoding of the trained model: the config's `decoding` (schema defaults filled in), or it with an `alsoDecode` entry over it. */
export type DecodingSpec = FlowerConfig['decoding'];

/** Decoding settings: the config's `decoding` plus each `alsoDecode` entry (which overrides fields of it). */
export function decodingSpecs(c: Pick<FlowerConfig, 'decoding' | 'alsoDecode'>): DecodingSpec[] {
  const d = c.decoding;
  const main: DecodingSpec = {
    name: d.name ?? 'main',
    beams: d.beams,
    returned: d.returned,
    lengthPenalty: d.lengthPenalty,
    temperature: d.temperature,
    maxTokens: d.maxTokens,
  };
  return [main, ...(c.alsoDecode ?? []).map((x) => ({ ...main, ...x }))];
}

/** Top-`returned` titles for each history (constrained beam search), in chunks with progress. */
export async function recommend(
  ctx: RunContext,
  policy: StepPolicy,
  s: FlowerSetup,
  histories: number[][],
  spec: DecodingSpec,
  phase: string,
): Promise<string[][]> {
  const out: string[][] = [];
  const chunk = Math.max(1, Math.floor(400 / spec.beams));
  const opts: BeamOptions = {
    beams: spec.beams,
    returned: spec.returned,
    lengthPenalty: spec.lengthPenalty,
    temperature: spec.temperature,
    maxTokens: spec.maxTokens,
  };
  for (let i = 0; i < histories.length; i += chunk) {
    throwIfCancelled(ctx.signal);
    out.push(...(await beamSearch(policy, s.trie, s.vocab, histories.slice(i, i + chunk), opts)));
    ctx.progress(phase, Math.min(i + chunk, histories.length), histories.length);
  }
  return out;
}

export async function evaluateRecommend(
  ctx: RunContext<FlowerConfig>,
  policy: DecodablePolicy,
  s: FlowerSetup,
): Promise<Record<string, unknown>> {
  const c = ctx.config;
  const H = policy.cfg.maxHistory;
  const histories = s.test.map((r) => r.historyIds.slice(-H));
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  const specs = decodingSpecs(c);
  for (const spec of specs) {
    const t0 = Date.now();
    const titles = await recommend(ctx, policy, s, histories, spec, `decode ${spec.name}`);
    const recs = s.test.map((r, i) => ({ row: r.row, titles: titles[i] }));
    const file = spec.name === 'main' ? 'recommendations.jsonl' : `recommendations-${spec.name}.jsonl`;
    ctx.writeArtifact(
      file,
      recs.map((r) => JSON.stringify(r)).join('\n') + '\n',
      'recommendations',
      `${spec.name}: beams ${spec.beams}, length penalty ${spec.lengthPenalty}, temperature ${spec.temperature}`,
    );
    const m = scoreRecommendations(recs, s.dataset!) as unknown as Record<string, number>;
    const seconds = (Date.now() - t0) / 1000;
    results[spec.name] = { ...m, decoding: spec, testRows: recs.length, seconds };
    const key = spec.name === 'main' ? '' : `${spec.name}/`;
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') results[key + k] = v;
    ctx.saveMetrics(results);
    lines.push(
      `${spec.name.padEnd(8)} NDCG@10 ${fmt(m['ndcg@10'])}  HR@10 ${fmt(m['hr@10'])}  DGU ${fmt(m.dgu)}  MGU ${fmt(m.mgu)}  H ${fmt(m.entropy)}  TTR ${fmt(m.ttr)}  distinct ${m.distinct}`,
    );
    ctx.log(`decoded ${recs.length} test rows (${spec.name}) in ${seconds.toFixed(1)} s`);
  }
  if (typeof results['ndcg@10'] === 'number') ctx.setKeyMetric('ndcg@10', results['ndcg@10'] as number);
  ctx.table([`flower ${c.objective} on ${s.datasetName} (${s.test.length} test rows)`, ...lines]);
  return results;
}

function fmt(v: number | undefined): string {
  return typeof v === 'number' ? v.toFixed(4) : '—';
}
