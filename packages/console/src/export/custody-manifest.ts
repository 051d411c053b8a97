/**
 * The custody manifest (docs/exports.md §5): for every exported record its hash, header
 * facts, log index, inclusion proof and the batch signature that covers it; the signed
 * checkpoints and the log verifier key. With `sealed-records.bin` (the records' exact
 * sealed bytes, concatenated) it lets anyone re-check the chain of custody offline.
 */
import { parseCheckpoint } from '@custos/core';
import { isUint } from '../json-values.js';
import { custodyGapsOf, parseCustodyGaps, type CustodyGapDeclaration } from './custody-gaps.js';
import { ExportError, parseExportJson } from './export-error.js';
import {
  fromBase64,
  fromBase64Url,
  fromHex,
  isoUtc,
  sha256Hex,
  toBase64,
  toBase64Url,
  toHex,
} from './byte-encoding.js';
import type { ExportFormat, ExportInput } from './export-types.js';

/** Value of the manifest's `format` field. */
export const CUSTODY_MANIFEST_FORMAT = 'custos-custody-manifest';
/**
 * Version of the custody manifest layout written: 2 adds each record's `recordKey` and the
 * rendering context (`application`, `displayNames`) so that `custos verify` can open every
 * record and compare it with the exported text (docs/exports.md §5, §7); 3 adds the
 * devices' signed gap declarations (`gapDeclarations`, custody-gaps.ts), so that a hole a
 * device declared lost is shown as its signed statement, proven in the log.
 */
export const CUSTODY_MANIFEST_VERSION = 3;
/** Versions `custos verify` reads: 1 (custody only; text not bound), 2 (no gap declarations) and 3. */
export const CUSTODY_MANIFEST_VERSIONS = [1, 2, 3] as const;
/** One of {@link CUSTODY_MANIFEST_VERSIONS}. */
export type CustodyManifestVersion = (typeof CUSTODY_MANIFEST_VERSIONS)[number];
/** Length of a record key in bytes. */
const RECORD_KEY_BYTES = 32;
/** File name of the custody manifest in every export. */
export const CUSTODY_MANIFEST_FILE = 'custody-manifest.json';
/** File name of the concatenated sealed records. */
export const SEALED_RECORDS_FILE = 'sealed-records.bin';

/** A device batch as the manifest carries it. */
export interface CustodyBatch {
  readonly org: string;
  readonly device: string;
  /** base64 of the 33-byte identity key. */
  readonly identityKey: string;
  readonly firstSeq: number;
  /** base64 of the 64-byte signature. */
  readonly signature: string;
  /** Hex record hashes the batch signs, in sequence order. */
  readonly hashes: readonly string[];
}

/** One record as the manifest carries it. */
export interface CustodyRecord {
  readonly hash: string;
  readonly org: string;
  readonly device: string;
  readonly bucket: string;
  readonly seq: number;
  readonly prev: string;
  /** Byte length of the sealed record, and where it starts in sealed-records.bin. */
  readonly size: number;
  readonly offset: number;
  readonly logIndex: number;
  readonly loggedAt: number;
  /** Index into `checkpoints`. */
  readonly checkpoint: number;
  /** base64 proof hashes, leaf's sibling first. */
  readonly proof: readonly string[];
  /** Index into `batches`. */
  readonly batch: number;
  readonly messageId: string;
  readonly conversation: string;
  readonly kind: string;
  /**
   * Version 2 and later: base64url of the record's own 32-byte key, which opens this record alone
   * (docs/archive-format.md §4.2). MUST NOT log: key material.
   */
  readonly recordKey?: string;
}

