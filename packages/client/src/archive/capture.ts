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
  tokensForRecord,
  BucketPublicKey,
  type RecordBody,
  type RecordHash,
  type SessionSealer,
} from '@custos/core';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { currentBucket, indexKeyFor } from './bucket-keys.js';

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

/** The chain head (seq 0 with the genesis prev hash before the first record). */
export function loadChain(store: LocalStore): ChainState {
  return store.getJson<ChainState>('archive-state', CHAIN_KEY) ?? { nextSeq: 0, prev: genesisPrevHash() };
}

/** Seals, chains and queues this device's archive records. */
export class ArchiveCapture {
  #sealer: SessionSealer | undefined;
  #used = 0;

  constructor(
    private readonly store: LocalStore,
    private readonly profile: DeviceProfile,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Makes sure a session key for the current bucket is ready (HPKE wrapping is async, so it
   * happens before the synchronous capture). NO_BUCKET_KEY when no verified bucket covers now:
   * the caller must not send without capture when the organisation requires it.
   */
  async prepare(): Promise<void> {
    const bucket = currentBucket(this.store, this.profile.retentionClass, this.clock());
    const s = this.#sealer;
    if (s !== undefined && s.context.bucket === bucket.bucketId && this.#used < SESSION_KEY_MAX_RECORDS)
      return;
    s?.destroy();
    this.#sealer = await createSessionSealer(await BucketPublicKey.fromBytes(bucket.publicKey), {
      org: toOrgId(this.profile.orgId),
      device: toDeviceId(this.profile.deviceId),
      bucket: toBucketId(bucket.bucketId),
    });
    this.#used = 0;
  }

  /**
   * Seals `body` as the next record of the chain and queues it (synchronous: call inside the
   * caller's store transaction, after {@link prepare}). Returns its sequence number and hash.
   */
  captureSync(body: RecordBody): { seq: number; hash: RecordHash } {
    const sealer = this.#sealer;
    if (sealer === undefined) throw new Error('ArchiveCapture.prepare() must run first');
    const bucket = sealer.context.bucket as string;
    const chain = loadChain(this.store);
    const indexKey = indexKeyFor(this.store, bucket);
    const tokens =
      indexKey === undefined
        ? []
        : tokensForRecord(indexKey, {
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
    if (this.store.get('archive-state', `skey:${skey}`) === undefined) {
      const k: StoredSessionKey = { wrapped: sealer.wrappedKey, uploaded: false };
      this.store.putJson('archive-state', `skey:${skey}`, k);
    }
    const q: QueuedRecord = { seq: chain.nextSeq, bytes: sealed.bytes, hash: sealed.hash, skey, bucket };
    this.store.put('archive-queue', String(q.seq), encodeQueued(q), q.seq);
    this.store.putJson('archive-state', CHAIN_KEY, { nextSeq: chain.nextSeq + 1, prev: sealed.hash });
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
  }
}
