/**
 * The benchmark harness behind `npm run bench`.
 *
 * Every file in `bench/suites/` exports `cases: BenchCase[]`. A case is measured in
 * several samples; its baseline (if any) is measured in the same process, with samples
 * interleaved with the case's own so that machine noise hits both alike. The table
 * reports medians, the ratio to the baseline and whether the target is met.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One timed unit of work: returns how many operations it performed. */
export type SampleFn = () => number | Promise<number>;

/** A throughput benchmark: operations per second, higher is better. */
export interface RateCase {
  readonly kind: 'rate';
  readonly name: string;
  readonly unit: string;
  readonly run: SampleFn;
  readonly baseline?: { readonly name: string; readonly run: SampleFn };
  /** `min`: median rate at least this; `minRatio`: median / baseline median at least this. */
  readonly target?: { readonly min?: number; readonly minRatio?: number };
  readonly samples?: number;
  readonly setup?: () => void | Promise<void>;
  readonly teardown?: () => void | Promise<void>;
}

/** A measured value (latency, memory); `lowerIsBetter` decides the sense of the target. */
export interface ValueCase {
  readonly kind: 'value';
  readonly name: string;
  readonly unit: string;
  readonly measure: () => number | Promise<number>;
  readonly baseline?: { readonly name: string; readonly measure: () => number | Promise<number> };
  readonly lowerIsBetter: boolean;
  readonly target?: { readonly max?: number; readonly min?: number; readonly maxRatio?: number };
  readonly samples?: number;
  /**
   * Rounds of each side (case and baseline) before the samples, discarded (`true`: one, as every
   * rate case gets): for values measured on a running system (a latency), so JIT, caches and
   * the heap are warm for both sides. Never for a case whose measure uses up its data (a disposition).
   */
  readonly warmup?: boolean | number;
  readonly setup?: () => void | Promise<void>;
  readonly teardown?: () => void | Promise<void>;
}

/** Any benchmark case. */
export type BenchCase = RateCase | ValueCase;

/** One row of the result table. */
export interface BenchResult {
  readonly suite: string;
  readonly name: string;
  readonly unit: string;
  readonly median: number;
  readonly baselineName: string | null;
  readonly baselineMedian: number | null;
  readonly ratio: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

const DEFAULT_SAMPLES = 7;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeRate(run: SampleFn): Promise<number> {
  const start = performance.now();
  const ops = await run();
  const seconds = (performance.now() - start) / 1000;
  return ops / seconds;
}

async function measureRate(suite: string, c: RateCase): Promise<BenchResult> {
  const samples = c.samples ?? DEFAULT_SAMPLES;
  const own: number[] = [];
  const base: number[] = [];
  // One warm-up round of each, discarded, so JIT and caches are warm for both.
  await c.run();
  if (c.baseline) await c.baseline.run();
  // Interleaved in ABBA order (baseline first in even rounds, the case first in odd ones), so
  // neither side always runs right after the other: drift and warm-up hit both alike.
  for (let i = 0; i < samples; i++) {
    if (c.baseline && i % 2 === 0) base.push(await timeRate(c.baseline.run));
    own.push(await timeRate(c.run));
    if (c.baseline && i % 2 === 1) base.push(await timeRate(c.baseline.run));
  }
  const m = median(own);
  const b = c.baseline ? median(base) : null;
  const ratio = b === null ? null : m / b;
  const parts: string[] = [];
  let met: boolean | null = null;
  if (c.target?.min !== undefined) {
    parts.push(`≥ ${fmt(c.target.min)} ${c.unit}`);
    met = m >= c.target.min;
  }
  if (c.target?.minRatio !== undefined && ratio !== null) {
    parts.push(`ratio ≥ ${c.target.minRatio}`);
    met = (met ?? true) && ratio >= c.target.minRatio;
  }
  return {
    suite,
    name: c.name,
    unit: c.unit,
    median: m,
    baselineName: c.baseline?.name ?? null,
    baselineMedian: b,
    ratio,
    target: parts.join(', ') || '—',
    met,
  };
}

async function measureValue(suite: string, c: ValueCase): Promise<BenchResult> {
  const samples = c.samples ?? DEFAULT_SAMPLES;
  const own: number[] = [];
  const base: number[] = [];
  const warmups = c.warmup === true ? 1 : c.warmup === false || c.warmup === undefined ? 0 : c.warmup;
  for (let i = 0; i < warmups; i++) {
    if (c.baseline) await c.baseline.measure();
    await c.measure();
  }
  for (let i = 0; i < samples; i++) {
    if (c.baseline) base.push(await c.baseline.measure());
    own.push(await c.measure());
  }
  const m = median(own);
  const b = c.baseline ? median(base) : null;
  const ratio = b === null || b === 0 ? null : m / b;
  const parts: string[] = [];
  let met: boolean | null = null;
  if (c.target?.max !== undefined) {
    parts.push(`≤ ${fmt(c.target.max)} ${c.unit}`);
    met = m <= c.target.max;
  }
  if (c.target?.min !== undefined) {
    parts.push(`≥ ${fmt(c.target.min)} ${c.unit}`);
    met = (met ?? true) && m >= c.target.min;
  }
  if (c.target?.maxRatio !== undefined && ratio !== null) {
    parts.push(`ratio ≤ ${c.target.maxRatio}`);
    met = (met ?? true) && ratio <= c.target.maxRatio;
  }
  return {
    suite,
    name: c.name,
    unit: c.unit,
    median: m,
    baselineName: c.baseline?.name ?? null,
    baselineMedian: b,
    ratio,
    target: parts.join(', ') || '—',
    met,
  };
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

function table(rows: readonly BenchResult[]): string {
  const header = ['suite', 'case', 'median', 'unit', 'baseline', 'baseline median', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    fmt(r.median),
    r.unit,
    r.baselineName ?? '—',
    r.baselineMedian === null ? '—' : fmt(r.baselineMedian),
    r.ratio === null ? '—' : r.ratio.toFixed(2),
    r.target,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join(
    '\n',
  );
}

/** Loads every suite (optionally only those whose file name contains `filter`) and prints the table. */
export async function runSuites(filter: string | undefined, json = false): Promise<readonly BenchResult[]> {
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'suites');
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.js') && (!filter || f.includes(filter)))
    .sort();
  const results: BenchResult[] = [];
  for (const file of files) {
    const suite = file.replace(/\.js$/, '');
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { cases?: readonly BenchCase[] };
    for (const c of mod.cases ?? []) {
      if (!json) process.stderr.write(`bench: ${suite} — ${c.name} …\n`);
      await c.setup?.();
      try {
        results.push(c.kind === 'rate' ? await measureRate(suite, c) : await measureValue(suite, c));
      } finally {
        await c.teardown?.();
      }
    }
  }
  process.stdout.write(json ? JSON.stringify(results, null, 2) + '\n' : table(results) + '\n');
  return results;
}
