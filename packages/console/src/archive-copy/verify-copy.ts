/**
 * `custos verify copy DIR`: an archive copy checked offline, with no server and no key but
 * the log's public key. Two passes over the copy's log, one bundle at a time:
 *
 * 1. the log: every entry bundle hashes to its leaf-hash tile, and the tree recomputed from
 *    the entries has the root of the checkpoint, whose signature verifies with the log key
 *    (given with --log-key, or the one the copy names). A bundle and its tile that disagree
 *    name the altered file: the bundle when the entries miss the root, the tile otherwise;
 * 2. the records: every device page entry is the log's (device, sequence number, bucket,
 *    hash, size), and every `archive-record` entry has its record file, which hashes to the
 *    entry, and a page entry (what opening it needs) — unless the copy recorded it as disposed
 *    (a verified disposition accounted for it when the copy was taken) and a certificate the
 *    copy keeps, hashing to a `disposition` entry of its bucket in the log, disposed of at
 *    least as many of the bucket's records; or the copy itself recorded the server did not
 *    serve it. The certificate's approvals are not checked here (that needs the officer list
 *    in force when it was executed): the run that took the copy checked them;
 * 3. the keys: the org signing key has the fingerprint the copy was taken under, every
 *    key-manager delegation verifies with it, and every bucket document with them (in the
 *    bucket files and in the profile's org.json); each bucket with records in the copy has
 *    its keys file with at least one wrap;
 * 4. the destructions the state records: each one's certificate (kept in the copy) hashes to the
 *    `disposition` entry of its bucket at the log index recorded, is of the plan recorded and says
 *    the bucket's keys were destroyed when recorded, and the bucket's keys file holds no wrap; and
 *    the disposals it records: each one's certificate hashes to the `disposition` entry at the log
 *    index recorded, is of the plan recorded and disposed of at least the records recorded.
 * The state file's frontier (what the next run extends) must be the recomputed tree's.
 *
 * The first thing wrong throws COPY_INVALID naming the file. Memory: one bundle, a small
 * cache, one bit per log entry, and the sets of buckets and dispositions.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendLeafHashes,
  decodeDispositionCertificate,
  decodeTile,
  EMPTY_TREE_STATE,
  hashLeaf,
  openCheckpoint,
  rootOf,
  TILE_WIDTH,
  type DispositionCertificate,
  type TreeState,
} from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { buildDelegationChain, verifyBucketUnderChain, type DelegationLink } from '../key-manager-chain.js';
import { verifyOrgFile } from '../officer-profile.js';
import type { OrgFile } from '../profile-files.js';
import { keyFingerprint } from '../signing-key.js';
import {
  bucketFile,
  COPY_STATE_FILE,
  dispositionFile,
  isTempFile,
  leafTileFile,
  orgKeysFile,
  orgProfileFile,
  readCopyFile,
  readCopyJson,
  readCopyState,
  recordFile,
  relative,
  type CopyState,
} from './copy-files.js';
import { decodeCopyEntry, EntryLookup, readCopyBundle } from './copy-log.js';
import { DEVICE_PAGE_FORMAT, entryMismatch, type CopiedRecordMeta } from './record-check.js';

/** Options of {@link verifyArchiveCopy}. */
export interface VerifyCopyOptions {
  /** The log's verifier key, obtained out of band; without it the copy's own is used (and said so). */
  readonly logKey?: string;
  readonly onProgress?: (phase: 'log' | 'records', done: number, total: number) => void;
}

