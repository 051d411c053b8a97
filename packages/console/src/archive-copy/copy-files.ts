/**
 * The layout of an organisation's archive copy (docs/officers.md, "Your own copy of the
 * archive"), and its state file. Everything in a copy is either public (log entries, signed
 * documents, the checkpoint) or sealed (records, wrapped keys), yet it is the whole archive:
 * folders are 0700 and files 0600, like an export.
 *
 * ```
 * DIR/custos-copy.json                      the state: log key, checkpoint, what was copied
 * DIR/log/tile/entries/<N>[.p/<W>]          the log's entry bundles (C2SP tlog-tiles paths)
 * DIR/log/tile/0/<N>[.p/<W>]                their leaf hashes (level-0 hash tiles)
 * DIR/records/<hh>/<sha256 hex>             each sealed record, exactly the bytes its log entry commits to
 * DIR/devices/<deviceId>/<seq>.json         per page of a device's records: what opening them needs
 * DIR/keys/org.json                         the org signing key and every key-manager delegation
 * DIR/keys/org-profile.json                 the officer profile's org.json (officer keys, quorum, root key)
 * DIR/keys/buckets/<bucketId>.json          a bucket's signed document and its wrapped private keys
 * DIR/dispositions/<sha256 hex>.json        a verified disposition certificate (the log's entries hash it)
 * ```
 *
 * Every file is written whole (temporary file, fsync, rename), and the state file last: a
 * run that fails leaves the copy as the last completed run left it, plus files that state
 * does not yet name (the next run reuses or replaces them).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { entryBundlePath, isWellFormedId, TILE_WIDTH, tilePath } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../defaults.js';
import { isUint } from '../json-values.js';
import { writePrivateFile } from '../private-files.js';

/** The state file of a copy. */
export const COPY_STATE_FILE = 'custos-copy.json';
/** `format` of the state file. */
export const COPY_FORMAT = 'custos-archive-copy';
/** Version of the copy layout. */
export const COPY_VERSION = 1;
/** Most records named in the state's `missing` list (the rest are counted). */
export const MAX_LISTED_MISSING = 1000;

/** A logged record the server did not serve when the copy was taken (and no disposition explains). */
export interface MissingRecord {
  readonly logIndex: number;
  readonly device: string;
  readonly seq: number;
  /** Why it was not copied when the server served it otherwise than its entry commits to (absent: not served). */
  readonly reason?: string;
}

/**
 * A bucket whose keys a verified disposition certificate destroyed, as the copy first saw it:
 * what proves it. Once recorded it is final: no later run puts the bucket's wraps back, whatever
 * the server then serves (docs/officers.md, "Your own copy of the archive").
 */
export interface RecordedDestruction {
  readonly bucketId: string;
  /** SHA-256 (hex) of the certificate, as the log's `disposition` entries commit to it (kept in `dispositions/`). */
  readonly certificateHash: string;
  /** The plan the `disposition.execute` act of the log names. */
  readonly planId: string;
  /** Index of the bucket's `disposition` entry in the log. */
  readonly logIndex: number;
  /** When the certificate says the disposition was executed (ms since the epoch). */
  readonly executedAt: number;
  /** When this copy first verified it (ISO 8601). */
  readonly recordedAt: string;
}

/**
 * Records a verified disposition certificate disposed of in the copy, as the copy first saw it:
 * what proves it. Like a destruction it is final: the records stay disposed of whatever the
 * server later says, and a run that no longer verifies the same records under it says so.
 */
export interface RecordedDisposal {
  /** SHA-256 (hex) of the certificate, as the log's `disposition` entries commit to it (kept in `dispositions/`). */
  readonly certificateHash: string;
  /** The plan the `disposition.execute` act of the log names. */
  readonly planId: string;
  /** Index of the certificate's first `disposition` entry in the log. */
  readonly logIndex: number;
  /** Records it disposed of in the copy (their leaf indexes are in the state's `disposedLeaves`). */
  readonly records: number;
  /** SHA-256 (hex) of those leaf indexes, ascending, each 8 bytes big-endian (core's LeafDigest, as plans hash leaves). */
  readonly leavesDigest: string;
  /** When this copy first verified it (ISO 8601). */
  readonly recordedAt: string;
}

