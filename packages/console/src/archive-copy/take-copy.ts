/**
 * `custos console archive-copy`: the organisation takes its own verified copy of its sealed
 * archive (SEC 17a-4(f)(3)(iii) backup and third-party access; an agency's records out of
 * the vendor's hands). Ciphertext only: nothing here opens a record or a key, so one
 * officer's session (for the officer routes) is enough and no quorum is needed.
 *
 * One run, verifying as it goes:
 * 1. the latest checkpoint against the log key this profile pinned, and (from the second
 *    run on) against the copy's checkpoint: an RFC 9162 consistency proof, then the new
 *    entries appended to the copy's stored frontier must give the new root;
 * 2. the new entry bundles, streamed to disk one at a time with their leaf-hash tiles;
 * 3. the org signing key, every key-manager delegation and every bucket document (each
 *    verified against the pinned org key, as every officer command does) and the bucket
 *    private keys wrapped to the officers and to the root (opaque);
 * 4. each device's new records, page by page, each checked against the log entry that
 *    commits to it before it is written;
 * 5. every new `archive-record` entry must now have its record, unless a verified disposition
 *    accounts for it; the others are listed as missing (exit 1), and retried next run.
 *
 * Dispositions are the completeness check's (completeness/disposed-records.ts): a `disposition`
 * entry alone proves nothing (the server writes it), so the copy deletes a record only when a
 * certificate with the officer quorum approved it, in its plan's span and not held, and the
 * server no longer serves it; and drops a bucket's wraps only when such a certificate says its
 * keys were destroyed. The verified certificates are kept in the copy for `custos verify copy`.
 * A destruction, or a disposal of records, once verified is recorded in the state file with its
 * proof and is final: a later run whose server no longer bears it out (or serves a disposed
 * record again) reports it and puts nothing back (copy-dispositions.ts).
 * The state file is written last, so a failed run leaves the last good copy (its deletions
 * follow the state file, and the next run finishes them).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendEntries,
  decodeEntryBundle,
  decodeLogEntry,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeTile,
  hashLeaf,
  rootOf,
  TILE_WIDTH,
  treeState,
  verifyConsistency,
  type TreeState,
} from '@custos/core';
import { recordsAnswerLimit } from '@custos/client/answer-limits';
import { opens, serverWraps } from '../bucket-inventory.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { readProfileFile, type OfficerBucketKeysFile, type OrgFile } from '../profile-files.js';
import { pinnedLogOf } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { fetchBundle } from '../completeness/verified-log.js';
import { pageOf } from '../search/officer-search.js';
import { httpLogSource } from '../witness/log-source.js';
import {
  bucketFile,
  bundleFile,
  COPY_FORMAT,
  COPY_STATE_FILE,
  COPY_VERSION,
  devicePageFile,
  leafTileFile,
  MAX_LISTED_MISSING,
  orgKeysFile,
  orgProfileFile,
  partialFiles,
  readCopyState,
  isTempFile,
  recordFile,
  removeTempFiles,
  writeCopyFile,
  writeCopyFiles,
  type CopyState,
  type MissingRecord,
  type RecordedDestruction,
  type RecordedDisposal,
} from './copy-files.js';
import {
  hasDispositions,
  NO_DISPOSALS,
  settleDestructions,
  settleDisposals,
  unsaidProblems,
  verifiedDisposals,
  type DestructionFinding,
  type DisposalFinding,
} from './copy-dispositions.js';
import { EntryLookup, readCopyBundle } from './copy-log.js';
import {
  DEVICE_PAGE_FORMAT,
  entryMismatch,
  type CopiedBatch,
  type CopiedRecordMeta,
  type DevicePage,
} from './record-check.js';

/** Records per page of `GET …/archive/records` (the server's maximum). */
const RECORDS_PAGE = 500;
/** Pages of one device read in one run before giving up on a server that never ends. */
const MAX_DEVICE_PAGES = 20_000;
/** The officer profile's file of bucket keys wrapped to this officer (bucket-inventory.ts reads it too). */
const OFFICER_BUCKET_KEYS_FILE = 'bucket-keys.json';
/** Progress is reported every this many bundles. */
const PROGRESS_BUNDLES = 16;

/** What a run is doing, for a progress display. */
export interface CopyProgress {
  readonly phase: 'log' | 'keys' | 'records' | 'check';
  readonly done: number;
  /** Known for the log (entries) and the check; unknown for records. */
  readonly total?: number;
}

/** Options of {@link takeArchiveCopy}. */
export interface CopyOptions {
  readonly onProgress?: (p: CopyProgress) => void;
}

