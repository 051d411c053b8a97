/**
 * XAES-256-GCM subkey derivation (C2SP, https://c2sp.org/XAES-256-GCM, "Detailed key
 * derivation algorithm"). For a 256-bit key K and a 192-bit nonce N:
 *
 *   L  = AES-256_K(0^128);  K1 = dbl(L)                once per key (CMAC subkey, SP 800-38B §6.1)
 *   M1 = 0x00 0x01 0x58 0x00 || N[0..12)    M2 = 0x00 0x02 0x58 0x00 || N[0..12)
 *   Kx = AES-256_K(M1 ⊕ K1) || AES-256_K(M2 ⊕ K1)        (SP 800-108r1 counter KDF, CMAC PRF)
 *   Nx = N[12..24)
 *
 * and the message is AES-256-GCM under (Kx, Nx). Every block of a derivation is one
 * independent AES call, so the subkeys of many nonces come out of a single AES-256-ECB
 * update: sealing derives 256 record keys per native call (bench/suites/record.ts, rows
 * "record key: …"), where an HMAC per record cost about as much as a tenth of the AES-GCM
 * it keys. The ECB context is created once per key and reused for every derivation: ECB
 * without padding carries no state from one update to the next.
 *
 * Side channels: AES is OpenSSL's (AES-NI where present); the JavaScript here only XORs
 * and shifts key-derived bytes, with no secret-dependent branch or table index.
 * Instances hold key material (OpenSSL's key schedule and K1): MUST NOT be logged or
 * serialised; {@link XaesKeyDeriver.destroy} frees the native context (OpenSSL cleanses
 * it) and zeroes K1.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { CustosError } from '../errors.js';

/** Length of an XAES-256-GCM key. */
export const XAES_KEY_LENGTH = 32;
/** Length of an XAES-256-GCM nonce. */
export const XAES_NONCE_LENGTH = 24;
/** Leading nonce bytes that feed the key derivation; the other 12 are the AES-256-GCM nonce Nx. */
export const XAES_KDF_NONCE_LENGTH = 12;
/** Length of a derived subkey Kx (an AES-256-GCM key). */
export const XAES_SUBKEY_LENGTH = 32;

const BLOCK = 16;
/** The KDF label, ASCII "X". */
const LABEL_X = 0x58;
/** Low byte of the GF(2^128) reduction polynomial x^128 + x^7 + x^2 + x + 1 (SP 800-38B's R128). */
const R128_LOW = 0x87;
/** Bytes of ECB input (and output) per derivation: the blocks M1 ⊕ K1 and M2 ⊕ K1. */
const INPUT_PER_NONCE = 2 * BLOCK;
const ECB = 'aes-256-ecb';

/** Zeroes `b` (a plain loop: cheaper than Buffer#fill's native call for a few dozen bytes). */
function wipe(b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) b[i] = 0;
}

/** XAES-256-GCM's Kx for many nonces under one key, on one reused AES-256-ECB context. */
export class XaesKeyDeriver {
  readonly #ecb: Cipher;
  // (0x00 0x01 0x58 0x00) ⊕ K1[0..4), (0x00 0x02 0x58 0x00) ⊕ K1[0..4), and K1[4..16):
  // every derivation input is these masks XORed onto constants and the nonce half.
  readonly #head1 = new Uint8Array(4);
  readonly #head2 = new Uint8Array(4);
  readonly #tail = new Uint8Array(BLOCK - 4);
  // ECB input scratch for one derivation (the open path), wiped after every use.
  readonly #one = Buffer.alloc(INPUT_PER_NONCE);
  // ECB input scratch for batches, grown on demand, wiped after every use.
  #many = Buffer.alloc(0);
  #destroyed = false;

