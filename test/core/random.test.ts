import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/util/random';

test('Rng with the same seed repeats its stream; different seeds differ', () => {
  const a = new Rng(7),
    b = new Rng(7),
    c = new Rng(8);
  const sa = Array.from({ length: 5 }, () => a.next());
  const sb = Array.from({ length: 5 }, () => b.next());
  const sc = Array.from({ length: 5 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const x of sa) assert.ok(x >= 0 && x < 1, `out of [0,1): ${x}`);
});
