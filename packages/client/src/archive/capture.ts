/**
 * Archive capture (architecture.md §5): every event this device sends or receives becomes
 * a core/record sealed to the current bucket key of the user's retention class, numbered
 * in the device's hash chain, with blind-index tokens, and queued in the encrypted store.
 * The event is numbered and its encoded body queued in the same store transaction as the
 * message itself, so a message is never kept without its record (or the reverse); tokens,
 * sealing and chaining follow in a batch transaction before upload (pending-records.ts).
 *
 * One wrapped session key serves many records (per-record cost is then symmetric crypto
 * only); a new one is drawn per bucket, per process start and every SESSION_KEY_MAX_RECORDS.
 */
import {
  bucketId as toBucketId,
  canonicalBlobIds,
  createSessionSealer,
  decodeBody,
  deviceId as toDeviceId,
  encodeBody,
  genesisPrevHash,
  orgId as toOrgId,
  sealRecordBytes,
  BucketPublicKey,
  BLOB_ID_REGEX,
  MAX_HEADER_BLOB_IDS,
  type RecordBody,
  type RecordHash,
  type SessionSealer,
} from '@custos/core';
import { ClientError } from '../errors.js';
import type { DeviceProfile } from '../profile.js';
import type { VerifiedBucket } from '../enrol/org-keys.js';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';
import { currentBucket, indexKeyFor } from './bucket-keys.js';
import { disposedBucketIds } from './disposed-buckets.js';
import { decodePending, encodePending, isPending, type PendingRecord } from './pending-records.js';
import { RecordTokenizer } from './record-tokens.js';

/** Records sealed under one session key before a fresh one is drawn. */
export const SESSION_KEY_MAX_RECORDS = 100_000;

/** A queued record as kept in the encrypted `archive-queue` table (key = seq). */
export interface QueuedRecord {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  /** hex SHA-256 of the wrapped session key it is sealed under. */
  readonly skey: string;
  readonly bucket: string;
}

/** A wrapped session key and whether the server has it. */
export interface StoredSessionKey {
  readonly wrapped: Uint8Array;
  readonly uploaded: boolean;
}

/** The device's chain head. */
export interface ChainState {
  readonly nextSeq: number;
  readonly prev: Uint8Array;
}

const CHAIN_KEY = 'chain';

/**
 * Binary form of a queued record (the hot path: no JSON, no base64):
 * u32 seq-high ‖ u32 seq-low ‖ hash(32) ‖ skey(32) ‖ u16 len ‖ bucket ‖ record bytes.
 */
export function encodeQueued(q: QueuedRecord): Uint8Array {
  const bucket = Buffer.from(q.bucket, 'utf8');
  const out = Buffer.allocUnsafe(8 + 32 + 32 + 2 + bucket.length + q.bytes.length);
  out.writeUInt32BE(Math.floor(q.seq / 2 ** 32), 0);
  out.writeUInt32BE(q.seq >>> 0, 4);
  out.set(q.hash, 8);
  out.write(q.skey, 40, 32, 'hex');
  out.writeUInt16BE(bucket.length, 72);
  out.set(bucket, 74);
  out.set(q.bytes, 74 + bucket.length);
  return out;
}

/** Inverse of {@link encodeQueued}. */
export function decodeQueued(b: Uint8Array): QueuedRecord {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const n = buf.readUInt16BE(72);
  return {
    seq: buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4),
    hash: buf.subarray(8, 40),
    skey: buf.subarray(40, 72).toString('hex'),
    bucket: buf.subarray(74, 74 + n).toString('utf8'),
    bytes: buf.subarray(74 + n),
  };
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * The chain head (seq 0 with the genesis prev hash before the first record). The newest
 * queued record is the head; the `chain` row holds it only once the queue no longer does
 * ({@link dropQueued} writes it), so capture writes one row per record, not two. Both live
 * in the encrypted store. While the newest queued record is still pending (not sealed),
 * `prev` is empty: it is known once {@link ArchiveCapture.sealPending} ran.
 */
export function loadChain(store: LocalStore): ChainState {
  const saved = savedChain(store);
  const last = store.last('archive-queue');
  if (last === undefined || last.ord === null || last.ord < saved.nextSeq) return saved;
  if (isPending(last.value)) return { nextSeq: last.ord + 1, prev: new Uint8Array(0) };
  const q = decodeQueued(last.value);
  return { nextSeq: q.seq + 1, prev: q.hash };
}

function savedChain(store: LocalStore): ChainState {
  return store.getJson<ChainState>('archive-state', CHAIN_KEY) ?? { nextSeq: 0, prev: genesisPrevHash() };
}

