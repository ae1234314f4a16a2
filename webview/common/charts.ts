/** Shared uPlot helpers for the loss and sweep charts: theme-coloured axes, a palette, EMA smoothing. */
import uPlot from 'uplot';
import { fmt, themeColor } from './dom';

export { palette, runColour } from './runColour';

/** Dash patterns that tell overlaid runs apart (run 0 solid). */
export const RUN_DASHES: (number[] | undefined)[] = [undefined, [6, 4], [2, 3], [10, 3, 2, 3], [1, 6]];

/** Axes coloured by the theme. */
export function themedAxes(xLabel: string, yLabel: string): uPlot.Axis[] {
  const fg = themeColor('--vscode-foreground', '#ccc');
  const grid = themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.3)');
  const font = `11px ${themeColor('--vscode-font-family', 'sans-serif')}`;
  const axis = (label: string): uPlot.Axis => ({
    label,
    stroke: fg,
    font,
    labelFont: font,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  });
  // y ticks: 3 significant digits, exponent for tiny values (learning rates), so 3e-4 never reads "0"
  return [
    axis(xLabel),
    { ...axis(yLabel), size: 60, values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : fmt(v, 3))) },
  ];
}

/**
 * Exponential moving average with TensorBoard's debiasing: s_t = w·s_{t-1} + (1−w)·x_t, divided by
 * (1 − w^t). `weight` 0 = raw values. Nulls/non-finite values pass through as null.
 */
export function ema(ys: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return ys;
  let last = 0,
    n = 0;
  return ys.map((y) => {
    if (y === null || !Number.isFinite(y)) return null;
    last = last * weight + (1 - weight) * y;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

export { uPlot };
