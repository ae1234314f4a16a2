/**
 * `flowloop lm score --model <folder> --in <rows.jsonl> [--lora <adapter folder>] [--onnx <model.onnx>] [--device …] [--batch N] [--cutoff N] [--category C]`
 *   One JSON line per input row on stdout: {"logprob": Σ log π(completion | prompt) over the FULL vocabulary, "tokens": n}.
 *   A row gives token ids (`promptIds`, `completionIds`), or text: `prompt` (a string, or a list of parts
 *   tokenised separately and concatenated, as the released Flower prompt is — docs/methods.md §A6b) and
 *   `completion` (plus EOS when `"eos": true`), or a user history: `history` (titles) and `title` — the
 *   released prompt (category from the row or --category) and target title + "\n" + EOS. Rows of
 *   different lengths are batched with padding and an attention mask. `--onnx`: the same scores through
 *   onnxruntime-node on the user's ONNX export of the model (core/llm/onnxPolicy.ts).
 * `flowloop lm info --model <folder> [--device …]`: architecture, parameters, stored dtypes, the backend
 *   it would run on and why, and memory estimates — without reading the weights.
 * Backend and memory lines go to stderr. Exit codes: 0 ok, 2 bad input (`where: message`), 1 failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';
import { modelOptions, reportError, STDIO, type CliIo } from './score';
import { completionIds, promptIds, truncateLeft } from '../llm/prompt';

const USAGE = () => commandUsage('lm');

export interface ScoreRow {
  prompt: number[];
  completion: number[];
}

type Tok = import('../tokenize').Tokenizer;

/** Parse rows.jsonl into token ids (errors located at file:line and the field). */
export function parseScoreRows(file: string, tok: () => Tok, category?: string): ScoreRow[] {
  if (!existsSync(file)) throw new LocatedError('file not found', file);
  const lines = readFileSync(file, 'utf8').split('\n');
  const rows: ScoreRow[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const at = `${file}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new LocatedError(`not JSON: ${(e as Error).message}`, at, file);
    }
    const ids = (k: string): number[] => {
      const v = o[k];
      if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0))
        throw new LocatedError(`"${k}" must be a list of token ids`, `${at}: ${k}`, file);
      return v as number[];
    };
    let row: ScoreRow;
    if ('promptIds' in o || 'completionIds' in o) row = { prompt: ids('promptIds'), completion: ids('completionIds') };
    else if ('history' in o) {
      const h = o.history;
      if (!Array.isArray(h) || !h.every((x) => typeof x === 'string'))
        throw new LocatedError('"history" must be a list of titles', `${at}: history`, file);
      if (typeof o.title !== 'string') throw new LocatedError('"title" (the target title) must be a string', `${at}: title`, file);
      const cat = typeof o.category === 'string' ? o.category : category;
      if (!cat)
        throw new LocatedError(
          'a history row needs the category word of the prompt: give "category" in the row or --category (e.g. "movies and TV")',
          `${at}: category`,
          file,
        );
      const t = tok();
      row = { prompt: promptIds(t, h as string[], cat), completion: completionIds(t, o.title) };
    } else if ('prompt' in o || 'completion' in o) {
      const p = o.prompt;
      const parts = typeof p === 'string' ? [p] : Array.isArray(p) && p.every((x) => typeof x === 'string') ? (p as string[]) : undefined;
      if (!parts)
        throw new LocatedError('"prompt" must be a string or a list of strings (parts tokenised separately)', `${at}: prompt`, file);
      if (typeof o.completion !== 'string') throw new LocatedError('"completion" must be a string', `${at}: completion`, file);
      const t = tok();
      row = { prompt: parts.flatMap((s) => t.encode(s)), completion: [...t.encode(o.completion), ...(o.eos === true ? [t.eosId] : [])] };
    } else throw new LocatedError('a row needs promptIds + completionIds, prompt + completion, or history + title', at, file);
    if (!row.prompt.length) throw new LocatedError('empty prompt (the model needs at least one prompt token)', at, file);
    if (!row.completion.length) throw new LocatedError('empty completion', at, file);
    rows.push(row);
  });
  if (!rows.length) throw new LocatedError('no rows', file);
  return rows;
}

function intFlag(flags: Record<string, string | boolean | undefined>, k: string, dflt: number): number {
  const v = flags[k];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${k} must be a positive integer (got "${String(v)}")`);
  return n;
}

