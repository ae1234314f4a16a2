import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../harness/paths';
import { describeConfig } from '../../extension/viewState';
import { paperMethod, table4Key } from '../../webview/compare/paper';

const example = (name: string) => JSON.parse(readFileSync(join(ROOT, 'examples', `${name}.flowloop.json`), 'utf8'));

test('a run config names its dataset and method so the compare view finds the paper row', () => {
  const cases: [string, string, string | undefined, string | undefined][] = [
    // example, expected method, expected paper row, expected Table 4 dataset
    ['flower-movies-flower', 'flower', 'Flower', 'Movies_and_TV'],
    ['flower-movies-sft', 'sft', 'BIGRec', 'Movies_and_TV'],
    ['flower-movies-ifairlrs', 'ifairlrs', 'IFairLRS', 'Movies_and_TV'],
    ['flower-cds-flower', 'flower', 'Flower', 'CDs_and_Vinyl'],
    ['sequential-cds-sasrec', 'sasrec', 'SASRec', 'CDs_and_Vinyl'],
    ['afl-lastfm', 'rule-based', undefined, undefined],
  ];
  for (const [name, method, row, ds] of cases) {
    const c = example(name);
    if (name === 'afl-lastfm') c.agents ??= 'rule-based'; // the schema default, as in a resolved config.json
    const d = describeConfig(c);
    assert.equal(d.method, method, `${name}: method ${d.method}, expected ${method}`);
    assert.equal(paperMethod(d.method), row, `${name}: paper row ${paperMethod(d.method)}, expected ${row}`);
    assert.equal(table4Key(d.dataset), ds, `${name}: dataset ${d.dataset} → ${table4Key(d.dataset)}, expected ${ds}`);
  }
});

test('distribution-mode configs list every compared objective; unreadable configs describe nothing', () => {
  const demo = JSON.parse(readFileSync(join(ROOT, 'examples', 'rq1', 'demo.flowloop.json'), 'utf8'));
  assert.equal(describeConfig(demo).method, (demo.compare as string[]).join('+'));
  assert.deepEqual(describeConfig(undefined), {});
  assert.deepEqual(describeConfig({ kind: 'flower' } as any), { dataset: undefined, method: undefined });
});
