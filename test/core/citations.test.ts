import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { citeWithTitles, methodsSections } from '../../core/experiment/citations';
import { buildSchema, editorSchema } from '../../core/experiment/schema';
import { ROOT } from '../../harness/paths';

const sections = methodsSections(readFileSync(join(ROOT, 'docs', 'methods.md'), 'utf8'));
// a citation whose id has no heading would stay bare: the pattern below finds those
const BARE = /docs\/methods\.md (?:§[A-Z]\d*[a-z]?|Part [A-Z])(?![\w])(?! “)/g;

test('docs/methods.md headings give the section titles (A-sections, B-sections, §C, the parts)', () => {
  for (const id of ['A3', 'A4', 'A6b', 'A9', 'B2', 'B6', 'C', 'Part A', 'Part B'])
    assert.ok(sections[id], `no heading for ${id}: ${JSON.stringify(sections)}`);
  assert.match(sections.A4, /sub-trajectory balance/i);
});

test('citations name their sections: single, lists, slashes, parts; unknown ids left as written; idempotent', () => {
  const t = citeWithTitles(
    'see (docs/methods.md §A4) and docs/methods.md §A8, A9/§B3; docs/methods.md Part B; docs/methods.md §Z9',
    sections,
  );
  assert.equal(
    t,
    `see (docs/methods.md §A4 “${sections.A4}”) and docs/methods.md §A8 “${sections.A8}”, A9 “${sections.A9}”/§B3 “${sections.B3}”; docs/methods.md Part B “${sections['Part B']}”; docs/methods.md §Z9`,
  );
  assert.equal(citeWithTitles(t, sections), t);
});

test('every citation in the editor schema (the hovers) and the example descriptions (the template picker) names an existing section', () => {
  const schema = JSON.stringify(editorSchema(buildSchema(), sections));
  const bareInSchema = [...new Set(schema.match(BARE) ?? [])];
  assert.deepEqual(bareInSchema, [], 'editor schema citations without a title (no such heading in docs/methods.md?)');
  assert.ok(schema.includes(`§A4 “${sections.A4}”`), 'the schema cites §A4 with its title');
  const examples = join(ROOT, 'examples');
  const files = readdirSync(examples, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.flowloop.json') && statSync(join(examples, f)).isFile());
  const bare: string[] = [];
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(examples, f), 'utf8')).description;
    if (typeof d === 'string') bare.push(...(citeWithTitles(d, sections).match(BARE) ?? []).map((m) => `${f}: ${m}`));
  }
  assert.deepEqual(bare, []);
});