/** The whole custody manifest. */
export interface CustodyManifest {
  readonly format: typeof CUSTODY_MANIFEST_FORMAT;
  readonly version: CustodyManifestVersion;
  readonly generator: string;
  readonly exportId: string;
  readonly exportedAt: string;
  readonly exportFormat: ExportFormat;
  readonly custodian: string;
  /** Earliest and latest event time (sender's clock) of the records, ISO 8601 UTC. */
  readonly range: { readonly begin: string; readonly end: string };
  /** Version 2 and later: the application name the renderings show. */
  readonly application?: string;
  /**
   * Version 2 and later: the display names the renderings show, by user address (sorted; only
   * addresses the records name). Context the exporting officer supplied, not record content.
   */
  readonly displayNames?: Readonly<Record<string, string>>;
  readonly log: { readonly origin: string; readonly verifierKey: string };
  /** Signed checkpoint notes, verbatim. */
  readonly checkpoints: readonly string[];
  readonly batches: readonly CustodyBatch[];
  readonly sealedRecords: { readonly file: string; readonly sha256: string; readonly size: number };
  readonly records: readonly CustodyRecord[];
  /**
   * Version 3: the records' devices' signed gap declarations that fall in or touch the
   * exported sequence numbers, each with its log proof (custody-gaps.ts); sorted by org,
   * device and first sequence number; empty when none.
   */
  readonly gapDeclarations?: readonly CustodyGapDeclaration[];
}

/** Generator string written into exports. */
export const EXPORT_GENERATOR = 'Custos export 1';

/** A built manifest with the sealed-records blob it describes. */
export interface BuiltCustody {
  readonly manifest: CustodyManifest;
  readonly sealed: Uint8Array;
}

const bad = (m: string): ExportError => new ExportError('EXPORT_INVALID_INPUT', m);

/**
 * Builds the custody manifest and sealed-records blob for `input` (records in the given
 * order). Versions 2 and 3 (the default) need every record's `recordKey`; only version 3
 * carries gap declarations; versions 1 and 2 are kept for reading old exports and for tests.
 */
export function buildCustody(
  input: ExportInput,
  exportFormat: ExportFormat,
  exportId: string,
  application: string,
  version: CustodyManifestVersion = CUSTODY_MANIFEST_VERSION,
): BuiltCustody {
  const { records } = input;
  if (records.length === 0) throw bad('nothing to export: no records');
  if (version >= 2)
    for (const r of records)
      if (r.recordKey?.length !== RECORD_KEY_BYTES)
        throw bad(
          `record ${toHex(r.hash).slice(0, 16)}… has no record key; a version-${version} custody manifest carries every record's key`,
        );
  const gaps = input.gapDeclarations ?? [];
  if (version < 3 && gaps.length > 0)
    throw bad(`a version-${version} custody manifest cannot carry gap declarations; write version 3`);
  const checkpoints: string[] = [];
  const cpIndex = new Map<string, number>();
  const batches: CustodyBatch[] = [];
  const batchIndex = new Map<string, number>();
  let total = 0;
  for (const r of records) total += r.sealed.length;
  const sealed = new Uint8Array(total);
  let offset = 0;
  let begin = Infinity;
  let end = -Infinity;
  const out: CustodyRecord[] = records.map((r) => {
    const h = r.header;
    let cp = cpIndex.get(r.log.checkpoint);
    if (cp === undefined) {
      cp = checkpoints.push(r.log.checkpoint) - 1;
      cpIndex.set(r.log.checkpoint, cp);
    }
    const sig = toBase64(r.batch.signature);
    const batchKey = `${h.org}\n${h.device}\n${sig}`;
    let b = batchIndex.get(batchKey);
    if (b === undefined) {
      b =
        batches.push({
          org: h.org,
          device: h.device,
          identityKey: toBase64(r.batch.identityKey),
          firstSeq: r.batch.firstSeq,
          signature: sig,
          hashes: r.batch.hashes.map(toHex),
        }) - 1;
      batchIndex.set(batchKey, b);
    }
    sealed.set(r.sealed, offset);
    const rec: CustodyRecord = {
      hash: toHex(r.hash),
      org: h.org,
      device: h.device,
      bucket: h.bucket,
      seq: h.seq,
      prev: toHex(h.prev),
      size: r.sealed.length,
      offset,
      logIndex: r.log.index,
      loggedAt: r.log.loggedAt,
      checkpoint: cp,
      proof: r.log.proof.map(toBase64),
      batch: b,
      messageId: r.body.messageId,
      conversation: r.body.conversationId,
      kind: r.body.kind,
      ...(version >= 2 ? { recordKey: toBase64Url(r.recordKey!) } : {}),
    };
    offset += r.sealed.length;
    begin = Math.min(begin, r.body.sentAt);
    end = Math.max(end, r.body.sentAt);
    return rec;
  });
  const gapDeclarations = custodyGapsOf(gaps, (note) => {
    let cp = cpIndex.get(note);
    if (cp === undefined) {
      cp = checkpoints.push(note) - 1;
      cpIndex.set(note, cp);
    }
    return cp;
  });
  const manifest: CustodyManifest = {
    format: CUSTODY_MANIFEST_FORMAT,
    version,
    generator: EXPORT_GENERATOR,
    exportId,
    exportedAt: isoUtc(input.exportedAt ?? Date.now()),
    exportFormat,
    custodian: input.custodian,
    range: { begin: isoUtc(begin), end: isoUtc(end) },
    ...(version >= 2 ? { application, displayNames: namesUsed(input) } : {}),
    log: { origin: input.log.origin, verifierKey: input.log.verifierKey },
    checkpoints,
    batches,
    sealedRecords: { file: SEALED_RECORDS_FILE, sha256: sha256Hex(sealed), size: sealed.length },
    records: out,
    ...(version === 3 ? { gapDeclarations } : {}),
  };
  return { manifest, sealed };
}

