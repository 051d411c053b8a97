/**
 * Gap declarations in a custody manifest (version 3; docs/exports.md §5b). When a server
 * restore lost records a device had already let go, the device signs a declaration of
 * exactly the run it no longer holds, and the org's log holds it as an `archive-gap` entry
 * (docs/archive-format.md §6.1). Without it in the export, an auditor checking the export
 * offline saw a hole in the device's sequence and nothing else, while the log holds the
 * device's signed explanation. So the manifest carries each declaration of its devices that
 * falls in or touches the exported sequence numbers, with its log index and inclusion
 * proof, and `custos verify` checks it as it checks a record: the device's signature (the
 * device's key is the one its batches carry, which device-enrolments.ts ties to its
 * enrolment in the log), the proof to a signed checkpoint, and that the declared run is
 * exactly a hole of the export — no record of it is exported, it links to the exported
 * records around it, and it overlaps no other declaration. Every hole of a device's
 * exported sequence is then reported as declared lost, or as not explained by the export.
 */
import {
  decodeGapDeclaration,
  isCustosError,
  isGapReason,
  logEntryLeafHash,
  MAX_GAP_DECLARATION_BYTES,
  verifyGapDeclaration,
  verifyInclusion,
  type DeviceId,
  type GapDeclaration,
  type OrgId,
} from '@custos/core';
import { createHash } from 'node:crypto';
import { isUint } from '../json-values.js';
import { fromBase64, toBase64, toHex } from './byte-encoding.js';
import type { CustodyManifest } from './custody-manifest.js';
import { ExportError, type ExportErrorCode } from './export-error.js';
import type { ExportGapDeclaration } from './export-types.js';

/** One gap declaration as the manifest carries it. */
export interface CustodyGapDeclaration {
  readonly org: string;
  readonly device: string;
  /** First and last sequence number the device declared lost (as the signed document says). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** `server-restored`, `device-lost` or `bucket-disposed` (core GAP_REASONS), as the signed document says. */
  readonly reason: string;
  /** Leaf index of the declaration's `archive-gap` entry, and the entry's time. */
  readonly logIndex: number;
  readonly loggedAt: number;
  /** Index into the manifest's `checkpoints`. */
  readonly checkpoint: number;
  /** base64 proof hashes, leaf's sibling first. */
  readonly proof: readonly string[];
  /** base64 of the signed declaration document, exactly as the device uploaded it. */
  readonly document: string;
}

/** A run a device declared lost, as `custos verify` reports it. */
export type DeclaredLostRun = Pick<
  CustodyGapDeclaration,
  'org' | 'device' | 'firstSeq' | 'lastSeq' | 'reason' | 'logIndex'
>;

/** Sequence numbers of a device missing between its exported records that no declaration covers. */
export type SequenceHole = Pick<CustodyGapDeclaration, 'org' | 'device' | 'firstSeq' | 'lastSeq'>;

/** What the gap checks established about the devices' exported sequences. */
export interface GapReport {
  /**
   * `verified`: a version-3 manifest, every declaration it carries checked; `not-carried`:
   * a version-1 or -2 manifest, which carries none (every hole is then unexplained).
   */
  readonly gapDeclarations: 'verified' | 'not-carried';
  /** The declared runs, by org, device and first sequence number. */
  readonly declaredLost: readonly DeclaredLostRun[];
  /**
   * Holes between a device's exported records that no declaration covers: records the
   * export's selection left out, or records missing from the archive.
   */
  readonly unexplainedHoles: readonly SequenceHole[];
}

// custody-manifest.ts's CUSTODY_MANIFEST_FILE, not imported as a value: that module imports this one.
const MANIFEST_FILE = 'custody-manifest.json';
const fail = (code: ExportErrorCode, message: string, field: string, cause?: unknown): ExportError =>
  new ExportError(code, message, { file: MANIFEST_FILE, field }, cause);
