/**
 * A run's colour, the same in every panel (loss curves, runs table, run page): derived from the run's
 * identity (its id = run folder name), never from its order within a panel. FNV-1a of the id picks a slot
 * of the theme's chart palette (charts.ts `palette`); two runs can share a slot (1 in `n`), then the
 * legend's run name and the line style (per variant) still tell them apart.
 */
import { themeColor } from './dom';

/** Series colours from the theme's chart palette (--vscode-charts-*, then two terminal colours), with fallbacks. */
export function palette(): string[] {
  return [
    themeColor('--vscode-charts-blue', '#3794ff'),
    themeColor('--vscode-charts-orange', '#d18616'),
    themeColor('--vscode-charts-green', '#89d185'),
    themeColor('--vscode-charts-red', '#f14c4c'),
    themeColor('--vscode-charts-purple', '#b180d7'),
    themeColor('--vscode-charts-yellow', '#cca700'),
    themeColor('--vscode-terminal-ansiCyan', '#11a8cd'),
    themeColor('--vscode-terminal-ansiMagenta', '#bc3fbc'),
  ];
}

/** A run's colour in every panel: `offset` shifts it for a second metric of the same run in one chart. */
export function runColour(runId: string, offset = 0): string {
  const p = palette();
  return p[(runColourSlot(runId, p.length) + offset) % p.length];
}

export function runColourSlot(runId: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return n > 0 ? h % n : 0;
}
