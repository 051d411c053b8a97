/**
 * Per-record sealing under a session key (docs/archive-format.md §4.3):
 *
 *   record_key = HMAC-SHA256(session_key, "custos-archive-v1 record-key" || 0x00 || salt)
 *   sealed     = salt || AES-256-GCM(record_key, nonce = 0^12, plaintext = body, aad = header bytes)
 *
 * Every record gets a fresh 16-byte random salt, hence its own key, and each key encrypts
 * exactly once; a fixed nonce is then safe. The HMAC runs from precomputed pad midstates
 * (crypto/hmac-sha256.ts), because in bench/suites/record.ts a per-record HKDF, or even one
 * createHmac, costs about as much as the AES-GCM it keys.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { CustosError } from '../errors.js';
import { HmacSha256 } from '../crypto/hmac-sha256.js';
import {
  RECORD_KEY_LABEL,
  RECORD_KEY_LENGTH,
  RECORD_NONCE_LENGTH,
  RECORD_SALT_LENGTH,
  RECORD_TAG_LENGTH,
  SEALED_BODY_OVERHEAD,
  SESSION_KEY_LENGTH,
} from './seal-params.js';

const LABEL = Buffer.from(RECORD_KEY_LABEL + '\u0000', 'ascii');
const ZERO_NONCE = Buffer.alloc(RECORD_NONCE_LENGTH);
const CIPHER = 'aes-256-gcm';
// Opening names the tag length explicitly (node then refuses any other tag length); one
// frozen options object serves every decipher, not a fresh literal per record. Sealing
// passes no options: node's GCM default tag is 16 bytes, which is RECORD_TAG_LENGTH (the
// test vectors pin the sealed length), and the options path costs ~0.1 µs per record.
const GCM_OPEN_OPTIONS = Object.freeze({ authTagLength: RECORD_TAG_LENGTH });

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
 * AES-256-GCM open of salt || ciphertext || tag at `buf[start..end)` under `key` (zero
 * nonce, `aad`), on views of the ciphertext and tag (no copy). With `wipeKey` the key is
 * zeroed as soon as the decipher holds its own copy. Throws DECRYPTION_FAILED.
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
  const d = createDecipheriv(CIPHER, key, ZERO_NONCE, GCM_OPEN_OPTIONS);
  if (wipeKey) wipe(key);
  const ab = buf.buffer;
  const off = buf.byteOffset;
  d.setAuthTag(new Uint8Array(ab, off + tagAt, RECORD_TAG_LENGTH));
  d.setAAD(aad);
  const pt = d.update(
    new Uint8Array(ab, off + start + RECORD_SALT_LENGTH, tagAt - start - RECORD_SALT_LENGTH),
  );
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
 * Opens one sealed body (salt || ciphertext || tag) with that record's own key alone —
 * `record_key` of docs/archive-format.md §4.2, as a custody manifest v2 carries it — and
 * the header bytes as `aad`. A record key opens its one record and nothing else (a fresh
 * salt per record). Throws INVALID_ARGUMENT for a key that is not 32 bytes,
 * MALFORMED_RECORD for a sealed body under 32 bytes, and DECRYPTION_FAILED when the body
 * does not authenticate: a wrong key, or any changed byte of header, ciphertext or tag.
 * (The salt is not under the tag; a changed salt is caught by the record hash, and by a
 * holder of the session key, whose derived key then differs.)
 */
export function openWithRecordKey(recordKey: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (recordKey.length !== RECORD_KEY_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `a record key is ${RECORD_KEY_LENGTH} bytes`);
  }
  checkSealedRange(sealed, 0, sealed.length);
  return gcmOpenAt(recordKey, false, aad, sealed, 0, sealed.length);
}

/** Where per-record salts come from; only tests supply anything but {@link RandomSaltPool}. */
export interface SaltSource {
  /** Writes the next 16-byte salt into `out` at `at`. */
  nextInto(out: Uint8Array, at: number): void;
}

/** Random salts drawn from a pool refilled in bulk (one CSPRNG call per 256 records, not per record). */
export class RandomSaltPool implements SaltSource {
  static readonly #POOL_SALTS = 256;
  readonly #pool = Buffer.allocUnsafe(RECORD_SALT_LENGTH * RandomSaltPool.#POOL_SALTS);
  #offset = this.#pool.length;