/** The state file: which log, which checkpoint, and how far each device's records were copied. */
export interface CopyState {
  readonly format: typeof COPY_FORMAT;
  readonly version: typeof COPY_VERSION;
  readonly orgId: string;
  /** The server the copy was taken from (informational). */
  readonly server: string;
  /** Fingerprint of the org signing key the officer profile pins. */
  readonly signingKeyFingerprint: string;
  readonly log: { readonly origin: string; readonly verifierKey: string };
  /** The signed checkpoint the copy's log was verified against. */
  readonly checkpoint: string;
  readonly treeSize: number;
  /** The tree's right-edge frontier at `treeSize` (base64), so the next run hashes only new entries. */
  readonly frontier: readonly string[];
  /** Per device: every record with a smaller sequence number and a log index below `treeSize` was copied or is listed missing. */
  readonly devices: Readonly<Record<string, { readonly nextSeq: number }>>;
  /** Buckets whose keys a verified disposition destroyed: the copy dropped their wraps. */
  readonly disposedBuckets: readonly string[];
  /**
   * Each destruction of `disposedBuckets` with its proof, recorded the first time a run verified
   * it and kept as it was (copies taken before these were kept have none: their buckets stay
   * destroyed all the same, and the next run that verifies one records it).
   */
  readonly destructions: readonly RecordedDestruction[];
  /** Leaf indexes of the records verified dispositions account for: the copy left them out. */
  readonly disposedLeaves: readonly number[];
  /**
   * Each certificate that disposed of records in the copy, with its proof, recorded the first
   * time a run verified it and kept as it was (copies taken before these were kept have none:
   * their disposed records stay disposed all the same).
   */
  readonly disposals: readonly RecordedDisposal[];
  /** `disposition` entries in the log up to `treeSize` (while there are any, each run verifies them). */
  readonly dispositionEntries: number;
  readonly missing: readonly MissingRecord[];
  /** Missing records beyond those listed. */
  readonly missingUnlisted: number;
  /**
   * When some missing records are not listed: the lowest log index and, per device, the lowest
   * sequence number of any missing record, from which the next run asks and checks again.
   */
  readonly missingFrom?: { readonly logIndex: number; readonly devices: Readonly<Record<string, number>> };
  readonly counts: { readonly records: number; readonly recordBytes: number; readonly buckets: number };
  readonly updatedAt: string;
}

/** Path of an entry bundle of a tree of `treeSize` entries (full, or the partial one at the edge). */
export function bundleFile(dir: string, index: number, treeSize: number): string {
  const width = Math.min(TILE_WIDTH, treeSize - index * TILE_WIDTH);
  return join(dir, 'log', ...entryBundlePath({ index, width }).split('/'));
}

/** Path of the level-0 hash tile beside {@link bundleFile}. */
export function leafTileFile(dir: string, index: number, treeSize: number): string {
  const width = Math.min(TILE_WIDTH, treeSize - index * TILE_WIDTH);
  return join(dir, 'log', ...tilePath({ level: 0, index, width }).split('/'));
}

/** The partial bundle and tile files of a tree of `treeSize` (none when it ends on a full bundle). */
export function partialFiles(dir: string, treeSize: number): string[] {
  if (treeSize % TILE_WIDTH === 0) return [];
  const index = Math.floor(treeSize / TILE_WIDTH);
  return [bundleFile(dir, index, treeSize), leafTileFile(dir, index, treeSize)];
}

/** Path of a sealed record by its SHA-256 (hex). */
export function recordFile(dir: string, hashHex: string): string {
  return join(dir, 'records', hashHex.slice(0, 2), hashHex);
}

/** Path of a device page file (16-digit first sequence number, so names sort). */
export function devicePageFile(dir: string, device: string, firstSeq: number): string {
  return join(dir, 'devices', device, `${String(firstSeq).padStart(16, '0')}.json`);
}

/** Path of a bucket's keys file (the id is URI-encoded: bucket ids may hold `:`). */
export function bucketFile(dir: string, bucketId: string): string {
  return join(dir, 'keys', 'buckets', `${encodeURIComponent(bucketId)}.json`);
}

