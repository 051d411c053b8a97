/**
 * The value cipher of the local store (local-store.ts): two keys derived from the device
 * storage key by HKDF — one for values, one for row ids — so neither use can weaken the other.
 *
 *   row id = HMAC-SHA256(row-id key, tbl ‖ 0x00 ‖ key)
 *   value  = nonce(12) ‖ AES-256-GCM(value key, nonce, u32 len(key) ‖ key ‖ value) ‖ tag(16)
 *   AAD    = "custos-store-v1" ‖ 0x00 ‖ tbl ‖ 0x00 ‖ id
 *
 * The logical key travels inside the ciphertext so the store can check it against the row
 * id on read: a row moved to another table or key fails to open. MUST NOT log: the keys.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomFillSync } from 'node:crypto';
import { ClientError } from '../errors.js';

const AAD_PREFIX = 'custos-store-v1';
const NONCE_BYTES = 12;
/** Nonces drawn per CSPRNG call. */
const NONCE_POOL = 256;
const TAG_BYTES = 16;

/** Seals and opens the values of one open store; wipe() when the store closes. */
export class RowCipher<Table extends string> {
  readonly #valueKey: Buffer;
  readonly #idKey: Buffer;
  /** AAD prefix per table ("custos-store-v1" ‖ 0 ‖ tbl ‖ 0), built once. */
  readonly #aadPrefix = new Map<Table, Buffer>();
  /** Unused random nonce bytes (one CSPRNG call serves many writes). */
  readonly #nonces = Buffer.alloc(NONCE_BYTES * NONCE_POOL);
  #noncePos = NONCE_BYTES * NONCE_POOL;

  /** Derives both keys from `storageKey` and zeroes it. */
  constructor(storageKey: Buffer) {
    this.#valueKey = Buffer.from(hkdfSync('sha256', storageKey, AAD_PREFIX, 'values', 32));
    this.#idKey = Buffer.from(hkdfSync('sha256', storageKey, AAD_PREFIX, 'row-ids', 32));
    storageKey.fill(0);
  }

  /** The row id of `key` in `table`. */
  rowId(table: Table, key: string): Buffer {
    return createHmac('sha256', this.#idKey).update(`${table}\0${key}`, 'utf8').digest();
  }

  #aad(table: Table, id: Buffer): Buffer {
    let prefix = this.#aadPrefix.get(table);
    if (prefix === undefined) {
      prefix = Buffer.from(`${AAD_PREFIX}\0${table}\0`, 'utf8');
      this.#aadPrefix.set(table, prefix);
    }
    return Buffer.concat([prefix, id], prefix.length + id.length);
  }

  /** Seals `key` and `value` for row `id` of `table`. */
  seal(table: Table, id: Buffer, key: string, value: Uint8Array): Buffer {
    // One plaintext and one output buffer: nonce ‖ ciphertext ‖ tag (the hot path of every write).
    const keyLength = Buffer.byteLength(key, 'utf8');
    const plain = Buffer.allocUnsafe(4 + keyLength + value.length);
    plain.writeUInt32BE(keyLength, 0);
    plain.write(key, 4, keyLength, 'utf8');
    plain.set(value, 4 + keyLength);
    const out = Buffer.allocUnsafe(NONCE_BYTES + plain.length + TAG_BYTES);
    this.#nextNonce(out);
    const c = createCipheriv('aes-256-gcm', this.#valueKey, out.subarray(0, NONCE_BYTES));
    c.setAAD(this.#aad(table, id));
    const ct = c.update(plain);
    const rest = c.final();
    ct.copy(out, NONCE_BYTES);
    rest.copy(out, NONCE_BYTES + ct.length);
    c.getAuthTag().copy(out, NONCE_BYTES + plain.length);
    plain.fill(0);
    return out;
  }

  /** Writes a fresh random nonce to out[0..12); every nonce is used once, then wiped from the pool. */
  #nextNonce(out: Buffer): void {
    if (this.#noncePos === this.#nonces.length) {
      randomFillSync(this.#nonces);
      this.#noncePos = 0;
    }
    this.#nonces.copy(out, 0, this.#noncePos, this.#noncePos + NONCE_BYTES);
    this.#nonces.fill(0, this.#noncePos, this.#noncePos + NONCE_BYTES);
    this.#noncePos += NONCE_BYTES;
  }

  /** Decrypts a value (AAD binds table and id); the caller checks the key inside against the id. */
  open(table: Table, id: Buffer, sealed: Buffer): { key: string; value: Uint8Array } {
    if (sealed.length < NONCE_BYTES + TAG_BYTES + 4)
      throw new ClientError('STORE_CORRUPT', `a ${table} row is truncated`);
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#valueKey, sealed.subarray(0, NONCE_BYTES));
      d.setAAD(this.#aad(table, id));
      d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const body = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
      const rest = d.final(); // empty for GCM: no second copy of the row
      plain = rest.length === 0 ? body : Buffer.concat([body, rest]);
    } catch (e) {
      throw new ClientError('STORE_CORRUPT', `a ${table} row does not decrypt`, { cause: e });
    }
    const n = plain.readUInt32BE(0);
    if (4 + n > plain.length) throw new ClientError('STORE_CORRUPT', `a ${table} row is malformed`);
    const key = plain.subarray(4, 4 + n).toString('utf8');
    return { key, value: new Uint8Array(plain.buffer, plain.byteOffset + 4 + n, plain.length - 4 - n) };
  }

  /** Zeroes both keys; the cipher is unusable after. */
  wipe(): void {
    this.#valueKey.fill(0);
    this.#idKey.fill(0);
  }
}