/** What a verified copy holds. */
export interface CopyVerification {
  readonly orgId: string;
  readonly log: { readonly origin: string; readonly verifierKey: string };
  /** True when the key was given (--log-key), false when the copy's own was trusted. */
  readonly logKeyGiven: boolean;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly checkpoint: string;
  readonly signingKeyFingerprint: string;
  /** `archive-record` entries in the log. */
  readonly recordsLogged: number;
  /** Record files present, each hashing to its entry. */
  readonly records: number;
  readonly recordBytes: number;
  /** Logged records absent because a verified disposition accounts for them (its certificate in the copy). */
  readonly recordsDisposed: number;
  /** Logged records absent that the copy recorded the server did not serve. */
  readonly recordsMissing: number;
  readonly devices: number;
  readonly buckets: number;
  readonly bucketsWithWraps: number;
  /** Buckets whose recorded destruction checked out against a certificate the copy keeps. */
  readonly bucketsDestroyed: number;
  /** Recorded disposals (certificates that disposed of records) that checked out against a certificate the copy keeps. */
  readonly disposals: number;
  /** True when every logged record is in the copy or disposed. */
  readonly complete: boolean;
  readonly updatedAt: string;
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const invalid = (dir: string, file: string, why: string, cause?: unknown): ConsoleError =>
  new ConsoleError('COPY_INVALID', `${relative(dir, file)}: ${why}`, cause === undefined ? {} : { cause });

/** Verifies the archive copy in `dir`; throws COPY_INVALID (naming the file) or LOG_KEY_MISMATCH. */
export function verifyArchiveCopy(dir: string, options: VerifyCopyOptions = {}): CopyVerification {
  const state = readCopyState(dir);
  if (state === undefined)
    throw new ConsoleError('COPY_INVALID', `${dir} holds no archive copy (${COPY_STATE_FILE} is missing)`);
  if (options.logKey !== undefined && options.logKey !== state.log.verifierKey)
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      `the copy was verified under log key ${state.log.verifierKey}, not the one given: compare with the key the organisation publishes`,
    );
  let root: Uint8Array;
  try {
    const cp = openCheckpoint(state.checkpoint, [state.log.verifierKey], state.log.origin).checkpoint;
    if (cp.treeSize !== state.treeSize) throw new Error(`${cp.treeSize} entries, not ${state.treeSize}`);
    root = cp.rootHash;
  } catch (e) {
    throw invalid(dir, join(dir, COPY_STATE_FILE), 'its checkpoint does not verify with the log key', e);
  }
  const report = options.onProgress ?? (() => undefined);
  const m = state.treeSize;

  // 1. The log.
  /** Certificate hashes (hex) of the log's `disposition` entries, by bucket. */
  const dispositions = new Map<string, Set<string>>();
  let recordsLogged = 0;
  let tree: TreeState = EMPTY_TREE_STATE;
  let disagreeing: { bundle: string; tile: string } | undefined;
  const bundles = Math.ceil(m / TILE_WIDTH);
  for (let b = 0; b < bundles; b++) {
    const bundle = readCopyBundle(dir, b, m);
    const leaves = bundle.raw.map(hashLeaf);
    const tileFile = leafTileFile(dir, b, m);
    let tile: Uint8Array[];
    try {
      tile = decodeTile(
        new Uint8Array(readCopyFile(dir, tileFile, `leaf hashes of bundle ${b}`)),
        leaves.length,
      );
    } catch (e) {
      if (e instanceof ConsoleError) throw e;
      throw invalid(dir, tileFile, `not a tile of ${leaves.length} hashes`, e);
    }
    if (disagreeing === undefined && leaves.some((h, i) => !Buffer.from(h).equals(Buffer.from(tile[i]!))))
      disagreeing = { bundle: bundle.file, tile: tileFile };
    tree = appendLeafHashes(tree, leaves).state;
    for (let i = 0; i < bundle.raw.length; i++) {
      const e = decodeCopyEntry(dir, bundle, b * TILE_WIDTH + i);
      if (e.type === 'archive-record') recordsLogged++;
      else if (e.type === 'disposition') {
        const hashes = dispositions.get(e.bucket) ?? new Set<string>();
        dispositions.set(e.bucket, hashes.add(Buffer.from(e.hash).toString('hex')));
      }
    }
    report('log', Math.min(m, (b + 1) * TILE_WIDTH), m);
  }
  const rootOk = Buffer.from(rootOf(tree)).equals(Buffer.from(root));
  if (disagreeing !== undefined)
    throw rootOk
      ? invalid(
          dir,
          disagreeing.tile,
          'was altered: its leaf hashes are not those of its entry bundle, which the checkpoint proves',
        )
      : invalid(
          dir,
          disagreeing.bundle,
          'was altered: its entries do not hash to its leaf tile nor to the checkpoint',
        );
  // The next run extends the copy from the frontier the state file keeps: it must be this tree's.
  if (
    rootOk &&
    (tree.frontier.length !== state.frontier.length ||
      tree.frontier.some((h, i) => Buffer.from(h).toString('base64') !== state.frontier[i]))
  )
    throw invalid(dir, join(dir, COPY_STATE_FILE), "was altered: its tree frontier is not the log's");
  if (!rootOk)
    throw invalid(
      dir,
      join(dir, 'log'),
      "the log's entries do not hash to the checkpoint's root (entries and tiles were changed alike, or the checkpoint)",
    );