  /** `key` is absorbed into an OpenSSL AES-256 context; the caller may wipe its copy. */
  constructor(key: Uint8Array) {
    if (key.length !== XAES_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `an XAES-256-GCM key is ${XAES_KEY_LENGTH} bytes`);
    }
    this.#ecb = createCipheriv(ECB, key, null); // MUST NOT log: key material
    this.#ecb.setAutoPadding(false);
    const l = this.#ecb.update(new Uint8Array(BLOCK));
    const k1 = XaesKeyDeriver.cmacSubkey1(l);
    l.fill(0);
    this.#head1.set([0x00 ^ k1[0]!, 0x01 ^ k1[1]!, LABEL_X ^ k1[2]!, 0x00 ^ k1[3]!]);
    this.#head2.set([0x00 ^ k1[0]!, 0x02 ^ k1[1]!, LABEL_X ^ k1[2]!, 0x00 ^ k1[3]!]);
    this.#tail.set(k1.subarray(4));
    wipe(k1);
  }

  /**
   * K1 = dbl(L) in GF(2^128) (SP 800-38B §6.1): L shifted left one bit, and R128 XORed into
   * the last byte when L's top bit was set — by a mask, not a branch, since L is secret.
   * Exposed for the C2SP vector test. MUST NOT log: key material.
   */
  static cmacSubkey1(l: Uint8Array): Uint8Array {
    const k1 = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK - 1; i++) k1[i] = ((l[i]! << 1) | (l[i + 1]! >>> 7)) & 0xff;
    k1[BLOCK - 1] = ((l[BLOCK - 1]! << 1) & 0xff) ^ (R128_LOW & -(l[0]! >>> 7));
    return k1;
  }

  #check(nonces: Uint8Array, at: number, count: number): void {
    if (this.#destroyed) throw new CustosError('INVALID_ARGUMENT', 'XAES-256-GCM key was destroyed');
    if (!(
      Number.isInteger(count) &&
      count >= 1 &&
      at >= 0 &&
      at + count * XAES_NONCE_LENGTH <= nonces.length
    )) {
      throw new CustosError('INVALID_ARGUMENT', `an XAES-256-GCM nonce is ${XAES_NONCE_LENGTH} bytes`);
    }
  }

  /** Writes M1 ⊕ K1 ‖ M2 ⊕ K1 for `count` nonces at `nonces[at + 24 i]` into `into`. */
  #input(nonces: Uint8Array, at: number, count: number, into: Uint8Array): void {
    const h1 = this.#head1;
    const h2 = this.#head2;
    const t = this.#tail;
    for (let n = 0; n < count; n++) {
      const src = at + n * XAES_NONCE_LENGTH;
      const dst = n * INPUT_PER_NONCE;
      for (let i = 0; i < 4; i++) {
        into[dst + i] = h1[i]!;
        into[dst + BLOCK + i] = h2[i]!;
      }
      for (let i = 0; i < XAES_KDF_NONCE_LENGTH; i++) {
        const b = nonces[src + i]! ^ t[i]!;
        into[dst + 4 + i] = b;
        into[dst + BLOCK + 4 + i] = b;
      }
    }
  }

  /**
   * Kx of the nonce at `nonces[at..at+24)` (only its first 12 bytes matter) as a fresh
   * 32-byte Buffer, which the caller owns and should wipe. MUST NOT log: key material.
   */
  deriveOne(nonces: Uint8Array, at: number): Buffer {
    this.#check(nonces, at, 1);
    const input = this.#one;
    this.#input(nonces, at, 1, input);
    const kx = this.#ecb.update(input);
    wipe(input); // M ⊕ K1 with a public nonce would reveal K1
    return kx;
  }

  /**
   * Kx of each of `count` nonces at `nonces[at + 24 i]`, written to `out[outAt + 32 i]`, with
   * one native AES call for all of them. MUST NOT log: key material.
   */
  deriveManyInto(nonces: Uint8Array, at: number, count: number, out: Uint8Array, outAt: number): void {
    this.#check(nonces, at, count);
    const n = count * INPUT_PER_NONCE;
    if (!(outAt >= 0 && outAt + n <= out.length)) {
      throw new CustosError('INVALID_ARGUMENT', 'XAES-256-GCM subkey output range out of bounds');
    }
    if (this.#many.length < n) this.#many = Buffer.alloc(n);
    const input = this.#many.length === n ? this.#many : this.#many.subarray(0, n);
    this.#input(nonces, at, count, input);
    const kx = this.#ecb.update(input);
    input.fill(0);
    out.set(kx, outAt);
    kx.fill(0);
  }

  /** Frees the AES context (OpenSSL cleanses it) and zeroes K1; every later derivation throws. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    wipe(this.#head1);
    wipe(this.#head2);
    wipe(this.#tail);
    this.#many.fill(0);
    this.#ecb.final();
  }

  /** MUST NOT reveal key material: serialises as a placeholder. */
  toJSON(): string {
    return '[XaesKeyDeriver]';
  }

  /** Placeholder for util.inspect / console.log. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[XaesKeyDeriver]';
  }
}
