/**
 * Archive capture (architecture.md §5): every event this device sends or receives becomes
 * a core/record sealed to the current bucket key of the user's retention class, numbered
 * in the device's hash chain, with blind-index tokens, and queued in the encrypted store —
 * in the same store transaction as the message itself, so a message is never kept without
 * its record (or the reverse).
 *
 * One wrapped session key serves many records (per-record cost is then symmetric crypto
 * only); a new one is drawn per bucket, per process start and every SESSION_KEY_MAX_RECORDS.
 */
import {
  bucketId as toBucketId,
  createSessionSealer,
  deviceId as toDeviceId,
  encodeBody,
  genesisPrevHash,
  orgId as toOrgId,
  sealRecordBytes,
  BucketPublicKey,
  type RecordBody,
  type RecordHash,
  type SessionSealer,
} from '@custos/core';
import type { DeviceProfile } from '../profile.js';
import type { VerifiedBucket } from '../enrol/org-keys.js';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';
import { currentBucket, indexKeyFor } from './bucket-keys.js';
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
 * ({@link dropQueued} writes it before the newest record leaves), so capture writes one
 * row per record, not two. Both live in the encrypted store.
 */
export function loadChain(store: LocalStore): ChainState {
  const saved = savedChain(store);
  const last = store.last('archive-queue');
  if (last === undefined) return saved;
  const q = decodeQueued(last.value);
  return q.seq >= saved.nextSeq ? { nextSeq: q.seq + 1, prev: q.hash } : saved;
}

function savedChain(store: LocalStore): ChainState {
  return store.getJson<ChainState>('archive-state', CHAIN_KEY) ?? { nextSeq: 0, prev: genesisPrevHash() };
}

/**
 * Drops queued record `seq` (its receipt is verified). If it is the newest queued record
 * and newer than the saved head, the head moves to the `chain` row first (same
 * transaction: call inside one), so the head is never lost nor moved back.
 */
export function dropQueued(store: LocalStore, seq: number): void {
  const last = store.last('archive-queue');
  if (last !== undefined && last.ord === seq) {
    const q = decodeQueued(last.value);
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
  stamp: string;
  chain: ChainState;
  /** Session key ids whose wrapped key is known to be stored. */
  storedKeys: Set<string>;
}

/** The bucket chosen by {@link ArchiveCapture.prepare}, and until when that choice holds. */
interface BucketChoice {
  readonly stamp: number;
  readonly bucket: VerifiedBucket;
  /** The choice holds while now < this (the bucket ends, or a newer one begins). */
  readonly until: number;
}

/**
 * Seals, chains and queues this device's archive records.
 *
 * Per-record cost is kept to what a record needs: the chain head, the stored-session-key
 * check, the index key and the current bucket are read from the store once and then kept
 * in memory, each tagged with the store's version of its table ({@link LocalStore.version}),
 * so a write elsewhere or any rollback makes the next record read them again. The queued
 * record itself is the durable chain head (see {@link loadChain}): one row per record.
 */
export class ArchiveCapture {
  #sealer: SessionSealer | undefined;
  #used = 0;
  #chain: ChainCache | undefined;
  #bucket: BucketChoice | undefined;
  #indexKey: { stamp: number; bucket: string; tokenizer: RecordTokenizer | undefined } | undefined;

  readonly #profile: () => DeviceProfile;

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
    let until = bucket.notAfter;
    for (const b of buckets)
      if (b.retentionClass === bucket.retentionClass && b.notBefore > now && b.notBefore < until)
        until = b.notBefore;
    this.#bucket = { stamp, bucket, until };
    return bucket;
  }

  /**
   * Makes sure a session key for the current bucket is ready (HPKE wrapping is async, so it
   * happens before the synchronous capture). NO_BUCKET_KEY when no verified bucket covers now:
   * the caller must not send without capture when the organisation requires it.
   */
  async prepare(): Promise<void> {
    const bucket = this.#currentBucket(this.clock());
    const s = this.#sealer;
    if (s !== undefined && s.context.bucket === bucket.bucketId && this.#used < SESSION_KEY_MAX_RECORDS)
      return;
    s?.destroy();
    this.#sealer = await createSessionSealer(await BucketPublicKey.fromBytes(bucket.publicKey), {
      org: toOrgId(this.#profile().orgId),
      device: toDeviceId(this.#profile().deviceId),
      bucket: toBucketId(bucket.bucketId),
    });
    this.#used = 0;
  }

  #stamp(): string {
    return `${this.store.version('archive-state')}/${this.store.version('archive-queue')}`;
  }

  #chainCache(): ChainCache {
    const stamp = this.#stamp();
    if (this.#chain?.stamp !== stamp)
      this.#chain = { stamp, chain: loadChain(this.store), storedKeys: new Set() };
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
   * Seals `body` as the next record of the chain and queues it (synchronous: call inside the
   * caller's store transaction, after {@link prepare}). Returns its sequence number and hash.
   */
  captureSync(body: RecordBody): { seq: number; hash: RecordHash } {
    const sealer = this.#sealer;
    if (sealer === undefined) throw new Error('ArchiveCapture.prepare() must run first');
    const bucket = sealer.context.bucket as string;
    const cache = this.#chainCache();
    const chain = cache.chain;
    const tokenizer = this.#tokenizerFor(bucket);
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
        seq: chain.nextSeq,
        prev: chain.prev as RecordHash,
        tokens,
        attachmentBytes: body.attachments.reduce((n, a) => n + a.size, 0),
      },
      encodeBody(body),
    );
    const skey = hex(sealer.keyId);
    if (!cache.storedKeys.has(skey) && this.store.get('archive-state', `skey:${skey}`) === undefined) {
      const k: StoredSessionKey = { wrapped: sealer.wrappedKey, uploaded: false };
      this.store.putJson('archive-state', `skey:${skey}`, k);
    }
    const q: QueuedRecord = { seq: chain.nextSeq, bytes: sealed.bytes, hash: sealed.hash, skey, bucket };
    this.store.put('archive-queue', String(q.seq), encodeQueued(q), q.seq);
    const next: ChainState = { nextSeq: chain.nextSeq + 1, prev: sealed.hash };
    // Our own writes are the only change since the cache was exact: it stays exact.
    this.#chain = { stamp: this.#stamp(), chain: next, storedKeys: cache.storedKeys };
    cache.storedKeys.add(skey);
    this.#used++;
    return { seq: q.seq, hash: sealed.hash };
  }

  /** Prepares and captures in one store transaction. */
  async capture(body: RecordBody): Promise<{ seq: number; hash: RecordHash }> {
    await this.prepare();
    return this.store.transaction(() => this.captureSync(body));
  }

  /** Zeroes the in-memory session key. */
  close(): void {
    this.#sealer?.destroy();
    this.#sealer = undefined;
    this.#chain = undefined;
    this.#bucket = undefined;
    this.#indexKey = undefined;
  }
}