/** What one run did. */
export interface CopyResult {
  readonly out: string;
  readonly outcome: 'first' | 'extended' | 'unchanged';
  readonly previousTreeSize: number | null;
  readonly treeSize: number;
  readonly log: { readonly origin: string; readonly verifierKey: string };
  readonly checkpoint: string;
  readonly entriesAdded: number;
  readonly recordsAdded: number;
  readonly recordBytesAdded: number;
  /** Records in the copy after the run. */
  readonly records: number;
  readonly recordBytes: number;
  readonly buckets: number;
  /** Buckets whose keys a verified disposition destroyed since the last run: their wraps left the copy. */
  readonly bucketsDisposed: readonly string[];
  /** Every destruction the copy recorded, with its proof (the state's `destructions`). */
  readonly destructions: readonly RecordedDestruction[];
  /**
   * Recorded destructions the server's answers no longer bear out, with what it said: the copy
   * keeps them destroyed and changed nothing of those buckets (exit 1).
   */
  readonly destructionFindings: readonly DestructionFinding[];
  /** Records verified dispositions account for (left out of the copy), in all. */
  readonly recordsDisposed: number;
  /** Every certificate that disposed of records in the copy, with its proof (the state's `disposals`). */
  readonly disposals: readonly RecordedDisposal[];
  /**
   * Records the copy holds disposed of that the server's answers no longer bear out (a recorded
   * certificate that no longer verifies as disposing of them), with what it said: the copy keeps
   * them disposed of (exit 1).
   */
  readonly disposalFindings: readonly DisposalFinding[];
  /**
   * Records the copy holds disposed of under a verified certificate that the server served
   * again (first MAX_LISTED_MISSING), and how many in all: not copied back (exit 1).
   */
  readonly servedAgain: readonly MissingRecord[];
  readonly servedAgainTotal: number;
  /** Dispositions in the log that do not verify, with why: the copy never deleted anything on their word. */
  readonly dispositionProblems: readonly string[];
  /**
   * Problems of dispositions an earlier run verified and acted on (it recorded a disposal or a
   * destruction under them, and keeps it) that no finding says: nothing more is deleted on their word.
   */
  readonly dispositionProblemsActedOn: readonly string[];
  /** Wraps (bucket, recipient) for which two sources gave different blobs: both are kept. */
  readonly wrapConflicts: readonly { readonly bucketId: string; readonly recipient: string }[];
  /** Logged records the server did not serve (first MAX_LISTED_MISSING), and how many in all. */
  readonly missing: readonly MissingRecord[];
  readonly missingTotal: number;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** Takes or brings up to date the archive copy in `out`; see the module comment. */
export async function takeArchiveCopy(
  session: OfficerSession,
  out: string,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const report = options.onProgress ?? (() => undefined);
  const prev = readCopyState(out);
  if (prev === undefined && existsSync(out) && readdirSync(out).length > 0)
    throw new ConsoleError(
      'OUT_EXISTS',
      `${out} is not empty and holds no archive copy (${COPY_STATE_FILE}): give a new folder, or the folder of an earlier copy`,
    );
  if (prev !== undefined && prev.orgId !== session.orgId)
    throw new ConsoleError(
      'COPY_INVALID',
      `${out} is a copy of organisation ${prev.orgId}, not ${session.orgId}: one folder per organisation`,
    );
  const fingerprint = session.officer.profile.signingKeyFingerprint;
  if (prev !== undefined && prev.signingKeyFingerprint !== fingerprint)
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      `${out} was taken under another org signing key than this profile pins: compare with the other officers`,
    );

  // A run that stopped mid-write left temporary files: never named by the state, removed.
  if (prev !== undefined) removeTempFiles(out);