const why = (e: unknown): string => (isCustosError(e) || e instanceof Error ? e.message : 'unknown error');
const deviceKey = (org: string, device: string): string => `${org}\n${device}`;
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const byRun = (
  a: { org: string; device: string; firstSeq: number },
  b: { org: string; device: string; firstSeq: number },
): number =>
  a.org < b.org
    ? -1
    : a.org > b.org
      ? 1
      : a.device < b.device
        ? -1
        : a.device > b.device
          ? 1
          : a.firstSeq - b.firstSeq;

/**
 * The manifest entries of `declarations` (their facts read from the signed documents),
 * sorted by org, device and first sequence number; `checkpointIndex` gives each proof's
 * checkpoint its index in the manifest. Throws EXPORT_INVALID_INPUT for a document that
 * is not a gap declaration.
 */
export function custodyGapsOf(
  declarations: readonly ExportGapDeclaration[],
  checkpointIndex: (note: string) => number,
): CustodyGapDeclaration[] {
  const out = declarations.map((g): CustodyGapDeclaration => {
    let d: GapDeclaration;
    try {
      d = decodeGapDeclaration(g.document).declaration;
    } catch (e) {
      throw new ExportError(
        'EXPORT_INVALID_INPUT',
        `the gap declaration at log index ${g.log.index} is not a gap declaration document: ${why(e)}`,
        {},
        e,
      );
    }
    return {
      org: d.org,
      device: d.device,
      firstSeq: d.firstSeq,
      lastSeq: d.lastSeq,
      reason: d.reason,
      logIndex: g.log.index,
      loggedAt: g.log.loggedAt,
      checkpoint: checkpointIndex(g.log.checkpoint),
      proof: g.log.proof.map(toBase64),
      document: toBase64(g.document),
    };
  });
  return out.sort((a, b) => byRun(a, b) || a.logIndex - b.logIndex);
}

/**
 * Checks the shape of a version-3 manifest's `gapDeclarations` (every field typed and in
 * range, every checkpoint index resolving); `malformed` makes the parser's error.
 */
export function parseCustodyGaps(
  v: unknown,
  checkpoints: number,
  malformed: (m: string) => ExportError,
): void {
  if (!Array.isArray(v)) throw malformed('gapDeclarations is not a list');
  v.forEach((g: unknown, i) => {
    const w = `gapDeclarations[${i}]`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw malformed(`${w} is not an object`);
    const o = g as Record<string, unknown>;
    for (const k of ['org', 'device']) {
      const v = o[k];
      if (typeof v !== 'string' || v.length === 0) throw malformed(`${w}.${k} is not a non-empty string`);
    }
    for (const k of ['firstSeq', 'lastSeq', 'logIndex', 'loggedAt', 'checkpoint'])
      if (!isUint(o[k])) throw malformed(`${w}.${k} is not a non-negative integer`);
    if ((o.lastSeq as number) < (o.firstSeq as number))
      throw malformed(`${w}.lastSeq is before its firstSeq`);
    if (!isGapReason(o.reason)) throw malformed(`${w}.reason is not a gap reason`);
    if ((o.checkpoint as number) >= checkpoints) throw malformed(`${w}.checkpoint names no checkpoint`);
    if (
      !Array.isArray(o.proof) ||
      !o.proof.every((p) => typeof p === 'string' && fromBase64(p)?.length === 32)
    )
      throw malformed(`${w}.proof is not a list of canonical base64 hashes of 32 bytes`);
    const doc = typeof o.document === 'string' ? fromBase64(o.document) : undefined;
    if (doc === undefined || doc.length === 0 || doc.length > MAX_GAP_DECLARATION_BYTES)
      throw malformed(`${w}.document is not canonical base64 of 1–${MAX_GAP_DECLARATION_BYTES} bytes`);
  });
}

/**
 * Checks every gap declaration of `m` against the device's key, the log and the exported
 * records (the custody checks of the records ran first), and reports the devices' holes:
 * declared, or not explained. `roots` are the manifest's checkpoints, verified.
 */
