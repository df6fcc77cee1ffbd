/**
 * Figures as the suite reports them: the median of several runs with the fastest and slowest, so a
 * reader sees the spread (on shared cores it is wide) and not one lucky number.
 */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function summarize(values: readonly number[], digits = 2): Summary {
  return {
    median: round(median(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
    runs: values.map((value) => round(value, digits)),
  };
}

/** "12.3 (11.9-13.0)": median with min-max, the suite's one way of printing a Summary. */
export function formatSummary(summary: Summary, unit = '', digits?: number): string {
  const show = (value: number): string => formatNumber(value, digits);
  if (summary.runs.length <= 1 || summary.min === summary.max) return `${show(summary.median)}${unit}`;
  return `${show(summary.median)}${unit} (${show(summary.min)}-${show(summary.max)})`;
}

export function formatNumber(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const places = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: places, maximumFractionDigits: places });
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
