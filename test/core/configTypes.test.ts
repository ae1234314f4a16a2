/**
 * core/experiment/configTypes.ts is generated from the schema (core/experiment/schema/*.json) by
 * esbuild.js. These tests regenerate it in memory and fail when the committed file is stale, and check
 * the generator's one assumption: every field with a schema `default` (typed required) is filled in by
 * validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema } from '../../core/experiment/schema';
import { validateConfigObject } from '../../core/experiment/validate';
import type { ConfigKind } from '../../core/experiment/configTypes';
import { ROOT } from '../../harness/paths';

interface TypingSchema {
  type?: string;
  properties?: Record<string, TypingSchema>;
  items?: TypingSchema;
  required?: string[];
  definitions?: Record<string, TypingSchema>;
  title?: string;
}

const build = createRequire(__filename)(join(ROOT, 'esbuild.js')) as {
  configTypesSource(schema: Record<string, unknown>): Promise<string>;
  typingSchema(schema: Record<string, unknown>): TypingSchema;
  CONFIG_TYPES: string;
};

/** A line diff (LCS) of two texts: changed lines with `context` lines around them, at most `maxLines`. */
function lineDiff(committed: string, generated: string, context = 2, maxLines = 60): string {
  const a = committed.split('\n'),
    b = generated.split('\n');
  const n = a.length,
    m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: { op: ' ' | '-' | '+'; line: string; at: number }[] = [];
  let i = 0,
    j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i], at: i + 1 });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ op: '-', line: a[i], at: i + 1 });
      i++;
    } else {
      ops.push({ op: '+', line: b[j], at: i + 1 });
      j++;
    }
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.op !== ' '));
  const out: string[] = [];
  ops.forEach((o, k) => {
    if (!near[k]) return;
    if (k > 0 && !near[k - 1]) out.push(`@@ line ${o.at} @@`);
    out.push(`${o.op} ${o.line}`);
  });
  return (out.length > maxLines ? [...out.slice(0, maxLines), `... (${out.length - maxLines} more diff lines)`] : out).join('\n');
}

test('core/experiment/configTypes.ts is what esbuild.js generates from the schema now', async () => {
  const generated = await build.configTypesSource(buildSchema());
  const committed = readFileSync(join(ROOT, build.CONFIG_TYPES), 'utf8');
  if (committed !== generated) {
    assert.fail(
      `${build.CONFIG_TYPES} is stale (the schema changed): run \`node esbuild.js\` and commit it.\n--- committed\n+++ generated\n${lineDiff(committed, generated)}`,
    );
  }
  // deterministic: the same schema gives the same text
  assert.equal(await build.configTypesSource(buildSchema()), generated);
  assert.match(generated, /generated from core\/experiment\/schema\/\*\.json by esbuild\.js — do not edit/i);
  for (const name of ['FlowerConfig', 'AflConfig', 'SequentialConfig']) assert.match(generated, new RegExp(`export interface ${name} \\{`));
  assert.match(generated, /export type FlowloopConfig = FlowerConfig \| AflConfig \| SequentialConfig;/);
  assert.doesNotMatch(generated, /x-flowloop/);
});

/** Paths of required fields (schema-required + defaulted) missing from `value`, recursing into present objects. */
function missingRequired(schema: TypingSchema, value: unknown, path: string): string[] {
  if (Array.isArray(value) && schema.items) return value.flatMap((x, i) => missingRequired(schema.items!, x, `${path}/${i}`));
  if (!schema.properties || !value || typeof value !== 'object' || Array.isArray(value)) return [];
  const v = value as Record<string, unknown>;
  const out: string[] = [];
  for (const k of schema.required ?? []) if (v[k] === undefined) out.push(`${path}/${k}`);
  for (const [k, s] of Object.entries(schema.properties)) if (v[k] !== undefined) out.push(...missingRequired(s, v[k], `${path}/${k}`));
  return out;
}

test('every field the types make required (schema default) is filled in by validation, for each kind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-config-types-'));
  const typing = build.typingSchema(buildSchema());
  const minimal: Record<ConfigKind, Record<string, unknown>> = {
    flower: {
      kind: 'flower',
      alsoDecode: [{ name: 'temp' }],
      sweep: { parameters: [{ path: 'lr', range: { from: 0.001, to: 0.01, count: 2 } }] },
    },
    afl: { kind: 'afl', dataset: '.', prior: 'none', rewardModel: 'none' },
    sequential: { kind: 'sequential', dataset: '.' },
  };
  for (const [kind, config] of Object.entries(minimal)) {
    const r = validateConfigObject(config, join(dir, `${kind}.flowloop.json`), 'test');
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [],
      kind,
    );
    const def = typing.definitions![kind];
    assert.equal(def.title, `${kind[0].toUpperCase()}${kind.slice(1)}Config`);
    assert.deepEqual(missingRequired(def, r.config, ''), [], `${kind}: required in configTypes.ts but not filled in by validation`);
  }
});