  // 1. The checkpoint, against the profile's pin and the copy's last checkpoint.
  const pin = await pinnedLogOf(session);
  if (prev !== undefined && (prev.log.origin !== pin.origin || prev.log.verifierKey !== pin.verifierKey))
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      `the copy in ${out} was verified under log key ${prev.log.verifierKey}, this profile pins ${pin.verifierKey}: compare with the other officers`,
    );
  const head = await session.api.call('GET', `/v1/orgs/${session.orgId}/log`);
  if (typeof head.checkpoint !== 'string')
    throw new ConsoleError('LOG_INVALID', 'the log head lacks its checkpoint');
  const note = head.checkpoint;
  // The profile's own last checkpoint too: a copy taken fresh must not start from a rewritten log.
  const { checkpoint: cp } = await trustCheckpoint(session, pin, note, "the log's latest checkpoint");
  const n = prev?.treeSize ?? 0;
  const m = cp.treeSize;
  const oldState: TreeState =
    prev === undefined
      ? EMPTY_TREE_STATE
      : treeState(
          n,
          prev.frontier.map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
        );
  await checkExtends(session, oldState, cp.treeSize, cp.rootHash);

  // 2. The new entries, bundle by bundle, appended to the stored frontier.
  const firstSeq = new Map<string, number>();
  let dispositionEntries = prev?.dispositionEntries ?? 0;
  let state = oldState;
  const firstBundle = Math.floor(n / TILE_WIDTH);
  for (let b = firstBundle; b * TILE_WIDTH < m && m > n; b++) {
    const base = b * TILE_WIDTH;
    const width = Math.min(TILE_WIDTH, m - base);
    const bytes = await fetchBundle(session.api.baseUrl, session.orgId, b, width);
    let raw: Uint8Array[];
    try {
      raw = decodeEntryBundle(bytes, width);
    } catch (e) {
      throw new ConsoleError('LOG_INVALID', `entry bundle ${b} of the log is malformed`, { cause: e });
    }
    const kept = Math.max(0, n - base);
    if (kept > 0) {
      // The entries the copy already holds must come back unchanged (the root covers only new ones).
      const old = readCopyBundle(out, b, n).raw;
      if (old.some((e, i) => Buffer.compare(Buffer.from(e), Buffer.from(raw[i]!)) !== 0))
        throw new ConsoleError(
          'LOG_FORK',
          `entry bundle ${b}: the server serves other entries below index ${n} than the copy holds`,
        );
    }
    state = appendEntries(state, raw.slice(kept)).state;
    for (let i = kept; i < raw.length; i++) {
      let entry;
      try {
        entry = decodeLogEntry(raw[i]!);
      } catch (e) {
        throw new ConsoleError('LOG_INVALID', `log entry ${base + i} is malformed`, { cause: e });
      }
      if (entry.type === 'archive-record') {
        const s = firstSeq.get(entry.device);
        if (s === undefined || entry.seq < s) firstSeq.set(entry.device, entry.seq);
      } else if (entry.type === 'disposition') dispositionEntries++;
    }
    writeCopyFile(bundleFile(out, b, m), encodeEntryBundle(raw));
    writeCopyFile(leafTileFile(out, b, m), encodeTile(raw.map(hashLeaf)));
    if ((b - firstBundle) % PROGRESS_BUNDLES === 0 || base + width === m)
      report({ phase: 'log', done: base + width - n, total: m - n });
  }
  if (Buffer.compare(Buffer.from(rootOf(state)), Buffer.from(cp.rootHash)) !== 0)
    throw new ConsoleError(
      'LOG_INVALID',
      "the log's entries do not hash to its signed checkpoint: the server serves another log than it signed; the copy was left as it was",
    );

  // 3. Keys: the org's public keys, bucket documents and wrapped bucket keys.
  report({ phase: 'keys', done: 0 });
  const orgKeys = await session.orgKeys();
  writeCopyFile(orgKeysFile(out), {
    format: 'custos-copy-org-keys',
    orgId: session.orgId,
    signingPublicKey: b64u(orgKeys.signingPublicKey),
    signingKeyFingerprint: fingerprint,
    delegations: orgKeys.chain.map((l) => b64u(l.delegation)),
  });
  const disposals = hasDispositions(prev, dispositionEntries)
    ? await verifiedDisposals(session, out, m, { note, pin })
    : NO_DISPOSALS;
  const updatedAt = new Date().toISOString();
  // A destruction the copy recorded stays, whatever this run's answers say (copy-dispositions.ts).
  const destruction = settleDestructions(prev, disposals, updatedAt);
  /** Records disposed of: those the copy recorded stay so, as their buckets' destructions do. */
  const disposal = settleDisposals(prev, disposals, updatedAt);
  const disposedLeaves = disposal.leaves;
  const alreadyDropped = new Set(prev?.disposedBuckets ?? []);
  const dropped: string[] = [];
  const wrapConflicts: { bucketId: string; recipient: string }[] = [];
  const buckets = await session.serverBuckets();
  const profileWraps = wrapsInProfile(session);
  writeCopyFile(orgProfileFile(out), profileOrgForCopy(session.officer.org, destruction.destroyed));
  for (const [i, bucket] of buckets.entries()) {
    const file = bucketFile(out, bucket.bucket);
    // A recorded destruction the server no longer bears out is a finding: the bucket's file
    // stays as the copy recorded it.
    if (destruction.unconfirmed.has(bucket.bucket) && existsSync(file)) {
      report({ phase: 'keys', done: i + 1, total: buckets.length });
      continue;
    }
    const held = readHeldWraps(file);
    const served = await serverWraps(session, bucket.bucket);
    // Keys are destroyed by a verified disposition only: otherwise the copy keeps what it
    // holds (a server that "loses" wraps, or logs a disposition no quorum approved, must not
    // take the copy's with it). Once destroyed in the copy, a bucket gets no wrap back.
    const destroyed = destruction.destroyed.has(bucket.bucket);
    // The ceremony's buckets have their wraps in the officers' profiles, not on the server:
    // the root's in org.json (every officer holds it) and this officer's in bucket-keys.json.
    const servedWraps = Object.fromEntries([...served].map(([r, blob]) => [r, b64u(blob)]));
    const merged = destroyed
      ? { wraps: {}, otherWraps: {}, conflicts: [] }
      : await mergeWraps(session, bucket.bucket, [
          profileWraps.get(bucket.bucket) ?? {},
          ...held,
          servedWraps,
        ]);
    for (const recipient of merged.conflicts) wrapConflicts.push({ bucketId: bucket.bucket, recipient });
    writeCopyFile(file, {
      format: 'custos-copy-bucket',
      bucketId: bucket.bucket,
      document: b64u(bucket.document),
      wraps: merged.wraps,
      ...(Object.keys(merged.otherWraps).length > 0 ? { otherWraps: merged.otherWraps } : {}),
    });
    if (destroyed && !alreadyDropped.has(bucket.bucket)) dropped.push(bucket.bucket);
    report({ phase: 'keys', done: i + 1, total: buckets.length });
  }
  // Every bucket the copy holds destroyed keeps no wrap, listed or not: the run that first
  // verifies a destruction may be one whose bucket list leaves the bucket out, and later runs
  // leave its file as it is while its destruction is not verified again.
  for (const bucketId of [...destruction.destroyed].sort())
    if (dropWraps(bucketFile(out, bucketId)) && !alreadyDropped.has(bucketId) && !dropped.includes(bucketId))
      dropped.push(bucketId);

  // 4. Each device's new records (and those missing last time), page by page.
  // Beyond the listed missing records, the unlisted ones: each device from its lowest missing seq.
  const missingFrom = [
    ...(prev?.missing ?? []).map((r) => [r.device, r.seq] as const),
    ...Object.entries(prev?.missingFrom?.devices ?? {}),
  ];
  for (const [device, seq] of missingFrom) {
    const s = firstSeq.get(device);
    if (s === undefined || seq < s) firstSeq.set(device, seq);
  }
  /** Below the copy's tree size, the log is checked again from here: the lowest unlisted missing record. */
  const rescanFrom = Math.min(n, prev?.missingFrom?.logIndex ?? n);
  const lookup = new EntryLookup(out, m);
  const retried = new Set((prev?.missing ?? []).map((r) => r.logIndex));
  /** Records the server served otherwise than the log commits to, by log index: why. */
  const rejected = new Map<number, string>();
  /** Log indexes the device pages this run wrote list. */
  const listed = new Set<number>();
  /** Records the copy holds disposed of that the server served again, by log index. */
  const servedAgain = new Map<number, MissingRecord>();
  const devices: Record<string, { nextSeq: number }> = { ...(prev?.devices ?? {}) };
  let recordsAdded = 0;
  let bytesAdded = 0;
  for (const [device, from] of [...firstSeq].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const range = { n, m, retried, rescanFrom, disposed: disposedLeaves };
    const got = await copyDevice(session, out, device, from, range, lookup, rejected, listed, servedAgain);
    recordsAdded += got.added;
    bytesAdded += got.bytes;
    devices[device] = { nextSeq: Math.max(devices[device]?.nextSeq ?? 0, got.nextSeq) };
    report({ phase: 'records', done: recordsAdded });
  }

  // 5. Every logged record of the new range (and last run's missing) must now be here.
  const stillMissing = findMissing(
    out,
    rescanFrom,
    m,
    prev?.missing ?? [],
    { disposed: disposedLeaves, rejected, listed },
    report,
  );
  const dispose = recordsToDrop(out, m, disposedLeaves, new Set(prev?.disposedLeaves ?? []));
  const counts = {
    records: (prev?.counts.records ?? 0) + recordsAdded - dispose.records,
    recordBytes: (prev?.counts.recordBytes ?? 0) + bytesAdded - dispose.bytes,
    buckets: buckets.length,
  };
  const next: CopyState = {
    format: COPY_FORMAT,
    version: COPY_VERSION,
    orgId: session.orgId,
    server: session.api.baseUrl,
    signingKeyFingerprint: fingerprint,
    log: { origin: pin.origin, verifierKey: pin.verifierKey },
    checkpoint: note,
    treeSize: m,
    frontier: state.frontier.map((h) => Buffer.from(h).toString('base64')),
    devices,
    disposedBuckets: [...destruction.destroyed].sort(),
    destructions: destruction.records,
    disposedLeaves: [...disposedLeaves].sort((a, b) => a - b),
    disposals: disposal.records,
    dispositionEntries,
    missing: stillMissing.listed,
    ...(stillMissing.from === undefined ? {} : { missingFrom: stillMissing.from }),
    missingUnlisted: stillMissing.total - stillMissing.listed.length,
    counts,
    updatedAt,
  };
  const problems = unsaidProblems(disposals, destruction, disposal);
  const stale = partialFiles(out, n).filter((f) => !partialFiles(out, m).includes(f));
  writeCopyFile(`${out}/${COPY_STATE_FILE}`, next);
  // Deleted once the state accounts for them: an interrupted run leaves files the next deletes.
  for (const f of dispose.files) rmSync(f, { force: true });
  // Only now is the previous partial bundle unreferenced.
  if (m !== n) for (const f of stale) rmSync(f, { force: true });
  return {
    out,
    outcome: prev === undefined ? 'first' : m === n ? 'unchanged' : 'extended',
    previousTreeSize: prev === undefined ? null : n,
    treeSize: m,
    log: next.log,
    checkpoint: note,
    entriesAdded: m - n,
    recordsAdded,
    recordBytesAdded: bytesAdded,
    records: counts.records,
    recordBytes: counts.recordBytes,
    buckets: counts.buckets,
    bucketsDisposed: dropped,
    destructions: destruction.records,
    destructionFindings: destruction.findings,
    recordsDisposed: disposedLeaves.size,
    disposals: disposal.records,
    disposalFindings: disposal.findings,
    servedAgain: [...servedAgain.values()]
      .sort((a, b) => a.logIndex - b.logIndex)
      .slice(0, MAX_LISTED_MISSING),
    servedAgainTotal: servedAgain.size,
    dispositionProblems: problems.notActedOn,
    dispositionProblemsActedOn: problems.actedOn,
    wrapConflicts,
    missing: stillMissing.listed,
    missingTotal: stillMissing.total,
  };
}

