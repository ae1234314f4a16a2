/** 1-based line and column of a character offset in a text (a JSON parser's error or node offset → `file:line:col`). */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1,
    last = -1;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  return { line, col: offset - last };
}
