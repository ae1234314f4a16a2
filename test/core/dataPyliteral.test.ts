/** The Python-literal parser used for the Amazon CSV list cells (docs/methods.md §A10). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyLiteralError, parsePyIntList, parsePyLiteral, parsePyNumberList, parsePyStringList } from '../../core/data/pyliteral';

test('lists of strings: single/double quotes, commas, apostrophes inside, empty list', () => {
  assert.deepEqual(parsePyStringList(`['a, b', "Pure 60's: The #1 Hits", '"quoted"', '']`), [
    'a, b',
    "Pure 60's: The #1 Hits",
    '"quoted"',
    '',
  ]);
  assert.deepEqual(parsePyStringList('[]'), []);
  assert.deepEqual(parsePyStringList("[ 'x' ,\n 'y' , ]"), ['x', 'y']); // trailing comma and newlines are legal Python
});

test('escapes follow Python: \\\\ \\\' \\" \\n \\t \\x \\u \\U octal, unknown escapes keep the backslash, raw strings', () => {
  assert.deepEqual(
    parsePyStringList(String.raw`['A\\B', 'Collector\'s', "say \"hi\"", 'l1\nl2\t', '\xe9\u00e9\U0001F600', '\101\0', 'keep\D']`),
    ['A\\B', "Collector's", 'say "hi"', 'l1\nl2\t', 'éé😀', 'A\0', 'keep\\D'],
  );
  assert.deepEqual(parsePyLiteral(String.raw`r'a\nb'`), 'a\\nb');
  assert.deepEqual(parsePyLiteral(`'ab' "cd"`), 'abcd');
  assert.deepEqual(parsePyLiteral(`'''tri'ple'''`), "tri'ple");
});

test('numbers, booleans, None, nesting and tuples', () => {
  assert.deepEqual(parsePyNumberList('[5.0, 4, -1.5e3, 1_000, .5]'), [5, 4, -1500, 1000, 0.5]);
  assert.deepEqual(parsePyIntList('[1518134400, 0]'), [1518134400, 0]);
  assert.deepEqual(parsePyLiteral("[True, False, None, (1, 'a'), [[]]]"), [true, false, null, [1, 'a'], [[]]]);
});

test('malformed literals throw PyLiteralError with the column', () => {
  const col = (text: string, f: (t: string) => unknown = parsePyLiteral) => {
    try {
      f(text);
    } catch (e) {
      assert.ok(e instanceof PyLiteralError, String(e));
      return e.column;
    }
    assert.fail(`no error for ${text}`);
  };
  assert.equal(col("['abc"), 2); // unterminated string starting at column 2
  assert.equal(col("['a' 'b'"), 1); // unclosed '[' (adjacent strings concatenate first)
  assert.equal(col("['a'; 'b']"), 5); // ';' is not a separator
  assert.equal(col("['a'] x"), 7); // trailing garbage
  assert.equal(col(String.raw`['\x4']`), 3); // bad \x escape
  assert.equal(col('[1, 2.5]', parsePyIntList), 1);
  assert.equal(col("[1, 'a']", parsePyStringList), 1);
});