  // 2. The records: page files first (one bit per log entry they list), then every entry.
  const listed = new Uint8Array(Math.ceil(m / 8));
  const lookup = new EntryLookup(dir, m);
  const devices = checkDevicePages(dir, m, lookup, listed);
  const knownMissing = new Set(state.missing.map((r) => r.logIndex));
  const disposedLeaves = new Set(state.disposedLeaves);
  const certified = certifiedRecords(dir, state, dispositions);
  const disposedOf = new Map<string, number>();
  let unlistedMissing = state.missingUnlisted;
  let records = 0;
  let recordBytes = 0;
  let recordsDisposed = 0;
  let recordsMissing = 0;
  const bucketsUsed = new Set<string>();
  for (let b = 0; b < bundles; b++) {
    const bundle = readCopyBundle(dir, b, m);
    for (let i = 0; i < bundle.raw.length; i++) {
      const index = b * TILE_WIDTH + i;
      const e = decodeCopyEntry(dir, bundle, index);
      if (e.type !== 'archive-record') continue;
      const hex = Buffer.from(e.hash).toString('hex');
      const file = recordFile(dir, hex);
      const what = `record ${e.device}#${e.seq}, log index ${index}`;
      if (!existsSync(file)) {
        if (disposedLeaves.has(index) && certified.has(e.bucket)) {
          recordsDisposed++;
          disposedOf.set(e.bucket, (disposedOf.get(e.bucket) ?? 0) + 1);
        } else if (knownMissing.has(index) || unlistedMissing-- > 0) recordsMissing++;
        else throw invalid(dir, file, `missing (${what})`);
        continue;
      }
      const bytes = readCopyFile(dir, file, what);
      if (bytes.length !== e.size || !sha256(bytes).equals(Buffer.from(e.hash)))
        throw invalid(dir, file, `was altered: it does not hash to log entry ${index} (${what})`);
      if ((listed[index >> 3]! & (1 << (index & 7))) === 0) {
        // The run that took the copy found no page for it and listed it missing: so it is.
        if (knownMissing.has(index)) {
          recordsMissing++;
          continue;
        }
        throw invalid(
          dir,
          join(dir, 'devices', e.device),
          `no page lists ${what}: what opening it needs is missing`,
        );
      }
      records++;
      recordBytes += bytes.length;
      bucketsUsed.add(e.bucket);
    }
    report('records', Math.min(m, (b + 1) * TILE_WIDTH), m);
  }

  for (const [bucket, n] of disposedOf)
    if (n > certified.get(bucket)!)
      throw invalid(
        dir,
        join(dir, COPY_STATE_FILE),
        `counts ${n} record(s) of bucket ${bucket} disposed, its certificates ${certified.get(bucket)}`,
      );