/** The display names of `input` for the addresses its records (and custodian) name, sorted. */
function namesUsed(input: ExportInput): Record<string, string> {
  const names = input.displayNames;
  if (names === undefined || names.size === 0) return {};
  const used = new Set<string>([input.custodian]);
  for (const r of input.records) {
    const b = r.body;
    used.add(b.sender);
    for (const p of b.participants) used.add(p);
    for (const p of b.added ?? []) used.add(p);
    for (const p of b.removed ?? []) used.add(p);
  }
  const out: Record<string, string> = {};
  for (const a of [...used].sort()) {
    const n = names.get(a);
    if (n !== undefined) out[a] = n;
  }
  return out;
}

/** The manifest's exact file bytes: compact JSON and a trailing newline (the only accepted form). */
export function serializeCustody(m: CustodyManifest): Uint8Array {
  return Buffer.from(`${JSON.stringify(m)}\n`, 'utf8');
}

/** A short human form of a checkpoint note: `origin size root`. */
export function checkpointSummary(note: string): string {
  const text = note.slice(0, note.indexOf('\n\n') + 1);
  const cp = parseCheckpoint(text);
  return `${cp.origin} ${cp.treeSize} ${toBase64(cp.rootHash)}`;
}

// ---- strict parsing -------------------------------------------------------------------

const malformed = (m: string): ExportError =>
  new ExportError('EXPORT_MALFORMED', `custody manifest: ${m}`, { file: CUSTODY_MANIFEST_FILE });

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHash = (v: unknown): v is string => typeof v === 'string' && fromHex(v)?.length === 32;

function str(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) throw malformed(`${where}.${k} is not a non-empty string`);
  return v;
}
function uint(o: Obj, k: string, where: string): number {
  const v = o[k];
  if (!isUint(v)) throw malformed(`${where}.${k} is not a non-negative integer`);
  return v;
}
function list(o: Obj, k: string, where: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw malformed(`${where}.${k} is not a list`);
  return v;
}
function b64(v: unknown, where: string, len?: number): string {
  const b = typeof v === 'string' ? fromBase64(v) : undefined;
  if (b === undefined || (len !== undefined && b.length !== len))
    throw malformed(`${where} is not canonical base64${len === undefined ? '' : ` of ${len} bytes`}`);
  return v as string;
}

/**
 * Parses custody-manifest.json strictly: every field typed and in range, every index
 * resolving, and the bytes exactly the canonical serialisation (so no byte can change
 * without the verifier noticing, even where JSON would not care).
 */