/** The new checkpoint must extend the copy's tree: same root at the same size, or a consistency proof. */
async function checkExtends(session: OfficerSession, old: TreeState, size: number, root: Uint8Array) {
  if (size < old.size)
    throw new ConsoleError(
      'LOG_ROLLBACK',
      `the log shrank: the server's checkpoint has ${size} entries, the copy's had ${old.size}; the copy was left as it was`,
    );
  const oldRoot = rootOf(old);
  if (size === old.size) {
    if (Buffer.compare(Buffer.from(oldRoot), Buffer.from(root)) !== 0)
      throw new ConsoleError(
        'LOG_FORK',
        `the log forked: at size ${size} the server's root differs from the copy's`,
      );
    return;
  }
  if (old.size === 0) return;
  const proof = await httpLogSource(session.api.baseUrl, session.orgId).consistency(old.size, size);
  try {
    verifyConsistency(old.size, size, proof, oldRoot, root);
  } catch (e) {
    throw new ConsoleError(
      'LOG_FORK',
      `the log at size ${size} is not an extension of the copy's (size ${old.size}): its history was rewritten; the copy was left as it was`,
      { cause: e },
    );
  }
}

/**
 * The profile's org.json as the copy keeps it: without the root's wrap of buckets whose keys a
 * verified disposition destroyed (the copy must not keep a key the organisation destroyed; the
 * profile's own copy is forgotten by `custos console dispose`). Nothing else changes: the
 * wraps are not part of the signed bucket documents verify copy checks.
 */