  // 3. The keys; 4. the destructions.
  const keys = checkKeys(dir, state, bucketsUsed);
  const bucketsDestroyed = checkDestructions(dir, state, lookup);
  checkDisposals(dir, state, lookup);
  return {
    orgId: state.orgId,
    log: state.log,
    logKeyGiven: options.logKey !== undefined,
    treeSize: m,
    rootHash: Buffer.from(root).toString('base64'),
    checkpoint: state.checkpoint,
    signingKeyFingerprint: state.signingKeyFingerprint,
    recordsLogged,
    records,
    recordBytes,
    recordsDisposed,
    recordsMissing,
    devices,
    buckets: keys.buckets,
    bucketsWithWraps: keys.withWraps,
    bucketsDestroyed,
    disposals: state.disposals.length,
    complete: recordsMissing === 0,
    updatedAt: state.updatedAt,
  };
}

const isStr = (s: unknown): s is string => typeof s === 'string';

/**
 * Records disposed per bucket, as the certificates the copy keeps say, of those the log's
 * `disposition` entries commit to (`dispositions`: certificate hashes by bucket). Only the
 * state's disposed leaves need one: a certificate file that is absent, does not hash to its
 * entry or names another org throws COPY_INVALID.
 */
function certifiedRecords(
  dir: string,
  state: CopyState,
  dispositions: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, number> {
  const out = new Map<string, number>();
  if (state.disposedLeaves.length === 0) return out;
  const seen = new Set<string>();
  for (const hashes of dispositions.values()) {
    for (const hash of hashes) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      if (!existsSync(dispositionFile(dir, hash))) continue;
      const cert = readCertificate(dir, hash, state.orgId);
      for (const b of cert.buckets)
        if (dispositions.get(b.bucketId)?.has(hash) === true)
          out.set(b.bucketId, (out.get(b.bucketId) ?? 0) + b.records);
    }
  }
  return out;
}

/**
 * The certificate the copy keeps under `hash` (hex): its bytes must hash to it, decode, and be
 * of `orgId`; COPY_INVALID naming the file otherwise (or when it is absent).
 */
function readCertificate(dir: string, hash: string, orgId: string): DispositionCertificate {
  const file = dispositionFile(dir, hash);
  const f = readCopyJson(dir, file, 'a disposition certificate');
  const bytes = isStr(f.certificate) ? Buffer.from(f.certificate, 'base64url') : Buffer.alloc(0);
  if (!sha256(bytes).equals(Buffer.from(hash, 'hex')))
    throw invalid(dir, file, "was altered: its certificate does not hash to the log's disposition entry");
  let cert;
  try {
    cert = decodeDispositionCertificate(new Uint8Array(bytes));
  } catch (e) {
    throw invalid(dir, file, 'not a disposition certificate', e);
  }
  if (cert.orgId !== orgId) throw invalid(dir, file, 'a certificate of another organisation');
  return cert;
}

/**
 * Each destruction the state records, against the copy: the log entry at its index is its
 * bucket's `disposition` entry committing to its certificate, which the copy keeps and which says
 * the bucket's keys were destroyed, executed when the state says; the bucket's keys file, when
 * there is one, holds no wrap. Answers how many. (Buckets an older copy listed destroyed without
 * a proof are not checked: there is nothing to check them against.)
 */
function checkDestructions(dir: string, state: CopyState, lookup: EntryLookup): number {
  const stateFile = join(dir, COPY_STATE_FILE);
  for (const d of state.destructions) {
    const what = `the destruction of bucket ${d.bucketId} it records`;
    const e = d.logIndex < state.treeSize ? lookup.entry(d.logIndex).entry : undefined;
    if (
      e?.type !== 'disposition' ||
      e.bucket !== d.bucketId ||
      Buffer.from(e.hash).toString('hex') !== d.certificateHash
    )
      throw invalid(
        dir,
        stateFile,
        `${what}: log entry ${d.logIndex} is not the bucket's disposition under certificate ${d.certificateHash}`,
      );
    const cert = readCertificate(dir, d.certificateHash, state.orgId);
    if (Buffer.from(cert.planHash).toString('hex') !== d.planId)
      throw invalid(
        dir,
        stateFile,
        `${what}: certificate ${d.certificateHash} is of plan ${Buffer.from(cert.planHash).toString('hex')}, not plan ${d.planId}`,
      );
    if (
      cert.executedAt !== d.executedAt ||
      cert.buckets.find((b) => b.bucketId === d.bucketId)?.keysDestroyed !== true
    )
      throw invalid(
        dir,
        dispositionFile(dir, d.certificateHash),
        `does not say bucket ${d.bucketId}'s keys were destroyed at the time the state records`,
      );
    const file = bucketFile(dir, d.bucketId);
    if (!existsSync(file)) continue;
    const f = readCopyJson(dir, file, 'a bucket document and its wraps');
    const held = (w: unknown) => typeof w === 'object' && w !== null && Object.keys(w).length > 0;
    if (held(f.wraps) || held(f.otherWraps))
      throw invalid(dir, file, 'holds wrapped keys of a bucket whose destruction the copy recorded');
  }
  return state.destructions.length;
}

