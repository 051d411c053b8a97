/**
 * Per-record sealing under a session key (docs/archive-format.md §4.2–4.3): a sealed body is
 * XAES-256-GCM (C2SP) under the session key, with a fresh random 24-byte nonce per record
 * and the header bytes as associated data:
 *
 *   record_key = XAES-256-GCM subkey Kx of (session_key, nonce[0..12))
 *   sealed     = nonce || AES-256-GCM(record_key, nonce[12..24), plaintext = body, aad = header bytes)
 *
 * Each record has its own key, so a custody manifest can disclose one record's key without
 * opening any other. Sealing derives the keys of 256 records at a time, with one AES-256-ECB
 * call over their nonces (crypto/xaes-256-gcm-kdf.ts); opening derives one key per record.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { CustosError } from '../errors.js';
import { XaesKeyDeriver } from '../crypto/xaes-256-gcm-kdf.js';
import {
  RECORD_GCM_NONCE_LENGTH,
  RECORD_KEY_LENGTH,
  RECORD_KEY_NONCE_LENGTH,
  RECORD_NONCE_LENGTH,
  RECORD_TAG_LENGTH,
  SEALED_BODY_OVERHEAD,
  SESSION_KEY_LENGTH,
} from './seal-params.js';

const CIPHER = 'aes-256-gcm';
// Opening names the tag length explicitly (node then refuses any other tag length); one
// frozen options object serves every decipher, not a fresh literal per record. Sealing
// passes no options: node's GCM default tag is 16 bytes, which is RECORD_TAG_LENGTH (the
// test vectors pin the sealed length), and the options path costs ~0.1 µs per record.
const GCM_OPEN_OPTIONS = Object.freeze({ authTagLength: RECORD_TAG_LENGTH });

/** Record keys derived per AES call, and nonces drawn per CSPRNG call, when sealing. */
export const RECORD_KEY_BATCH = 256;

/** Zeroes a record key (a plain loop: Buffer#fill is a native call, dearer for 32 bytes). */
function wipe(key: Uint8Array): void {
  for (let i = 0; i < key.length; i++) key[i] = 0;
}

function checkSealedRange(buf: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && end <= buf.length && end - start >= SEALED_BODY_OVERHEAD)) {
    throw new CustosError('MALFORMED_RECORD', `a sealed body is at least ${SEALED_BODY_OVERHEAD} bytes`);
  }
}

/**
 * AES-256-GCM open of nonce || ciphertext || tag at `buf[start..end)` under `key` (GCM
 * nonce = the last 12 nonce bytes, `aad`), on views of the nonce, ciphertext and tag (no
 * copy). With `wipeKey` the key is zeroed as soon as the decipher holds its own copy.
 * Throws DECRYPTION_FAILED.
 */
function gcmOpenAt(
  key: Uint8Array,
  wipeKey: boolean,
  aad: Uint8Array,
  buf: Uint8Array,
  start: number,
  end: number,
): Uint8Array {
  const tagAt = end - RECORD_TAG_LENGTH;
  const ab = buf.buffer;
  const off = buf.byteOffset;
  const ctAt = start + RECORD_NONCE_LENGTH;
  const d = createDecipheriv(
    CIPHER,
    key,
    new Uint8Array(ab, off + ctAt - RECORD_GCM_NONCE_LENGTH, RECORD_GCM_NONCE_LENGTH),
    GCM_OPEN_OPTIONS,
  );
  if (wipeKey) wipe(key);
  d.setAuthTag(new Uint8Array(ab, off + tagAt, RECORD_TAG_LENGTH));
  d.setAAD(aad);
  const pt = d.update(new Uint8Array(ab, off + ctAt, tagAt - ctAt));
  try {
    d.final();
  } catch (e) {
    pt.fill(0);
    throw new CustosError(
      'DECRYPTION_FAILED',
      'record body failed authentication (wrong key, header or bytes)',
      {
        cause: e,
      },
    );
  }
  return pt;
}

/**
 * Opens one sealed body (nonce || ciphertext || tag) with that record's own key alone —
 * `record_key` of docs/archive-format.md §4.2, as a custody manifest v2 carries it — and
 * the header bytes as `aad`. A record key opens its one record and nothing else (a fresh
 * nonce per record). Throws INVALID_ARGUMENT for a key that is not 32 bytes,
 * MALFORMED_RECORD for a sealed body under 40 bytes, and DECRYPTION_FAILED when the body
 * does not authenticate: a wrong key, or any changed byte of header, GCM nonce (the last
 * 12 nonce bytes), ciphertext or tag. (The first 12 nonce bytes only derive the key; a
 * change there is caught by the record hash, and by a holder of the session key, whose
 * derived key then differs.)
 */
export function openWithRecordKey(recordKey: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (recordKey.length !== RECORD_KEY_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `a record key is ${RECORD_KEY_LENGTH} bytes`);
  }
  checkSealedRange(sealed, 0, sealed.length);
  return gcmOpenAt(recordKey, false, aad, sealed, 0, sealed.length);
}

/** Where per-record nonces come from; only tests supply anything but {@link RANDOM_NONCES}. */
export interface NonceSource {
  /** Fills `out` (a whole number of 24-byte nonces) with fresh nonces. */
  fill(out: Uint8Array): void;
}

/** Nonces from node's CSPRNG, a batch per call. */
export const RANDOM_NONCES: NonceSource = Object.freeze({
  fill: (out: Uint8Array): void => {
    randomFillSync(out);
  },
});

