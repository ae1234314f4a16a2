/**
 * Plain-text results tables (the CLI's stdout, a sweep's and the baselines' summary tables): number
 * formatting and column alignment. Kept out of core/cli so that core/experiment can use it without
 * depending on the command-line front door.
 */

/** A number as tables show it: integers as they are, else 4 decimals or 4 significant digits in exponent form. */
export function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** Plain-text table with aligned columns (results printed to stdout). */
export function formatTable(header: string[], rows: (string | number)[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) => String(c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