/**
 * Each disposal the state records, against the copy: the log entry at its index is a
 * `disposition` entry committing to its certificate, which the copy keeps, is of the plan
 * recorded, and disposed of at least as many records as recorded. (Which records, the copy
 * cannot tell offline: the plan's span and held leaves are the server's; the run that recorded
 * it checked them.)
 */
function checkDisposals(dir: string, state: CopyState, lookup: EntryLookup): void {
  const stateFile = join(dir, COPY_STATE_FILE);
  for (const d of state.disposals) {
    const what = `the disposal under certificate ${d.certificateHash} it records`;
    const e = d.logIndex < state.treeSize ? lookup.entry(d.logIndex).entry : undefined;
    if (e?.type !== 'disposition' || Buffer.from(e.hash).toString('hex') !== d.certificateHash)
      throw invalid(
        dir,
        stateFile,
        `${what}: log entry ${d.logIndex} is not a disposition under that certificate`,
      );
    const cert = readCertificate(dir, d.certificateHash, state.orgId);
    const plan = Buffer.from(cert.planHash).toString('hex');
    if (plan !== d.planId)
      throw invalid(dir, stateFile, `${what}: the certificate is of plan ${plan}, not plan ${d.planId}`);
    const certified = cert.buckets.reduce((n, b) => n + b.records, 0);
    if (certified < d.records)
      throw invalid(
        dir,
        stateFile,
        `${what}: ${d.records} record(s), the certificate disposed of ${certified}`,
      );
  }
}

/** Checks every device page against the log and marks the entries it lists; the device count. */
function checkDevicePages(dir: string, treeSize: number, lookup: EntryLookup, listed: Uint8Array): number {
  const root = join(dir, 'devices');
  if (!existsSync(root)) return 0;
  const devices = readdirSync(root).sort();
  for (const device of devices) {
    for (const name of readdirSync(join(root, device)).sort()) {
      if (isTempFile(name)) continue;
      const file = join(root, device, name);
      const page = readCopyJson(dir, file, 'a device page');
      if (
        page.format !== DEVICE_PAGE_FORMAT ||
        page.device !== device ||
        !Array.isArray(page.records) ||
        !Array.isArray(page.batches)
      )
        throw invalid(dir, file, `not a page of device ${device}'s records`);
      const batches = page.batches.length;
      for (const r of page.records as CopiedRecordMeta[]) {
        if (
          !Number.isSafeInteger(r?.logIndex) ||
          r.logIndex < 0 ||
          !Number.isSafeInteger(r.seq) ||
          !Number.isSafeInteger(r.size) ||
          !isStr(r.hash) ||
          !/^[0-9a-f]{64}$/.test(r.hash) ||
          !isStr(r.bucketId) ||
          !isStr(r.sessionKey) ||
          !isStr(r.identityKey) ||
          !(r.batch === null || (Number.isSafeInteger(r.batch) && r.batch >= 0 && r.batch < batches))
        )
          throw invalid(dir, file, 'a record in it is malformed');
        // Written by a run that stopped before its state file: the next run takes it with its entry.
        if (r.logIndex >= treeSize) continue;
        const why = entryMismatch(lookup.entry(r.logIndex).entry, {
          device,
          seq: r.seq,
          bucketId: r.bucketId,
          hash: Buffer.from(r.hash, 'hex'),
          size: r.size,
        });
        if (why !== null)
          throw invalid(
            dir,
            file,
            `was altered: record ${device}#${r.seq} is not log entry ${r.logIndex} (${why})`,
          );
        listed[r.logIndex >> 3] = listed[r.logIndex >> 3]! | (1 << (r.logIndex & 7));
      }
    }
  }
  return devices.length;
}