/** The hash record `seq` chains to: the sealed record before it, or the saved head. */
function prevOf(store: LocalStore, seq: number): Uint8Array {
  const row = seq === 0 ? undefined : store.get('archive-queue', String(seq - 1));
  if (row !== undefined && !isPending(row)) return decodeQueued(row).hash;
  const saved = savedChain(store);
  if (saved.nextSeq !== seq)
    throw new ClientError('STORE_CORRUPT', `the archive chain has no head before record ${seq}`);
  return saved.prev;
}

/**
 * Drops queued record `seq` (its receipt is verified). If no sealed record follows it in
 * the queue and it is newer than the saved head, the head moves to the `chain` row first
 * (same transaction: call inside one), so the head is never lost nor moved back — a
 * pending record after it still needs its hash.
 */
export function dropQueued(store: LocalStore, seq: number): void {
  const row = store.get('archive-queue', String(seq));
  const next = store.get('archive-queue', String(seq + 1));
  if (row !== undefined && !isPending(row) && (next === undefined || isPending(next))) {
    const q = decodeQueued(row);
    if (q.seq >= savedChain(store).nextSeq) {
      const head: ChainState = { nextSeq: q.seq + 1, prev: q.hash };
      store.putJson('archive-state', CHAIN_KEY, head);
    }
  }
  store.delete('archive-queue', String(seq));
}

/** What capture keeps in memory between records (see {@link ArchiveCapture}). */
interface ChainCache {
  /** The store's versions of `archive-state` and `archive-queue` when this was last exact. */
  stateVersion: number;
  queueVersion: number;
  nextSeq: number;
}

/** Pending records sealed per transaction. */
const SEAL_CHUNK = 1000;

/** The bucket chosen by {@link ArchiveCapture.prepare}, and until when that choice holds. */
interface BucketChoice {
  readonly stamp: number;
  readonly bucket: VerifiedBucket;
  /** The choice holds while now < this (the bucket ends, or a newer one begins). */
  readonly until: number;
}

/**
 * Numbers and queues this device's archive records, then seals and chains them.
 *
 * Per-record cost in the send transaction is kept to what durability needs: the event's
 * number and its encoded body, one row. The chain head and the current bucket are read
 * from the store once and then kept in memory, each tagged with the store's version of its
 * table ({@link LocalStore.version}), so a write elsewhere or any rollback makes the next
 * record read them again. Tokens, sealing (one wrapped session key per bucket for up to
 * SESSION_KEY_MAX_RECORDS records) and chaining run in {@link sealPending}, in batches.
 */
export class ArchiveCapture {
  /** Session sealers by bucket id, with the records each has sealed. */
  readonly #sealers = new Map<string, { sealer: SessionSealer; used: number }>();
  #prepared: VerifiedBucket | undefined;
  #chain: ChainCache | undefined;
  #bucket: BucketChoice | undefined;
  #indexKey: { stamp: number; bucket: string; tokenizer: RecordTokenizer | undefined } | undefined;
  /** Session key ids whose wrapped key is known to be stored. */
  readonly #storedKeys = new Set<string>();

  readonly #profile: () => DeviceProfile;

  /**
   * Called after each {@link captureSync}, inside the capturing transaction (which may
   * still roll back): the client schedules sealing and upload from it. Must not throw.
   */
  onCapture: (() => void) | undefined;

  /**
   * `profile` may be a function returning the current profile: the retention class can
   * change while the client is open (an admin sets it; archive-material.ts reads it).
   */
  constructor(
    private readonly store: LocalStore,
    profile: DeviceProfile | (() => DeviceProfile),
    private readonly clock: () => number = Date.now,
  ) {
    this.#profile = typeof profile === 'function' ? profile : () => profile;
  }

