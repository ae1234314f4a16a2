/**
 * `flowloop export-onnx <dir> --out <model.onnx>`: write an ONNX graph from a model's
 * weights and check that onnxruntime-node loads and runs it.
 *  - a SASRec weights folder (manifest.json + weights.bin in PyTorch naming: ../shared/data/models/* or a
 *    Flowloop sequential checkpoint with model "sasrec") -> inputs seq/len, output logits (OnnxScorer's contract);
 *  - a Flower checkpoint folder (format flowloop-flower-checkpoint/1) -> the policy's next-token log-probs
 *    (inputs toks[/items]/lens, output logp), usable through OnnxStepPolicy.
 * Exit codes: 0 written, 2 usage or input error (printed as `where: message`), 1 unexpected failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';
import { reportError, STDIO, type CliIo } from './score';

export const EXPORT_ONNX_USAGE = commandUsage('export-onnx');

export async function main(argv: string[], io: CliIo = STDIO): Promise<number> {
  try {
    const { flags, positional } = parseCommandArgs('export-onnx', argv);
    if (flags.help) {
      io.out(EXPORT_ONNX_USAGE + '\n');
      return 0;
    }
    if (positional.length !== 1)
      throw new UsageError(
        positional.length ? `one folder expected, got ${positional.length}` : 'which folder? (a weights folder or a Flower checkpoint)',
      );
    if (typeof flags.out !== 'string') throw new UsageError('--out <model.onnx> is required');
    const dir = resolve(positional[0]);
    const out = resolve(flags.out);
    const mf = join(dir, 'manifest.json');
    if (!existsSync(mf)) throw new LocatedError('no manifest.json here (expected a weights folder or a Flower checkpoint)', dir);
    let manifest: { format?: string; model?: string; policy?: Record<string, number> };
    try {
      manifest = JSON.parse(readFileSync(mf, 'utf8'));
    } catch (e) {
      throw new LocatedError(`not valid JSON: ${(e as Error).message}`, mf);
    }
    const { writeOnnx } = await import('../models/onnx');
    let bytes: Uint8Array, what: string;
    if (manifest.format === 'flowloop-flower-checkpoint/1') {
      const { readCheckpoint, transformerConfig } = await import('../models/policyCheckpoint');
      const { TransformerPolicy } = await import('../models/policy');
      const { policyToOnnx } = await import('../models/onnx/policy');
      const ck = readCheckpoint(dir);
      const cfg = transformerConfig(ck.manifest, mf);
      const shapes = TransformerPolicy.shapes(cfg);
      const weights = new Map(
        Object.entries(shapes).map(([n, shape]) => {
          const data = ck.tensors.get(n);
          if (!data) throw new LocatedError(`policy tensor ${n} missing from the checkpoint`, mf);
          return [n, { shape, data }] as const;
        }),
      );
      bytes = policyToOnnx(weights, cfg);
      what = `Flower policy (vocab ${cfg.vocabSize}, dModel ${cfg.dModel}, ${cfg.layers} layers) -> logp [batch, ${cfg.vocabSize}]`;
    } else {
      if (manifest.model && manifest.model !== 'sasrec')
        throw new LocatedError(`ONNX export supports SASRec and the Flower policy, not "${manifest.model}"`, mf, 'model');
      const { readWeights } = await import('../models/weights');
      const { sasrecToOnnx } = await import('../models/onnx/sasrec');
      const { arrays } = readWeights(dir);
      try {
        bytes = sasrecToOnnx(arrays);
      } catch (e) {
        throw new LocatedError((e as Error).message, mf);
      }
      const n = arrays.get('s_fc.weight')!.shape[0];
      what = `SASRec (${n} items) -> logits [batch, ${n}]`;
    }
    writeOnnx(out, bytes);
    // check: onnxruntime-node loads it
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(out);
    io.out(`${out}: ${what}; ${(bytes.length / 1e6).toFixed(1)} MB; inputs ${s.inputNames.join(', ')}; loads in onnxruntime-node\n`);
    await s.release();
    return 0;
  } catch (e) {
    return reportError(e, EXPORT_ONNX_USAGE, io);
  }
}
