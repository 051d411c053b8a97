/**
 * How `custos archive status` and `custos sync` show what the server took but this device
 * has not proven in its log yet: a declaration of lost records the server accepted, whose
 * `archive-gap` entry is missing (client archive/gap-proofs.ts), and a record batch the
 * server acknowledged, whose records' entries are missing (client archive/proofs.ts). An
 * honest server writes the log entries in the transaction that takes either, and signs a
 * checkpoint covering them up to about 250 ms later, so one a proof round finds still
 * missing from the log GAP_PROOF_OVERDUE_MS or more after is overdue (`waitedMs` is how long
 * after it was last found missing — never the device's clock alone): the server is broken or
 * withholding it (it is not trusted). Either way the records stay in the device's queue; the
 * text says so, since a user seeing them queued for days would otherwise have no way to tell
 * why.
 */
import type { AwaitingBatchProof, AwaitingGapProof } from '@custos/client';

/** "records 3–5", or "record 3". */
export function recordsText(first: number, last: number): string {
  return first === last ? `record ${first}` : `records ${first}–${last}`;
}

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
] as const;

/** How long `ms` is, in its two largest whole units (`3d 4h`, `1h`, `12m 5s`, `0s`). */
export function elapsedText(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(ms));
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  const shown = parts.filter((p, i) => i === 0 || !p.startsWith('0'));
  return shown.length === 0 ? '0s' : shown.join(' ');
}

/** An ISO time without milliseconds. */
const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** "not in the log after 1h: the server may be withholding it". */
const missingText = (waitedMs: number, pronoun: 'it' | 'them'): string =>
  `not in the log after ${elapsedText(waitedMs)}: the server may be withholding ${pronoun}`;

/** An overdue declaration: its acceptance time, and so its wait, are known (only then can it be overdue). */
export type OverdueGapProof = AwaitingGapProof & { readonly acceptedAt: number; readonly waitedMs: number };

/** The overdue ones of `gaps` (archive status `gapsAwaitingProof`). */
export function overdueGaps(gaps: readonly AwaitingGapProof[]): OverdueGapProof[] {
  return gaps.filter(
    (g): g is OverdueGapProof => g.overdue && g.acceptedAt !== undefined && g.waitedMs !== undefined,
  );
}

/**
 * "records 7–8 (bucket-disposed, log 50) accepted at 2030-01-15T00:00:00Z, not in the log
 * after 1h: the server may be withholding it".
 */
export function overdueGapText(g: OverdueGapProof): string {
  return (
    `${recordsText(g.firstSeq, g.lastSeq)} (${g.reason}, log ${g.logIndex}) accepted at ${iso(g.acceptedAt)}, ` +
    missingText(g.waitedMs, 'it')
  );
}

/** An overdue record batch: its acknowledgement time, and so its wait, are known. */
export type OverdueBatchProof = AwaitingBatchProof & {
  readonly acknowledgedAt: number;
  readonly waitedMs: number;
};

/** The overdue ones of `batches` (archive status `batchesAwaitingProof`). */
export function overdueBatches(batches: readonly AwaitingBatchProof[]): OverdueBatchProof[] {
  return batches.filter(
    (b): b is OverdueBatchProof => b.overdue && b.acknowledgedAt !== undefined && b.waitedMs !== undefined,
  );
}

/**
 * "records 0–999 acknowledged at 2030-01-15T00:00:00Z, not in the log after 1h: the server
 * may be withholding them".
 */
export function overdueBatchText(b: OverdueBatchProof): string {
  const pronoun = b.firstSeq === b.lastSeq ? 'it' : 'them';
  return `${recordsText(b.firstSeq, b.lastSeq)} acknowledged at ${iso(b.acknowledgedAt)}, ${missingText(b.waitedMs, pronoun)}`;
}