export function profileOrgForCopy(org: OrgFile, destroyed: ReadonlySet<string>): OrgFile {
  if (!org.buckets.some((b) => destroyed.has(b.bucketId) && b.rootWrap !== undefined)) return org;
  return {
    ...org,
    buckets: org.buckets.map((b) => {
      if (!destroyed.has(b.bucketId)) return b;
      const { rootWrap: _dropped, ...kept } = b;
      return kept;
    }),
  };
}

/** The bucket wraps the officer profile holds, by bucket then recipient (`root`, the officer's index). */
function wrapsInProfile(session: OfficerSession): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const add = (bucket: string, recipient: string, wrap: string) =>
    out.set(bucket, { ...(out.get(bucket) ?? {}), [recipient]: wrap });
  for (const b of session.officer.org.buckets)
    if (b.rootWrap !== undefined) add(b.bucketId, 'root', b.rootWrap);
  const file = join(session.dir, OFFICER_BUCKET_KEYS_FILE);
  if (existsSync(file)) {
    const own = readProfileFile<OfficerBucketKeysFile>(file, 'custos-officer-bucket-keys');
    for (const w of own.wraps) add(w.bucketId, String(session.officerIndex), w.wrap);
  }
  return out;
}

/**
 * The wraps a bucket file of the copy holds (none when it has no file yet): its chosen wraps,
 * then each set of other blobs it kept, as sources for {@link mergeWraps}.
 */