  /** Copies the next unused salt out (each pool byte is handed out once) and wipes it from the pool. */
  nextInto(out: Uint8Array, at: number): void {
    if (this.#offset === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const p = this.#pool;
    for (let i = 0; i < RECORD_SALT_LENGTH; i++) {
      out[at + i] = p[this.#offset + i]!;
      p[this.#offset + i] = 0;
    }
    this.#offset += RECORD_SALT_LENGTH;
  }
}

/**
 * Holds a session key as HMAC pad midstates and seals or opens record bodies with keys
 * derived from it. One instance per session key; {@link destroy} zeroes it.
 */
export class RecordCipher {
  readonly #mac: HmacSha256;
  // label || 0x00 || salt — the salt slot is rewritten per record.
  readonly #msg = Buffer.alloc(LABEL.length + RECORD_SALT_LENGTH);
  // The current record key; createCipheriv copies it, and it is zeroed right after.
  readonly #key = Buffer.alloc(RECORD_KEY_LENGTH);
  #destroyed = false;

  /** `sessionKey` is absorbed into HMAC midstates; the caller should zero its own copy. */
  constructor(sessionKey: Uint8Array) {
    if (sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a session key is ${SESSION_KEY_LENGTH} bytes`);
    }
    this.#mac = new HmacSha256(sessionKey); // MUST NOT log: key material
    LABEL.copy(this.#msg, 0);
  }

  /** HMAC-SHA256(session_key, label || 0x00 || salt), as a fresh Buffer. MUST NOT log: key material. */
  deriveRecordKey(salt: Uint8Array): Buffer {
    if (salt.length !== RECORD_SALT_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a record salt is ${RECORD_SALT_LENGTH} bytes`);
    }
    const out = Buffer.alloc(RECORD_KEY_LENGTH);
    this.#derive(salt, out);
    return out;
  }

  #derive(salt: Uint8Array, out: Uint8Array, saltAt = 0): void {
    if (this.#destroyed) throw new CustosError('INVALID_ARGUMENT', 'session key was destroyed');
    if (salt.length - saltAt < RECORD_SALT_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a record salt is ${RECORD_SALT_LENGTH} bytes`);
    }
    const m = this.#msg;
    for (let i = 0; i < RECORD_SALT_LENGTH; i++) m[LABEL.length + i] = salt[saltAt + i]!;
    this.#mac.macInto(m, m.length, out, 0, RECORD_KEY_LENGTH);
  }

  /** Seals `body` with `aad` bound under a salt from `salts`; returns salt || ciphertext || tag. */
  seal(salts: SaltSource, aad: Uint8Array, body: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(body.length + SEALED_BODY_OVERHEAD);
    this.sealInto(out, 0, salts, aad, body);
    return out;
  }

  /**
   * Writes salt || ciphertext || tag into `out` at `at` (body.length + 32 bytes), so a
   * record is assembled in one buffer without an intermediate copy.
   */
  sealInto(out: Uint8Array, at: number, salts: SaltSource, aad: Uint8Array, body: Uint8Array): void {
    salts.nextInto(out, at);
    this.#derive(out, this.#key, at); // MUST NOT log: key material
    const c = createCipheriv(CIPHER, this.#key, ZERO_NONCE);
    wipe(this.#key);
    c.setAAD(aad);
    const ct = c.update(body);
    c.final();
    out.set(ct, at + RECORD_SALT_LENGTH);
    out.set(c.getAuthTag(), at + RECORD_SALT_LENGTH + ct.length);
  }

  /** Opens salt || ciphertext || tag with `aad`; throws DECRYPTION_FAILED on any mismatch. */
  open(aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    return this.openAt(aad, sealed, 0, sealed.length);
  }

  /**
   * {@link open} of the sealed body at `buf[start..end)`, so that a record's body is opened
   * where it lies (views of the ciphertext and tag only, no copy).
   */
  openAt(aad: Uint8Array, buf: Uint8Array, start: number, end: number): Uint8Array {
    checkSealedRange(buf, start, end);
    this.#derive(buf, this.#key, start); // MUST NOT log: key material
    return gcmOpenAt(this.#key, true, aad, buf, start, end);
  }

  /** Zeroes the midstates; the cipher is unusable afterwards. */
  destroy(): void {
    this.#mac.destroy();
    this.#destroyed = true;
  }
}