/** The org keys and every bucket keys file; each bucket in `used` must have wraps. */
function checkKeys(dir: string, state: CopyState, used: ReadonlySet<string>) {
  const orgFile = orgKeysFile(dir);
  const org = readCopyJson(dir, orgFile, 'the org signing key and delegations');
  if (!isStr(org.signingPublicKey) || !Array.isArray(org.delegations) || !org.delegations.every(isStr))
    throw invalid(dir, orgFile, 'lacks signingPublicKey or delegations');
  const signing = new Uint8Array(Buffer.from(org.signingPublicKey, 'base64url'));
  if (org.orgId !== state.orgId || keyFingerprint(signing) !== state.signingKeyFingerprint)
    throw invalid(dir, orgFile, 'names another org signing key than the one the copy was taken under');
  let chain: DelegationLink[];
  try {
    chain = buildDelegationChain(
      org.delegations.map((d) => new Uint8Array(Buffer.from(d, 'base64url'))),
      signing,
    );
  } catch (e) {
    throw invalid(dir, orgFile, 'a key-manager delegation does not verify with the org signing key', e);
  }
  // The officer profile's org.json, kept for whoever opens the copy later: checked as an officer session checks it.
  const profileFile = orgProfileFile(dir);
  const profileOrg = readCopyJson(dir, profileFile, "the officer profile's org.json");
  try {
    if (profileOrg.format !== 'custos-org' || profileOrg.orgId !== state.orgId)
      throw new Error('another org');
    verifyOrgFile(profileOrg as unknown as OrgFile, state.signingKeyFingerprint);
  } catch (e) {
    throw invalid(
      dir,
      profileFile,
      'does not verify against the org signing key the copy was taken under',
      e,
    );
  }
  const folder = join(dir, 'keys', 'buckets');
  const names = existsSync(folder) ? readdirSync(folder).sort() : [];
  let withWraps = 0;
  const seen = new Set<string>();
  for (const name of names) {
    if (isTempFile(name)) continue;
    const file = join(folder, name);
    const f = readCopyJson(dir, file, 'a bucket document and its wraps');
    if (!isStr(f.bucketId) || bucketFile(dir, f.bucketId) !== file || !isStr(f.document))
      throw invalid(dir, file, 'is not the keys file of the bucket it is named for');
    try {
      const v = verifyBucketUnderChain(new Uint8Array(Buffer.from(f.document, 'base64url')), chain);
      if (v.doc.org !== state.orgId || v.doc.bucket !== f.bucketId) throw new Error('another org or bucket');
    } catch (e) {
      throw invalid(dir, file, "its bucket document does not verify with the org's key-manager keys", e);
    }
    const wraps = f.wraps as Record<string, unknown> | undefined;
    if (typeof wraps !== 'object' || wraps === null || !Object.values(wraps).every(isStr))
      throw invalid(dir, file, 'its wraps are malformed');
    const others = f.otherWraps as Record<string, unknown> | undefined;
    if (
      others !== undefined &&
      (typeof others !== 'object' ||
        others === null ||
        !Object.values(others).every((l) => Array.isArray(l) && l.every(isStr)))
    )
      throw invalid(dir, file, 'its other wraps are malformed');
    if (Object.keys(wraps).length > 0) withWraps++;
    else if (used.has(f.bucketId))
      throw invalid(dir, file, 'holds no wrapped key, yet the copy holds records sealed to it');
    seen.add(f.bucketId);
  }
  for (const b of used)
    if (!seen.has(b))
      throw invalid(dir, bucketFile(dir, b), 'missing: the copy holds records sealed to this bucket');
  return { buckets: seen.size, withWraps };
}