function readHeldWraps(file: string): Record<string, string>[] {
  if (!existsSync(file)) return [];
  const strings = (w: unknown): Record<string, string> =>
    typeof w === 'object' && w !== null
      ? Object.fromEntries(Object.entries(w).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : {};
  try {
    const f = JSON.parse(readFileSync(file, 'utf8')) as { wraps?: unknown; otherWraps?: unknown };
    const others = typeof f.otherWraps === 'object' && f.otherWraps !== null ? f.otherWraps : {};
    const out = [strings(f.wraps)];
    for (const [recipient, list] of Object.entries(others))
      if (Array.isArray(list))
        for (const blob of list) if (typeof blob === 'string') out.push({ [recipient]: blob });
    return out;
  } catch {
    // Unreadable: rewritten from the profile's and server's wraps below.
    return [];
  }
}

/**
 * One bucket's wraps from `sources`, first first (the profile's, the copy's, the server's): a
 * wrap is never replaced by another blob. The first blob of each recipient is its wrap; a
 * different one from a later source is kept beside it in `otherWraps` (the copy opens nothing,
 * so it cannot tell which is good) and the recipient is named in `conflicts`. Where this
 * officer's key is at hand, its own wrap is the first blob that opens with it.
 */
async function mergeWraps(
  session: OfficerSession,
  bucketId: string,
  sources: readonly Record<string, string>[],
): Promise<{
  wraps: Record<string, string>;
  otherWraps: Record<string, string[]>;
  conflicts: string[];
}> {
  const all = new Map<string, string[]>();
  for (const source of sources)
    for (const [recipient, blob] of Object.entries(source)) {
      const list = all.get(recipient) ?? [];
      if (!list.includes(blob)) all.set(recipient, [...list, blob]);
    }
  const own = String(session.officerIndex);
  const ownList = all.get(own);
  if (ownList !== undefined && ownList.length > 1) {
    for (const blob of ownList)
      if (await opens(session, bucketId, new Uint8Array(Buffer.from(blob, 'base64url')))) {
        all.set(own, [blob, ...ownList.filter((b) => b !== blob)]);
        break;
      }
  }
  const wraps: Record<string, string> = {};
  const otherWraps: Record<string, string[]> = {};
  const conflicts: string[] = [];
  for (const [recipient, [first, ...rest]] of [...all].sort(([a], [b]) => (a < b ? -1 : 1))) {
    wraps[recipient] = first!;
    if (rest.length > 0) {
      otherWraps[recipient] = rest;
      conflicts.push(recipient);
    }
  }
  return { wraps, otherWraps, conflicts };
}

/**
 * Empties the wraps of a bucket keys file the copy holds (its document stays): answers whether
 * it held any. A file that does not read as JSON is left to `verify copy` to name.
 */
function dropWraps(file: string): boolean {
  if (!existsSync(file)) return false;
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return false;
  }
  const held = (w: unknown) => typeof w === 'object' && w !== null && Object.keys(w).length > 0;
  if (!held(f.wraps) && !held(f.otherWraps)) return false;
  const { otherWraps: _dropped, ...kept } = f;
  writeCopyFile(file, { ...kept, wraps: {} });
  return true;
}

/** A device page the copy holds, each record with its batch; undefined when absent or unreadable (then rewritten). */
function readPage(
  file: string,
): { records: { record: CopiedRecordMeta; batch: CopiedBatch | null }[] } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const page = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevicePage> | null;
    const records: unknown = page?.records;
    const batches: unknown = page?.batches;
    if (page?.format !== DEVICE_PAGE_FORMAT || !Array.isArray(records) || !Array.isArray(batches))
      return undefined;
    return {
      records: (records as CopiedRecordMeta[]).map((record) => ({
        record,
        batch: record.batch === null ? null : ((batches as CopiedBatch[])[record.batch] ?? null),
      })),
    };
  } catch {
    return undefined;
  }
}