async function score(flags: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  const { device } = modelOptions(flags, ['model', 'in']);
  const dir = resolve(flags.model as string);
  const batch = intFlag(flags, 'batch', 8);
  const { checkModelFolder, loadHfModel } = await import('../llm/load');
  const { loadHfTokenizer } = await import('../llm/tokenizer');
  const cfg = checkModelFolder(dir);
  let tok: Tok | undefined;
  const rows = parseScoreRows(
    resolve(flags.in as string),
    () => (tok ??= loadHfTokenizer(dir, cfg.vocabSize)),
    flags.category as string | undefined,
  );
  if (flags.cutoff !== undefined) {
    const cutoff = intFlag(flags, 'cutoff', 512);
    rows.forEach((r, i) => {
      try {
        Object.assign(r, truncateLeft(r.prompt, r.completion, cutoff));
      } catch (e) {
        throw new LocatedError((e as Error).message, `${flags.in as string}: row ${i + 1}`);
      }
    });
  }
  for (const [i, r] of rows.entries()) {
    const bad = [...r.prompt, ...r.completion].find((t) => t >= cfg.vocabSize);
    if (bad !== undefined)
      throw new LocatedError(`token id ${bad} outside the model vocabulary 0..${cfg.vocabSize - 1}`, `${flags.in as string}: row ${i + 1}`);
  }
  const { initBackend } = await import('../tensor');
  const { estimateMemory, checkMemory } = await import('../llm/memory');
  const be = await initBackend(device);
  const seqLen = Math.max(...rows.map((r) => r.prompt.length + r.completion.length));
  const predicted = Math.max(...rows.map((r) => r.completion.length));
  io.err(`lm: ${cfg.architectureName} from ${dir} on backend ${be.name}: ${be.reason}\n`);
  io.err(
    `lm: ${checkMemory(estimateMemory(cfg, { microBatch: Math.min(batch, rows.length), seqLen, predicted }), be.name, `scoring ${rows.length} rows in batches of ${batch}`).line}\n`,
  );
  if (typeof flags.onnx === 'string') {
    const { OnnxLmPolicy } = await import('../llm/onnxPolicy');
    const tokPad = (tok ??= loadHfTokenizer(dir, cfg.vocabSize)) as import('../llm/tokenizer').HfTokenizer;
    const onnx = await OnnxLmPolicy.load(resolve(flags.onnx), tokPad.padId, device);
    try {
      io.err(
        `lm: scoring through onnxruntime-node (${onnx.provider} provider) on ${resolve(flags.onnx)}; tokenizer and config from the folder\n`,
      );
      for (const r of await onnx.completionLogProbs(
        rows.map((r) => r.prompt),
        rows.map((r) => r.completion),
        batch,
      ))
        io.out(JSON.stringify(r) + '\n');
    } finally {
      await onnx.dispose();
    }
    return 0;
  }
  const hf = loadHfModel(dir, be.name);
  try {
    io.err(`lm: ${hf.precision}\n`);
    if (typeof flags.lora === 'string') {
      // PEFT LoRA adapter folder (core/llm/lora.ts): registered on the model's linear layers, scale alpha / r.
      const { readPeftAdapter, LoraAdapters } = await import('../llm/lora');
      const adDir = resolve(flags.lora);
      const ad = readPeftAdapter(adDir);
      const lora = new LoraAdapters(hf.model, ad.settings, 0, ad.tensors);
      const missing = lora.names.filter((n) => !ad.tensors.has(n));
      if (missing.length)
        throw new LocatedError(
          `the adapter has no ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''} although target_modules selects that module`,
          `${adDir}/adapter_model.safetensors`,
        );
      io.err(
        `lm: LoRA adapter ${adDir}: r=${ad.settings.r}, alpha=${ad.settings.alpha} (scale ${lora.scale}), ${lora.modules.length} modules\n`,
      );
    }
    const { LmPolicy } = await import('../llm/policy');
    const pol = new LmPolicy(hf.model, hf.tokenizer.padId);
    // Sort by length so a batch pads little; print in input order.
    const order = rows
      .map((_, i) => i)
      .sort((a, b) => rows[a].prompt.length + rows[a].completion.length - rows[b].prompt.length - rows[b].completion.length);
    const res = await pol.completionLogProbs(
      order.map((i) => rows[i].prompt),
      order.map((i) => rows[i].completion),
      batch,
    );
    const out = new Array<{ logprob: number; tokens: number }>(rows.length);
    order.forEach((i, k) => {
      out[i] = res[k];
    });
    for (const r of out) io.out(JSON.stringify(r) + '\n');
  } finally {
    hf.model.dispose();
  }
  return 0;
}

async function info(flags: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  const { device } = modelOptions(flags, ['model']);
  const dir = resolve(flags.model as string);
  const { describeModel } = await import('../llm/describe');
  const { initBackend } = await import('../tensor');
  const be = await initBackend(device);
  for (const line of describeModel(dir, be)) io.out(line + '\n');
  return 0;
}

export async function main(argv: string[], io: CliIo = STDIO): Promise<number> {
  try {
    const { flags, positional } = parseCommandArgs('lm', argv);
    if (flags.help) {
      io.out(USAGE() + '\n');
      return 0;
    }
    const [sub, ...rest] = positional;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub === 'score') return await score(flags, io);
    if (sub === 'info') return await info(flags, io);
    throw new UsageError(sub === undefined ? 'which subcommand? (score, info)' : `unknown subcommand "${sub}" (score, info)`);
  } catch (e) {
    return reportError(e, USAGE(), io);
  }
}
