/**
 * The headline, as a regression test: the demo config (the Flower paper's RQ1 on 100 movie titles,
 * docs/methods.md §A9 "distribution fitting") trains SFT and Flower from the same seed and samples, and
 * Flower must fit the target distribution better — lower exact KL(target‖gen) (from the policy's exact title
 * probabilities, not from samples) and at least SFT's coverage. The run is deterministic for a given set of
 * tensor kernels (native OpenBLAS or WebAssembly sum in different orders), so the assertion is the
 * inequality, which holds for both, not the digits. A change that breaks Flower's objective fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoConfig } from '../../core/flower/demo';
import { runExperiment } from '../../core/experiment/run';

test('demo config: Flower beats SFT on exact KL(target‖gen) and coverage', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flowloop-headline-'));
  try {
    const { config, configPath } = demoConfig();
    const r = await runExperiment({ configPath, configObject: config, outDir: out, workspace: out });
    assert.equal(r.status, 'finished', `demo run ${r.status}: ${r.error ?? ''}`);
    const m = r.metrics as Record<string, number>;
    const num = (k: string): number => {
      assert.equal(typeof m[k], 'number', `metrics.json has no number "${k}" (keys: ${Object.keys(m).join(', ')})`);
      return m[k];
    };
    const sftKl = num('sft/exact/kl(target||gen)'),
      flowerKl = num('flower/exact/kl(target||gen)');
    const sftCov = num('sft/coverage'),
      flowerCov = num('flower/coverage');
    const summary = `exact KL(target‖gen): sft ${sftKl.toFixed(4)}, flower ${flowerKl.toFixed(4)}; coverage: sft ${sftCov}, flower ${flowerCov}`;
    assert.ok(flowerKl < sftKl, `Flower does not beat SFT on exact KL(target‖gen): ${summary}`);
    assert.ok(flowerCov >= sftCov, `Flower's coverage is below SFT's: ${summary}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