export function parseCustody(bytes: Uint8Array): CustodyManifest {
  const v = parseExportJson(bytes, CUSTODY_MANIFEST_FILE, 'custody manifest');
  if (!isObj(v)) throw malformed('not an object');
  if (v.format !== CUSTODY_MANIFEST_FORMAT) throw malformed(`format is not ${CUSTODY_MANIFEST_FORMAT}`);
  if (!(CUSTODY_MANIFEST_VERSIONS as readonly unknown[]).includes(v.version))
    throw malformed(`version ${String(v.version)} is not supported`);
  // Versions 2 and 3 carry record keys and the rendering context; only 3 gap declarations.
  const keyed = v.version !== 1;
  // A version-3 manifest's gapDeclarations are read once the checkpoints are (below).
  if (v.version !== 3 && 'gapDeclarations' in v)
    throw malformed(`a version-${String(v.version)} manifest has no gapDeclarations`);
  if (keyed) {
    str(v, 'application', 'manifest');
    const names = v.displayNames;
    if (!isObj(names) || !Object.values(names).every((n) => typeof n === 'string'))
      throw malformed('displayNames is not an object of strings');
  } else if ('application' in v || 'displayNames' in v || 'recordKey' in v) {
    throw malformed('a version-1 manifest has no application, displayNames or record keys');
  }
  for (const k of ['generator', 'exportId', 'exportedAt', 'exportFormat', 'custodian']) str(v, k, 'manifest');
  if (!isObj(v.range)) throw malformed('range is not an object');
  str(v.range, 'begin', 'range');
  str(v.range, 'end', 'range');
  if (!isObj(v.log)) throw malformed('log is not an object');
  str(v.log, 'origin', 'log');
  str(v.log, 'verifierKey', 'log');
  const checkpoints = list(v, 'checkpoints', 'manifest');
  checkpoints.forEach((c, i) => {
    if (typeof c !== 'string') throw malformed(`checkpoints[${i}] is not a string`);
  });
  const batches = list(v, 'batches', 'manifest');
  batches.forEach((b, i) => {
    const w = `batches[${i}]`;
    if (!isObj(b)) throw malformed(`${w} is not an object`);
    str(b, 'org', w);
    str(b, 'device', w);
    b64(b.identityKey, `${w}.identityKey`, 33);
    uint(b, 'firstSeq', w);
    b64(b.signature, `${w}.signature`, 64);
    const hs = list(b, 'hashes', w);
    if (hs.length === 0 || !hs.every(isHash))
      throw malformed(`${w}.hashes is not a non-empty list of hex hashes`);
  });
  if (!isObj(v.sealedRecords)) throw malformed('sealedRecords is not an object');
  str(v.sealedRecords, 'file', 'sealedRecords');
  if (!isHash(v.sealedRecords.sha256)) throw malformed('sealedRecords.sha256 is not a hex hash');
  uint(v.sealedRecords, 'size', 'sealedRecords');
  const records = list(v, 'records', 'manifest');
  if (records.length === 0) throw malformed('records is empty');
  records.forEach((r, i) => {
    const w = `records[${i}]`;
    if (!isObj(r)) throw malformed(`${w} is not an object`);
    if (!isHash(r.hash)) throw malformed(`${w}.hash is not a hex hash`);
    if (!isHash(r.prev)) throw malformed(`${w}.prev is not a hex hash`);
    for (const k of ['org', 'device', 'bucket', 'messageId', 'conversation', 'kind']) str(r, k, w);
    for (const k of ['seq', 'size', 'offset', 'logIndex', 'loggedAt']) uint(r, k, w);
    if (uint(r, 'checkpoint', w) >= checkpoints.length)
      throw malformed(`${w}.checkpoint names no checkpoint`);
    if (uint(r, 'batch', w) >= batches.length) throw malformed(`${w}.batch names no batch`);
    list(r, 'proof', w).forEach((p, j) => b64(p, `${w}.proof[${j}]`, 32));
    if (keyed) {
      const k = r.recordKey;
      if (typeof k !== 'string' || fromBase64Url(k)?.length !== RECORD_KEY_BYTES)
        throw malformed(`${w}.recordKey is not base64url of ${RECORD_KEY_BYTES} bytes`);
    } else if ('recordKey' in r) throw malformed(`${w} has a recordKey, which version 1 does not define`);
  });
  if (v.version === 3) parseCustodyGaps(v.gapDeclarations, checkpoints.length, malformed);
  const m = v as unknown as CustodyManifest;
  if (!Buffer.from(serializeCustody(m)).equals(Buffer.from(bytes)))
    throw malformed('is not in its canonical form (a byte was changed, added or removed)');
  return m;
}