/** Path of a verified disposition certificate, by its SHA-256 (hex). */
export function dispositionFile(dir: string, certificateHash: string): string {
  return join(dir, 'dispositions', `${certificateHash}.json`);
}

/** Path of the org keys file. */
export function orgKeysFile(dir: string): string {
  return join(dir, 'keys', 'org.json');
}

/**
 * Path of the org's public material as the officer profile holds it (org.json: officers'
 * public keys, quorum, root archive public key, buckets): what a quorum opening the copy
 * later checks keys against.
 */
export function orgProfileFile(dir: string): string {
  return join(dir, 'keys', 'org-profile.json');
}

/** A path relative to the copy, as messages name files. */
export function relative(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

/** Writes JSON (or bytes) whole: temporary file, fsync, rename; folders 0700, files 0600. */
export function writeCopyFile(path: string, data: unknown): void {
  writePrivateFile(path, data instanceof Uint8Array ? data : `${JSON.stringify(data, null, 1)}\n`);
}

/**
 * Writes many files whole at once (a page of records): each to a temporary file, synced and
 * renamed, all in flight together so their syncs share the file system's journal commits
 * instead of waiting one after another (one sync per record file was most of a copy's time).
 */
export async function writeCopyFiles(files: readonly { path: string; bytes: Uint8Array }[]): Promise<void> {
  await Promise.all(
    files.map(async ({ path, bytes }) => {
      await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
      const tmp = `${path}.tmp-${process.pid}`;
      const h = await open(tmp, 'w', PRIVATE_FILE_MODE);
      try {
        await h.writeFile(bytes);
        await h.datasync();
      } finally {
        await h.close();
      }
      await rename(tmp, path);
    }),
  );
}

/** Whether a file name is a temporary file of {@link writeCopyFile} or {@link writeCopyFiles} (`<name>.tmp-<pid>`). */
export function isTempFile(name: string): boolean {
  return /\.tmp-\d+$/.test(name);
}

/**
 * Removes the temporary files a run left when it stopped mid-write (a run writes every file
 * through one): one walk over the copy's folders, records included.
 */
export function removeTempFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }))
    if (isTempFile(name)) rmSync(join(dir, name), { force: true });
}

/** Reads a copy file; COPY_INVALID naming it when it is absent or unreadable. */
export function readCopyFile(dir: string, path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const absent = (e as { code?: unknown }).code === 'ENOENT';
    throw new ConsoleError(
      'COPY_INVALID',
      `${relative(dir, path)}: ${absent ? `missing (${what})` : `not readable (${what})`}`,
      { cause: e },
    );
  }
}

/** Reads and parses a JSON copy file; COPY_INVALID naming it when it is not JSON. */
export function readCopyJson(dir: string, path: string, what: string): Record<string, unknown> {
  const bytes = readCopyFile(dir, path, what);
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw new ConsoleError('COPY_INVALID', `${relative(dir, path)}: not JSON (${what})`, { cause: e });
  }
  throw new ConsoleError('COPY_INVALID', `${relative(dir, path)}: not a JSON object (${what})`);
}

const isStr = (s: unknown): s is string => typeof s === 'string';

/** Whether a value of the state's `destructions` list is well formed. */
function isRecordedDestruction(v: unknown): v is RecordedDestruction {
  const d = v as Partial<Record<keyof RecordedDestruction, unknown>> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    isStr(d.bucketId) &&
    isStr(d.certificateHash) &&
    /^[0-9a-f]{64}$/.test(d.certificateHash) &&
    isStr(d.planId) &&
    isUint(d.logIndex) &&
    isUint(d.executedAt) &&
    isStr(d.recordedAt)
  );
}

/** Whether a value of the state's `disposals` list is well formed. */
function isRecordedDisposal(v: unknown): v is RecordedDisposal {
  const d = v as Partial<Record<keyof RecordedDisposal, unknown>> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    isStr(d.certificateHash) &&
    /^[0-9a-f]{64}$/.test(d.certificateHash) &&
    isStr(d.planId) &&
    isUint(d.logIndex) &&
    isUint(d.records) &&
    d.records > 0 &&
    isStr(d.leavesDigest) &&
    /^[0-9a-f]{64}$/.test(d.leavesDigest) &&
    isStr(d.recordedAt)
  );
}