export function checkGapDeclarations(
  m: CustodyManifest,
  roots: readonly { readonly treeSize: number; readonly rootHash: Uint8Array }[],
): GapReport {
  const present = new Map<string, Map<number, { hash: string; prev: string }>>();
  for (const r of m.records) {
    const k = deviceKey(r.org, r.device);
    let seqs = present.get(k);
    if (seqs === undefined) present.set(k, (seqs = new Map<number, { hash: string; prev: string }>()));
    seqs.set(r.seq, r);
  }
  const sorted = new Map([...present].map(([k, s]) => [k, [...s.keys()].sort((a, b) => a - b)]));
  const keyOf = new Map<string, string>();
  for (const b of m.batches) {
    const k = deviceKey(b.org, b.device);
    if (!keyOf.has(k)) keyOf.set(k, b.identityKey);
  }
  const decls = m.gapDeclarations ?? [];
  decls.forEach((g, i) => checkOne(g, i, roots, keyOf, present, sorted));
  // Overlaps, per device in run order (the manifest is sorted so; a reordered one is still checked).
  const order = decls.map((g, i) => ({ g, i })).sort((a, b) => byRun(a.g, b.g));
  for (let j = 1; j < order.length; j++) {
    const a = order[j - 1]!;
    const b = order[j]!;
    if (a.g.org === b.g.org && a.g.device === b.g.device && b.g.firstSeq <= a.g.lastSeq)
      throw fail(
        'GAP_DECLARATION_CONFLICT',
        `${runOf(b.g)} overlaps the declaration of records ${a.g.firstSeq}–${a.g.lastSeq} (log index ${a.g.logIndex}): two declarations cannot both be the device's account of those records`,
        `gapDeclarations[${b.i}]`,
      );
  }
  return {
    gapDeclarations: m.version >= 3 ? 'verified' : 'not-carried',
    declaredLost: order.map(({ g }) => ({
      org: g.org,
      device: g.device,
      firstSeq: g.firstSeq,
      lastSeq: g.lastSeq,
      reason: g.reason,
      logIndex: g.logIndex,
    })),
    unexplainedHoles: unexplained(
      sorted,
      order.map((o) => o.g),
    ),
  };
}

const runOf = (g: CustodyGapDeclaration): string =>
  `gap declaration of device ${g.device}, records ${g.firstSeq}–${g.lastSeq} (log index ${g.logIndex})`;

