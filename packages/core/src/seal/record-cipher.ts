/**
 * Per-record sealing under a session key (docs/archive-format.md §4.3):
 *
 *   record_key = HMAC-SHA256(session_key, "custos-archive-v1 record-key" || 0x00 || salt)
 *   sealed     = salt || AES-256-GCM(record_key, nonce = 0^12, plaintext = body, aad = header bytes)
 *
 * Every record gets a fresh 16-byte random salt, hence its own key, and each key encrypts
 * exactly once; a fixed nonce is then safe. HMAC is computed from precomputed pad blocks
 * with two one-shot SHA-256 calls (byte-identical to HMAC, about a third cheaper than
 * `createHmac` per call in bench/suites/record.ts), because a per-record HKDF would cost
 * more than the AES-GCM it keys.
 */
import { createCipheriv, createDecipheriv, hash, randomFillSync } from 'node:crypto';
import { CustosError } from '../errors.js';
import {
  RECORD_KEY_LABEL,
  RECORD_NONCE_LENGTH,
  RECORD_SALT_LENGTH,
  RECORD_TAG_LENGTH,
  SEALED_BODY_OVERHEAD,
  SESSION_KEY_LENGTH,
} from './seal-params.js';

const SHA256_BLOCK = 64;
const SHA256_LENGTH = 32;
const LABEL = Buffer.from(RECORD_KEY_LABEL + '\u0000', 'ascii');
const SALT_OFFSET = SHA256_BLOCK + LABEL.length;
const ZERO_NONCE = Buffer.alloc(RECORD_NONCE_LENGTH);
const CIPHER = 'aes-256-gcm';

/** Where per-record salts come from; only tests supply anything but {@link RandomSaltPool}. */
export interface SaltSource {
  /** The next salt; the caller copies it before asking again. */
  next(): Uint8Array;
}

/** Random salts drawn from a pool refilled in bulk (one CSPRNG call per 256 records, not per record). */
export class RandomSaltPool implements SaltSource {
  static readonly #POOL_SALTS = 256;
  readonly #pool = Buffer.allocUnsafe(RECORD_SALT_LENGTH * RandomSaltPool.#POOL_SALTS);
  #offset = this.#pool.length;

  /** The next unused salt; each pool byte is handed out once. */
  next(): Uint8Array {
    if (this.#offset === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const salt = this.#pool.subarray(this.#offset, this.#offset + RECORD_SALT_LENGTH);
    this.#offset += RECORD_SALT_LENGTH;
    return salt;
  }
}

/**
 * Holds a session key as HMAC pad blocks and seals or opens record bodies with keys derived
 * from it. One instance per session key; {@link destroy} zeroes it.
 */
export class RecordCipher {
  // (session_key XOR ipad) || label || 0x00 || salt — the salt slot is rewritten per record.
  readonly #inner: Buffer;
  // (session_key XOR opad) || inner digest — the digest slot is rewritten per record.
  readonly #outer: Buffer;
  #destroyed = false;

  /** `sessionKey` is copied into pad blocks; the caller should zero its own copy. */
  constructor(sessionKey: Uint8Array) {
    if (sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a session key is ${SESSION_KEY_LENGTH} bytes`);
    }
    this.#inner = Buffer.alloc(SALT_OFFSET + RECORD_SALT_LENGTH, 0);
    this.#outer = Buffer.alloc(SHA256_BLOCK + SHA256_LENGTH, 0);
    // MUST NOT log: key material
    for (let i = 0; i < SHA256_BLOCK; i++) {
      const k = i < SESSION_KEY_LENGTH ? sessionKey[i]! : 0;
      this.#inner[i] = k ^ 0x36;
      this.#outer[i] = k ^ 0x5c;
    }
    LABEL.copy(this.#inner, SHA256_BLOCK);
  }

  /** HMAC-SHA256(session_key, label || 0x00 || salt). MUST NOT log the result: key material. */
  deriveRecordKey(salt: Uint8Array): Buffer {
    this.#check();
    if (salt.length !== RECORD_SALT_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a record salt is ${RECORD_SALT_LENGTH} bytes`);
    }
    this.#inner.set(salt, SALT_OFFSET);
    this.#outer.set(hash('sha256', this.#inner, 'buffer'), SHA256_BLOCK);
    return hash('sha256', this.#outer, 'buffer');
  }

  /** Seals `body` with `aad` bound; returns salt || ciphertext || tag. */
  seal(salt: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array {
    const key = this.deriveRecordKey(salt); // MUST NOT log: key material
    const c = createCipheriv(CIPHER, key, ZERO_NONCE, { authTagLength: RECORD_TAG_LENGTH });
    key.fill(0);
    c.setAAD(aad);
    const ct = c.update(body);
    c.final();
    const out = Buffer.allocUnsafe(body.length + SEALED_BODY_OVERHEAD);
    out.set(salt, 0);
    out.set(ct, RECORD_SALT_LENGTH);
    out.set(c.getAuthTag(), RECORD_SALT_LENGTH + ct.length);
    return out;
  }

  /** Opens salt || ciphertext || tag with `aad`; throws DECRYPTION_FAILED on any mismatch. */
  open(aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    if (sealed.length < SEALED_BODY_OVERHEAD) {
      throw new CustosError('MALFORMED_RECORD', `a sealed body is at least ${SEALED_BODY_OVERHEAD} bytes`);
    }
    const tagAt = sealed.length - RECORD_TAG_LENGTH;
    const key = this.deriveRecordKey(sealed.subarray(0, RECORD_SALT_LENGTH)); // MUST NOT log: key material
    const d = createDecipheriv(CIPHER, key, ZERO_NONCE, { authTagLength: RECORD_TAG_LENGTH });
    key.fill(0);
    d.setAuthTag(sealed.subarray(tagAt));
    d.setAAD(aad);
    const pt = d.update(sealed.subarray(RECORD_SALT_LENGTH, tagAt));
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

  /** Zeroes the pad blocks; the cipher is unusable afterwards. */
  destroy(): void {
    this.#inner.fill(0);
    this.#outer.fill(0);
    this.#destroyed = true;
  }

  #check(): void {
    if (this.#destroyed) throw new CustosError('INVALID_ARGUMENT', 'session key was destroyed');
  }
}