/** Reads the state file; undefined when `dir` holds no copy yet, COPY_INVALID when it is not one. */
export function readCopyState(dir: string): CopyState | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, COPY_STATE_FILE));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new ConsoleError('COPY_INVALID', `${COPY_STATE_FILE}: not readable`, { cause: e });
  }
  return parseCopyState(bytes.toString('utf8'));
}

/** Parses and checks every field of the state file; COPY_INVALID naming the first bad one. */
export function parseCopyState(text: string): CopyState {
  const bad = (field: string): never => {
    throw new ConsoleError('COPY_INVALID', `${COPY_STATE_FILE}: ${field} is missing or malformed`);
  };
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConsoleError('COPY_INVALID', `${COPY_STATE_FILE}: not JSON`, { cause: e });
  }
  if (typeof s !== 'object' || s === null || s.format !== COPY_FORMAT) bad('format');
  if (s.version !== COPY_VERSION) bad(`version (this custos reads version ${COPY_VERSION})`);
  const log = s.log as Record<string, unknown> | undefined;
  if (!isStr(log?.origin) || !isStr(log.verifierKey)) bad('log');
  for (const f of ['orgId', 'server', 'signingKeyFingerprint', 'checkpoint', 'updatedAt'] as const)
    if (!isStr(s[f])) bad(f);
  if (!isUint(s.treeSize)) bad('treeSize');
  if (!Array.isArray(s.frontier) || !s.frontier.every(isStr)) bad('frontier');
  const devices = s.devices as Record<string, unknown> | undefined;
  if (typeof devices !== 'object' || devices === null) bad('devices');
  for (const [id, d] of Object.entries(devices!)) {
    // Device ids are the log's ids (any well-formed id, not only the server's 22-character ones).
    if (!isWellFormedId(id) || !isUint((d as { nextSeq?: unknown } | null)?.nextSeq)) bad(`devices.${id}`);
  }
  if (!Array.isArray(s.disposedBuckets) || !s.disposedBuckets.every(isStr)) bad('disposedBuckets');
  // Absent from copies taken before dispositions were verified: nothing verified disposed yet.
  s.disposedLeaves ??= [];
  s.dispositionEntries ??= 0;
  // Absent from copies taken before destructions were recorded with their proof.
  s.destructions ??= [];
  // Absent from copies taken before disposals were recorded with their proof.
  s.disposals ??= [];
  if (!Array.isArray(s.disposedLeaves) || !s.disposedLeaves.every(isUint)) bad('disposedLeaves');
  if (
    !Array.isArray(s.destructions) ||
    !s.destructions.every(isRecordedDestruction) ||
    // Each names one of the buckets the copy holds destroyed, once.
    new Set(s.destructions.map((d) => d.bucketId)).size !== s.destructions.length ||
    !s.destructions.every((d) => (s.disposedBuckets as string[]).includes(d.bucketId))
  )
    bad('destructions');
  if (
    !Array.isArray(s.disposals) ||
    !s.disposals.every(isRecordedDisposal) ||
    // One per certificate, and no more records than the copy holds disposed of.
    new Set(s.disposals.map((d) => d.certificateHash)).size !== s.disposals.length ||
    s.disposals.reduce((n, d) => n + d.records, 0) > (s.disposedLeaves as number[]).length
  )
    bad('disposals');
  if (!isUint(s.dispositionEntries)) bad('dispositionEntries');
  if (
    !Array.isArray(s.missing) ||
    !s.missing.every((m: Record<string, unknown>) => isUint(m?.logIndex) && isStr(m.device) && isUint(m.seq))
  )
    bad('missing');
  if (!isUint(s.missingUnlisted)) bad('missingUnlisted');
  const from = s.missingFrom as { logIndex?: unknown; devices?: unknown } | undefined;
  if (
    from !== undefined &&
    (!isUint(from.logIndex) ||
      typeof from.devices !== 'object' ||
      from.devices === null ||
      !Object.values(from.devices).every(isUint))
  )
    bad('missingFrom');
  const c = s.counts as Record<string, unknown> | undefined;
  if (!isUint(c?.records) || !isUint(c.recordBytes) || !isUint(c.buckets)) bad('counts');
  return s as unknown as CopyState;
}