/** How a {@link RecordCipher} seals: its nonce source and batch size (tests only change these). */
export interface RecordCipherOptions {
  readonly nonces?: NonceSource;
  /** Nonces drawn and record keys derived at a time; at least 1. */
  readonly keyBatch?: number;
}

/**
 * Holds a session key as an XAES-256-GCM key deriver and seals or opens record bodies with
 * per-record keys derived from it. One instance per session key; {@link destroy} ends it.
 *
 * Sealing keeps a batch of drawn nonces and their derived keys; each key is zeroed as soon
 * as its cipher holds its own copy, and the unused rest on destroy. They are no more
 * exposed than the session key itself, which this object holds for its whole life.
 */
export class RecordCipher {
  readonly #kdf: XaesKeyDeriver;
  readonly #source: NonceSource;
  readonly #batch: number;
  // The sealing batch, allocated on first seal (openers never seal): nonces, their keys,
  // and per-slot views of each key and of each nonce's last 12 bytes (the GCM nonce), made
  // once so that a seal creates no view.
  #nonces = Buffer.alloc(0);
  #keys = Buffer.alloc(0);
  #keyViews: Buffer[] = [];
  #gcmNonceViews: Buffer[] = [];
  #next: number;
  #destroyed = false;

  /** `sessionKey` is absorbed into an AES context; the caller should zero its own copy. */
  constructor(sessionKey: Uint8Array, options: RecordCipherOptions = {}) {
    if (sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a session key is ${SESSION_KEY_LENGTH} bytes`);
    }
    const batch = options.keyBatch ?? RECORD_KEY_BATCH;
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= 65_536)) {
      throw new CustosError('INVALID_ARGUMENT', 'record key batch must be an integer in 1..65536');
    }
    this.#kdf = new XaesKeyDeriver(sessionKey); // MUST NOT log: key material
    this.#source = options.nonces ?? RANDOM_NONCES;
    this.#batch = batch;
    this.#next = batch;
  }

  /**
   * The record key for a record nonce: XAES-256-GCM's Kx of (session key, nonce[0..12)), as
   * a fresh Buffer. `nonce` is a record's 24-byte nonce. MUST NOT log: key material.
   */
  deriveRecordKey(nonce: Uint8Array): Buffer {
    if (nonce.length !== RECORD_NONCE_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a record nonce is ${RECORD_NONCE_LENGTH} bytes`);
    }
    return this.#kdf.deriveOne(nonce, 0);
  }

  #refill(): void {
    if (this.#destroyed) throw new CustosError('INVALID_ARGUMENT', 'session key was destroyed');
    const n = this.#batch;
    if (this.#nonces.length === 0) {
      this.#nonces = Buffer.alloc(n * RECORD_NONCE_LENGTH);
      this.#keys = Buffer.alloc(n * RECORD_KEY_LENGTH);
      for (let i = 0; i < n; i++) {
        this.#keyViews.push(this.#keys.subarray(i * RECORD_KEY_LENGTH, (i + 1) * RECORD_KEY_LENGTH));
        const gcmNonceAt = i * RECORD_NONCE_LENGTH + RECORD_KEY_NONCE_LENGTH;
        this.#gcmNonceViews.push(this.#nonces.subarray(gcmNonceAt, gcmNonceAt + RECORD_GCM_NONCE_LENGTH));
      }
    }
    this.#source.fill(this.#nonces);
    this.#kdf.deriveManyInto(this.#nonces, 0, n, this.#keys, 0); // MUST NOT log: key material
    this.#next = 0;
  }

  /** Seals `body` with `aad` bound under a fresh nonce; returns nonce || ciphertext || tag. */
  seal(aad: Uint8Array, body: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(body.length + SEALED_BODY_OVERHEAD);
    this.sealInto(out, 0, aad, body);
    return out;
  }

  /**
   * Writes nonce || ciphertext || tag into `out` at `at` (body.length + 40 bytes), so a
   * record is assembled in one buffer without an intermediate copy.
   */
  sealInto(out: Uint8Array, at: number, aad: Uint8Array, body: Uint8Array): void {
    if (this.#next === this.#batch) this.#refill();
    const i = this.#next++;
    const nonces = this.#nonces;
    const from = i * RECORD_NONCE_LENGTH;
    for (let j = 0; j < RECORD_NONCE_LENGTH; j++) out[at + j] = nonces[from + j]!;
    const key = this.#keyViews[i]!;
    const c = createCipheriv(CIPHER, key, this.#gcmNonceViews[i]!);
    wipe(key); // each key seals exactly one record
    c.setAAD(aad);
    const ct = c.update(body);
    c.final();
    out.set(ct, at + RECORD_NONCE_LENGTH);
    out.set(c.getAuthTag(), at + RECORD_NONCE_LENGTH + ct.length);
  }

  /** Opens nonce || ciphertext || tag with `aad`; throws DECRYPTION_FAILED on any mismatch. */
  open(aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    return this.openAt(aad, sealed, 0, sealed.length);
  }

  /**
   * {@link open} of the sealed body at `buf[start..end)`, so that a record's body is opened
   * where it lies (views of the nonce, ciphertext and tag only, no copy).
   */
  openAt(aad: Uint8Array, buf: Uint8Array, start: number, end: number): Uint8Array {
    checkSealedRange(buf, start, end);
    const key = this.#kdf.deriveOne(buf, start); // MUST NOT log: key material
    return gcmOpenAt(key, true, aad, buf, start, end);
  }

  /** Zeroes the unused record keys and ends the session key's AES context; unusable afterwards. */
  destroy(): void {
    this.#destroyed = true;
    this.#keys.fill(0);
    this.#next = this.#batch;
    this.#kdf.destroy();
  }
}