/**
 * The record files of disposed leaves the copy still holds (deleted after the state file is
 * written), and how many records and bytes leave the copy's counts: those of leaves not
 * disposed at the last run (whose counts the last state already left out).
 */
function recordsToDrop(
  dir: string,
  treeSize: number,
  leaves: ReadonlySet<number>,
  before: ReadonlySet<number>,
): { files: string[]; records: number; bytes: number } {
  const files: string[] = [];
  let records = 0;
  let bytes = 0;
  const lookup = new EntryLookup(dir, treeSize);
  for (const index of [...leaves].sort((a, b) => a - b)) {
    const e = lookup.entry(index).entry;
    if (e.type !== 'archive-record') continue;
    const f = recordFile(dir, Buffer.from(e.hash).toString('hex'));
    if (!existsSync(f)) continue;
    files.push(f);
    if (!before.has(index)) {
      records++;
      bytes += e.size;
    }
  }
  return { files, records, bytes };
}

/**
 * Copies one device's records from `fromSeq`, up to the checkpoint's tree size `range.m`.
 * `added` counts the records this run brings into the copy (log index ≥ `range.n`, or missing
 * last run), whether or not an interrupted run had already written their file.
 */
async function copyDevice(
  session: OfficerSession,
  out: string,
  device: string,
  fromSeq: number,
  range: {
    readonly n: number;
    readonly m: number;
    readonly retried: ReadonlySet<number>;
    readonly rescanFrom: number;
    /** Leaf indexes of the records the copy holds disposed of. */
    readonly disposed: ReadonlySet<number>;
  },
  lookup: EntryLookup,
  rejected: Map<number, string>,
  listed: Set<number>,
  servedAgain: Map<number, MissingRecord>,
): Promise<{ added: number; bytes: number; nextSeq: number }> {
  const treeSize = range.m;
  let added = 0;
  let bytes = 0;
  let cursor = fromSeq;
  for (let page = 0; page < MAX_DEVICE_PAGES; page++) {
    const q = `device=${encodeURIComponent(device)}&fromSeq=${cursor}&limit=${RECORDS_PAGE}`;
    const r = pageOf(
      await session.call('GET', `/v1/orgs/${session.orgId}/archive/records?${q}`, undefined, {
        maxAnswerBytes: recordsAnswerLimit(RECORDS_PAGE),
      }),
    );
    const metas: CopiedRecordMeta[] = [];
    const toWrite: { path: string; bytes: Uint8Array }[] = [];
    const batches: CopiedBatch[] = [];
    const batchIndexes = new Map<string, number>();
    const batchIndex = (b: CopiedBatch): number => {
      const key = `${b.firstSeq} ${b.signature}`;
      let i = batchIndexes.get(key);
      if (i === undefined) {
        i = batches.push({ firstSeq: b.firstSeq, signature: b.signature, hashes: b.hashes }) - 1;
        batchIndexes.set(key, i);
      }
      return i;
    };
    let beyond = false;
    for (const h of r.records) {
      if (h.deviceId !== device)
        throw new ConsoleError(
          'SERVER_REFUSED',
          `asked for device ${device}, the server answered another's record`,
        );
      // Past the copy's checkpoint: the next run takes it with its entry.
      if (h.logIndex >= treeSize) {
        beyond = true;
        break;
      }
      // A record the copy holds disposed of under a verified certificate never comes back; the
      // server serving it again contradicts that certificate, and is reported.
      if (range.disposed.has(h.logIndex)) {
        servedAgain.set(h.logIndex, { logIndex: h.logIndex, device, seq: h.seq });
        continue;
      }
      const record = new Uint8Array(Buffer.from(h.record, 'base64url'));
      const hash = sha256(record);
      // A record that is not what its entry commits to is not copied: the entry's record is
      // then missing (with why), asked for again next run; one bad record does not stop the copy.
      const why =
        hash.toString('base64url') !== h.hash
          ? "the server's hash field is not the SHA-256 of its bytes"
          : entryMismatch(lookup.entry(h.logIndex).entry, {
              device,
              seq: h.seq,
              bucketId: h.bucketId,
              hash,
              size: record.length,
            });
      if (why !== null) {
        rejected.set(h.logIndex, `the server's record is not what the log commits to (${why})`);
        continue;
      }
      const hex = hash.toString('hex');
      const file = recordFile(out, hex);
      const had = existsSync(file) && sha256(readFileSync(file)).equals(hash);
      if (!had) toWrite.push({ path: file, bytes: record });
      if (
        h.logIndex >= range.n ||
        range.retried.has(h.logIndex) ||
        (h.logIndex >= range.rescanFrom && !had)
      ) {
        added++;
        bytes += record.length;
      }
      metas.push({
        seq: h.seq,
        logIndex: h.logIndex,
        hash: hex,
        size: record.length,
        bucketId: h.bucketId,
        receivedAt: h.receivedAt,
        identityKey: h.identityKey,
        sessionKey: h.sessionKey,
        batch: h.batch === null ? null : batchIndex(h.batch),
      });
    }
    await writeCopyFiles(toWrite);
    if (metas.length > 0) {
      // A retry can start a page where an earlier one started: what that page lists and this
      // one does not (a record not served this time) stays listed.
      const file = devicePageFile(out, device, metas[0]!.seq);
      const records = [...metas];
      const fresh = new Set(metas.map((x) => x.logIndex));
      for (const old of readPage(file)?.records ?? [])
        if (!fresh.has(old.record.logIndex))
          records.push({ ...old.record, batch: old.batch === null ? null : batchIndex(old.batch) });
      records.sort((a, b) => a.seq - b.seq);
      writeCopyFile(file, { format: DEVICE_PAGE_FORMAT, device, records, batches } satisfies DevicePage);
      for (const x of records) listed.add(x.logIndex);
    }
    const last = metas[metas.length - 1];
    if (last !== undefined) cursor = last.seq + 1;
    if (beyond || r.next === null) return { added, bytes, nextSeq: cursor };
    const next = Number(r.next);
    if (!Number.isSafeInteger(next) || next < cursor || (last === undefined && next === fromSeq))
      return { added, bytes, nextSeq: cursor };
    cursor = next;
  }
  throw new ConsoleError('SERVER_REFUSED', `device ${device}: the records did not end`);
}