function checkOne(
  g: CustodyGapDeclaration,
  i: number,
  roots: readonly { readonly treeSize: number; readonly rootHash: Uint8Array }[],
  keyOf: ReadonlyMap<string, string>,
  present: ReadonlyMap<string, ReadonlyMap<number, { hash: string; prev: string }>>,
  sorted: ReadonlyMap<string, readonly number[]>,
): void {
  const field = `gapDeclarations[${i}]`;
  const who = runOf(g);
  const k = deviceKey(g.org, g.device);
  const identityKey = keyOf.get(k);
  const seqs = sorted.get(k);
  if (identityKey === undefined || seqs === undefined)
    throw fail(
      'GAP_DECLARATION_INVALID',
      `${who}: the export holds no record of that device, so nothing ties the declaration to the exported sequence or to the device's key`,
      field,
    );
  const document = Buffer.from(g.document, 'base64');
  // 1. The device's signature, with the identity key its batches carry (checked against its enrolment next).
  let d: GapDeclaration;
  try {
    d = decodeGapDeclaration(document).declaration;
  } catch (e) {
    throw fail(
      'GAP_DECLARATION_INVALID',
      `${who}: the document is not a gap declaration: ${why(e)}`,
      field,
      e,
    );
  }
  try {
    verifyGapDeclaration(Buffer.from(identityKey, 'base64'), document);
  } catch (e) {
    throw fail(
      'SIGNATURE_INVALID',
      `${who}: the device signature does not verify with the device's identity key: ${why(e)}`,
      field,
      e,
    );
  }
  if (
    d.org !== g.org ||
    d.device !== g.device ||
    d.firstSeq !== g.firstSeq ||
    d.lastSeq !== g.lastSeq ||
    d.reason !== g.reason
  )
    throw fail(
      'GAP_DECLARATION_INVALID',
      `${who}: the manifest's org, device, records or reason differ from the signed document's (${d.device}, records ${d.firstSeq}–${d.lastSeq}, ${d.reason})`,
      field,
    );
  // 2. Its archive-gap entry, rebuilt from the signed facts, is in the log.
  const cp = roots[g.checkpoint]!;
  try {
    const leaf = logEntryLeafHash({
      type: 'archive-gap',
      hash: sha256(document),
      size: document.length,
      actor: g.device,
      time: g.loggedAt,
      org: g.org as OrgId,
      device: g.device as DeviceId,
      seq: g.firstSeq,
      end: g.lastSeq,
      reason: d.reason,
    });
    verifyInclusion(
      leaf,
      g.logIndex,
      cp.treeSize,
      g.proof.map((p) => Buffer.from(p, 'base64')),
      cp.rootHash,
    );
  } catch (e) {
    throw fail('PROOF_INVALID', `${who}: not proven in the log at index ${g.logIndex}: ${why(e)}`, field, e);
  }
  // 3. Exactly a hole of the export: in or beside the device's exported run, none of its
  // records exported, and linking to the exported records on either side.
  const first = seqs[0]!;
  const last = seqs[seqs.length - 1]!;
  if (g.lastSeq + 1 < first || g.firstSeq > last + 1)
    throw fail(
      'GAP_DECLARATION_CONFLICT',
      `${who}: the run neither falls in nor touches the device's exported records ${first}–${last}`,
      field,
    );
  const inside = seqs[lowerBound(seqs, g.firstSeq)];
  if (inside !== undefined && inside <= g.lastSeq)
    throw fail(
      'GAP_DECLARATION_CONFLICT',
      `${who}: declares record ${inside} lost, which the export holds`,
      field,
    );
  const mine = present.get(k)!;
  const before = mine.get(g.firstSeq - 1);
  if (before !== undefined && before.hash !== toHex(d.prev))
    throw fail(
      'GAP_DECLARATION_CONFLICT',
      `${who}: does not follow exported record ${g.firstSeq - 1} (the declaration's prev is not that record's hash)`,
      field,
    );
  const after = mine.get(g.lastSeq + 1);
  if (after !== undefined && after.prev !== toHex(d.resume))
    throw fail(
      'GAP_DECLARATION_CONFLICT',
      `${who}: exported record ${g.lastSeq + 1} does not link to the declaration (its prev is not the declared resume hash)`,
      field,
    );
}

/** Index of the first element of ascending `xs` that is at least `x` (xs.length when none). */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The holes between each device's exported records (ascending `sorted`) that no declared run covers. */
function unexplained(
  sorted: ReadonlyMap<string, readonly number[]>,
  declared: readonly CustodyGapDeclaration[],
): SequenceHole[] {
  const runs = new Map<string, CustodyGapDeclaration[]>();
  for (const g of declared) {
    const k = deviceKey(g.org, g.device);
    runs.set(k, [...(runs.get(k) ?? []), g]);
  }
  const out: SequenceHole[] = [];
  for (const [k, seqs] of [...sorted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [org, device] = k.split('\n') as [string, string];
    const mine = runs.get(k) ?? [];
    for (let j = 1; j < seqs.length; j++) {
      let from = seqs[j - 1]! + 1;
      const to = seqs[j]! - 1;
      // Declared runs never overlap and cover no exported record (checked above), so within
      // one hole they are disjoint and ascending.
      for (const g of mine) {
        if (g.lastSeq < from || g.firstSeq > to) continue;
        if (g.firstSeq > from) out.push({ org, device, firstSeq: from, lastSeq: g.firstSeq - 1 });
        from = g.lastSeq + 1;
      }
      if (from <= to) out.push({ org, device, firstSeq: from, lastSeq: to });
    }
  }
  return out;
}
