import base from './schema/base.json';
import sweep from './schema/sweep.json';
import flower from './schema/flower.json';
import afl from './schema/afl.json';
import sequential from './schema/sequential.json';
import { citeWithTitlesDeep } from './citations';
export { methodsSections } from './citations';

/**
 * The ONE Flowloop config schema. Its parts live in ./schema/*.json (one file per kind, so each kind's
 * fields grow in their own file); this module composes them. The same object is
 *  - written to dist/flowloop.schema.json by the build and contributed to VS Code (`jsonValidation`),
 *  - compiled by ajv in core/experiment/validate.ts for the CLI, the worker and the extension's diagnostics.
 * Each kind's definition = base properties + its own, with additionalProperties: false (unknown keys are errors).
 */
type KindSchema = { description: string; properties: Record<string, unknown>; required?: string[] };
export const KIND_SCHEMAS: Record<string, KindSchema> = {
  flower: flower as KindSchema,
  afl: afl as KindSchema,
  sequential: sequential as KindSchema,
};

export function buildSchema(): Record<string, unknown> {
  const kinds = Object.keys(KIND_SCHEMAS);
  const defs: Record<string, unknown> = { sweep };
  for (const k of kinds) {
    const part = KIND_SCHEMAS[k];
    defs[k] = {
      type: 'object',
      description: part.description,
      additionalProperties: false,
      properties: { ...(base.properties as Record<string, unknown>), ...part.properties },
      required: [...new Set([...(base.required ?? []), ...(part.required ?? [])])],
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://flowloop.dev/schema/flowloop.schema.json',
    title: 'Flowloop experiment config',
    description: 'A Flowloop experiment (*.flowloop.json). Press ▶ Run in the CodeLens or run `npx flowloop run <file>`.',
    type: 'object',
    required: ['kind'],
    properties: { kind: base.properties.kind, $schema: base.properties.$schema },
    allOf: kinds.map((k) => ({ if: { properties: { kind: { const: k } }, required: ['kind'] }, then: { $ref: `#/definitions/${k}` } })),
    definitions: defs,
  };
}

/** Keywords that only constrain values (the editor's JSON service would report them a second time). */
const CONSTRAINTS = new Set([
  'required',
  'additionalProperties',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
  'type',
  'const',
  'minProperties',
  'maxProperties',
  'format',
  'not',
]);

/**
 * The schema VS Code's JSON service gets (`contributes.jsonValidation`, dist/flowloop.editor-schema.json):
 * the same properties, descriptions and defaults for completion and hover, allowed values as `examples`
 * (still offered as completions), and no constraints: every problem is reported once, by Flowloop's own
 * diagnostics (validate.ts: all problems at once, "did you mean", paths, the kinds' checks). The `if`
 * clauses that pick a kind's fields keep their `const`. With `sections` (docs/methods.md's headings,
 * citations.ts), every `docs/methods.md §A4` in a description names the section's title too (the hover).
 */
export function editorSchema(schema: Record<string, unknown> = buildSchema(), sections?: Record<string, string>): Record<string, unknown> {
  const strip = (v: unknown, keepConst = false): unknown => {
    if (Array.isArray(v)) return v.map((x) => strip(x, keepConst));
    if (!v || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'if') out[k] = strip(x, true);
      else if (k === 'enum')
        out.examples = x; // offered, not enforced
      else if (CONSTRAINTS.has(k) && !(keepConst && (k === 'const' || k === 'required'))) continue;
      else if (k === 'properties' || k === 'definitions')
        out[k] = Object.fromEntries(Object.entries(x as object).map(([p, s]) => [p, strip(s, keepConst)]));
      else out[k] = typeof x === 'object' ? strip(x, keepConst) : x;
    }
    return out;
  };
  const out = { ...(strip(schema) as Record<string, unknown>), $id: 'https://flowloop.dev/schema/flowloop.editor-schema.json' };
  return sections ? citeWithTitlesDeep(out, sections) : out;
}