/**
 * Logged records in entries [from, to) and last run's listed missing ones below `from` that the copy does not
 * hold, less those verified dispositions account for (`disposed`, leaf indexes).
 */
function findMissing(
  dir: string,
  from: number,
  to: number,
  before: readonly MissingRecord[],
  seen: {
    readonly disposed: ReadonlySet<number>;
    readonly rejected: ReadonlyMap<number, string>;
    readonly listed: ReadonlySet<number>;
  },
  report: (p: CopyProgress) => void,
): {
  listed: MissingRecord[];
  total: number;
  from: { logIndex: number; devices: Record<string, number> } | undefined;
} {
  const listed: MissingRecord[] = [];
  let total = 0;
  let fromIndex = Number.MAX_SAFE_INTEGER;
  const fromSeq: Record<string, number> = {};
  const lookup = new EntryLookup(dir, to);
  const devicePages = new Map<string, Set<number>>();
  /** Log indexes a device's page files list, read once per device (only for a record this run's pages do not list). */
  const pagesOf = (device: string): ReadonlySet<number> => {
    let got = devicePages.get(device);
    if (got === undefined) {
      devicePages.set(device, (got = new Set()));
      const folder = join(dir, 'devices', device);
      for (const name of existsSync(folder) ? readdirSync(folder) : [])
        if (!isTempFile(name))
          for (const r of readPage(join(folder, name))?.records ?? []) got.add(r.record.logIndex);
    }
    return got;
  };
  const check = (index: number): void => {
    const e = lookup.entry(index).entry;
    if (e.type !== 'archive-record' || seen.disposed.has(index)) return;
    // Held is the record file and a page that lists it (what opening it needs).
    const held = existsSync(recordFile(dir, Buffer.from(e.hash).toString('hex')));
    if (held && (seen.listed.has(index) || pagesOf(e.device).has(index))) return;
    total++;
    fromIndex = Math.min(fromIndex, index);
    fromSeq[e.device] = Math.min(fromSeq[e.device] ?? e.seq, e.seq);
    const reason = held ? 'its record is in the copy, but no device page lists it' : seen.rejected.get(index);
    if (listed.length < MAX_LISTED_MISSING)
      listed.push({
        logIndex: index,
        device: e.device,
        seq: e.seq,
        ...(reason === undefined ? {} : { reason }),
      });
  };
  for (const r of before) if (r.logIndex < from) check(r.logIndex);
  for (let i = from; i < to; i++) {
    check(i);
    if ((i - from) % (TILE_WIDTH * PROGRESS_BUNDLES) === 0 || i === to - 1)
      report({ phase: 'check', done: i - from + 1, total: to - from });
  }
  // Past MAX_LISTED_MISSING the rest are not named: the next run starts from the lowest of them.
  const unlisted = total > listed.length;
  return { listed, total, from: unlisted ? { logIndex: fromIndex, devices: fromSeq } : undefined };
}