  /** The current bucket of the user's class, from memory while neither time, class nor the table moved. */
  #currentBucket(now: number): VerifiedBucket {
    const stamp = this.store.version('buckets');
    const retentionClass = this.#profile().retentionClass;
    const c = this.#bucket;
    if (
      c !== undefined &&
      c.stamp === stamp &&
      c.bucket.retentionClass === retentionClass &&
      now >= c.bucket.notBefore &&
      now < c.until
    )
      return c.bucket;
    const buckets = this.store.list('buckets').map((r) => decodeJson<VerifiedBucket>(r.value));
    const bucket = currentBucket(this.store, retentionClass, now, buckets);
    // notAfter is the window's last millisecond (inclusive): the choice ends just after it.
    let until = bucket.notAfter + 1;
    for (const b of buckets)
      if (b.retentionClass === bucket.retentionClass && b.notBefore > now && b.notBefore < until)
        until = b.notBefore;
    this.#bucket = { stamp, bucket, until };
    return bucket;
  }

  /**
   * Chooses the current bucket of the user's class for the next captures (before the
   * synchronous capture). NO_BUCKET_KEY when no verified bucket covers now: the caller must
   * not send without capture when the organisation requires it.
   */
  prepare(): Promise<void> {
    // A throw in the executor rejects (NO_BUCKET_KEY reaches the caller as a rejection).
    return new Promise((resolve) => {
      // An org that does not archive has no buckets: nothing to choose, nothing is captured.
      if (this.#profile().captureRequired) this.#prepared = this.#currentBucket(this.clock());
      resolve();
    });
  }

  /** A sealer for `bucketId` that can seal `n` more records under its session key. */
  async #sealerFor(bucketId: string, n: number): Promise<SessionSealer> {
    const have = this.#sealers.get(bucketId);
    if (have !== undefined && have.used + n <= SESSION_KEY_MAX_RECORDS) return have.sealer;
    have?.sealer.destroy();
    const bucket = this.store.getJson<VerifiedBucket>('buckets', bucketId);
    if (bucket === undefined)
      throw new ClientError('STORE_CORRUPT', `a queued record names bucket ${bucketId}, which is not stored`);
    const sealer = await createSessionSealer(await BucketPublicKey.fromBytes(bucket.publicKey), {
      org: toOrgId(this.#profile().orgId),
      device: toDeviceId(this.#profile().deviceId),
      bucket: toBucketId(bucketId),
    });
    this.#sealers.set(bucketId, { sealer, used: 0 });
    return sealer;
  }

  /** The chain head's next seq, cached while the store's versions of both tables hold. */
  #chainCache(): ChainCache {
    const stateVersion = this.store.version('archive-state');
    const queueVersion = this.store.version('archive-queue');
    const c = this.#chain;
    if (c !== undefined && c.stateVersion === stateVersion && c.queueVersion === queueVersion) return c;
    this.#chain = { stateVersion, queueVersion, nextSeq: loadChain(this.store).nextSeq };
    return this.#chain;
  }

  #tokenizerFor(bucket: string): RecordTokenizer | undefined {
    const stamp = this.store.version('index-keys');
    const c = this.#indexKey;
    if (c !== undefined && c.stamp === stamp && c.bucket === bucket) return c.tokenizer;
    const key = indexKeyFor(this.store, bucket);
    const tokenizer = key === undefined ? undefined : new RecordTokenizer(key);
    this.#indexKey = { stamp, bucket, tokenizer };
    return tokenizer;
  }

  /**
   * Numbers `body` as the next record of the chain and queues it, pending (synchronous: call
   * inside the caller's store transaction, after {@link prepare}). The body is encoded (and
   * so checked) now; {@link sealPending} seals it later. Returns its sequence number. A device
   * whose organisation's signed archive policy is `none` captures nothing: the messenger does
   * not call this there, and a call is CAPTURE_REQUIRED (no bucket to seal to).
   */
  captureSync(body: RecordBody): { seq: number } {
    if (!this.#profile().captureRequired)
      throw new ClientError(
        'CAPTURE_REQUIRED',
        "this organisation's archive policy is none: it captures nothing",
      );
    const bucket = this.#prepared;
    if (bucket === undefined) throw new Error('ArchiveCapture.prepare() must run first');
    const cache = this.#chainCache();
    const seq = cache.nextSeq;
    const row = encodePending({ seq, bucket: bucket.bucketId, body: encodeBody(body) });
    this.store.put('archive-queue', String(seq), row, seq);
    // Our own write is the only change since the cache was exact: it stays exact.
    this.#chain = {
      stateVersion: cache.stateVersion,
      queueVersion: this.store.version('archive-queue'),
      nextSeq: seq + 1,
    };
    this.onCapture?.();
    return { seq };
  }

  /** The seq of the oldest pending record (pending records are the newest rows of the queue). */
  #firstPending(): number | undefined {
    const last = this.store.last('archive-queue');
    if (last === undefined || last.ord === null || !isPending(last.value)) return undefined;
    // Binary search between the oldest queued record and the newest.
    let lo = this.store.listAfter('archive-queue', -1, 1)[0]?.ord ?? last.ord;
    let hi = last.ord;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.store.get('archive-queue', String(mid));
      if (row !== undefined && isPending(row)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Buckets of pending records whose index key this device does not hold (their records
   * would be sealed without blind tokens). Reads the oldest and newest pending rows only:
   * pending rows are the few captured since the last seal, and their bucket changes at most
   * at a period's end or a class change.
   */
  pendingBucketsWithoutIndexKey(): string[] {
    const first = this.#firstPending();
    const last = this.store.last('archive-queue');
    if (first === undefined || last === undefined) return [];
    const rows = [this.store.get('archive-queue', String(first)), last.value];
    const buckets = new Set(
      rows.flatMap((r) => (r !== undefined && isPending(r) ? [decodePending(r).bucket] : [])),
    );
    return [...buckets].filter((b) => this.#tokenizerFor(b) === undefined);
  }

  /**
   * Seals every pending record: blind tokens (when the device holds the bucket's index key),
   * the chain link, the seal under a session key of the bucket chosen at capture — or of the
   * current bucket when the server has since reported that one disposed of (a record sealed
   * to it could never be archived; disposed-buckets.ts); up to SEAL_CHUNK records per store
   * transaction. Resolves to the number sealed. NO_BUCKET_KEY when a record must move and
   * no bucket covers now (it stays pending).
   */
  async sealPending(): Promise<number> {
    const first = this.#firstPending();
    if (first === undefined) return 0;
    const disposed = disposedBucketIds(this.store);
    const target = (p: PendingRecord): PendingRecord =>
      disposed.has(p.bucket) ? { ...p, bucket: this.#currentBucket(this.clock()).bucketId } : p;
    let sealed = 0;
    for (let after = first - 1; ;) {
      const chunk = this.store
        .listAfter('archive-queue', after, SEAL_CHUNK)
        .flatMap((r) => (isPending(r.value) ? [target(decodePending(r.value))] : []));
      if (chunk.length === 0) return sealed;
      const sealers = new Map<string, SessionSealer>();
      for (const b of new Set(chunk.map((p) => p.bucket)))
        sealers.set(b, await this.#sealerFor(b, chunk.length));
      this.store.transaction(() => {
        let prev = prevOf(this.store, chunk[0]!.seq);
        for (const p of chunk) prev = this.#seal(p, sealers.get(p.bucket)!, prev);
      });
      sealed += chunk.length;
      after = chunk.at(-1)!.seq;
    }
  }

  #seal(p: PendingRecord, sealer: SessionSealer, prev: Uint8Array): RecordHash {
    const body = decodeBody(p.body);
    const tokenizer = this.#tokenizerFor(p.bucket);
    const tokens =
      tokenizer === undefined
        ? []
        : tokenizer.tokens({
            ...(body.text === undefined ? {} : { text: body.text }),
            participants: body.participants,
            conversationId: body.conversationId,
            timestamp: body.sentAt,
          });
    const sealed = sealRecordBytes(
      sealer,
      {
        org: sealer.context.org,
        device: sealer.context.device,
        bucket: sealer.context.bucket,
        seq: p.seq,
        prev: prev as RecordHash,
        tokens,
        attachmentBytes: body.attachments.reduce((n, a) => n + a.size, 0),
        blobIds: listedBlobIds(body),
      },
      p.body,
    );
    const skey = hex(sealer.keyId);
    if (!this.#storedKeys.has(skey) && this.store.get('archive-state', `skey:${skey}`) === undefined) {
      const k: StoredSessionKey = { wrapped: sealer.wrappedKey, uploaded: false };
      this.store.putJson('archive-state', `skey:${skey}`, k);
    }
    this.#storedKeys.add(skey);
    const q: QueuedRecord = { seq: p.seq, bytes: sealed.bytes, hash: sealed.hash, skey, bucket: p.bucket };
    this.store.put('archive-queue', String(q.seq), encodeQueued(q), q.seq);
    this.#sealers.get(p.bucket)!.used++;
    return sealed.hash;
  }

  /** Prepares, captures in one store transaction and seals (tests, tools). */
  async capture(body: RecordBody): Promise<{ seq: number; hash: RecordHash }> {
    await this.prepare();
    const { seq } = this.store.transaction(() => this.captureSync(body));
    await this.sealPending();
    return { seq, hash: decodeQueued(this.store.get('archive-queue', String(seq))!).hash as RecordHash };
  }

  /** Zeroes the in-memory session keys. */
  close(): void {
    for (const { sealer } of this.#sealers.values()) sealer.destroy();
    this.#sealers.clear();
    this.#storedKeys.clear();
    this.#prepared = undefined;
    this.#chain = undefined;
    this.#bucket = undefined;
    this.#indexKey = undefined;
  }
}

/**
 * The blob ids a record's header lists ("att", docs/archive-format.md §2): its attachments'
 * ids, so the server keeps those blobs while the record lives (docs/operations.md, "Blobs").
 * An id that is no blob id (a peer may write anything) names no blob on the server and is
 * left out. A message carries at most MAX_ATTACHMENTS (32), far below the header's limit;
 * the cut only keeps a body from elsewhere from making a record that could never be sealed.
 */
export function listedBlobIds(body: RecordBody): string[] {
  const ids = canonicalBlobIds(body.attachments.map((a) => a.blobId).filter((id) => BLOB_ID_REGEX.test(id)));
  return ids.slice(0, MAX_HEADER_BLOB_IDS);
}
