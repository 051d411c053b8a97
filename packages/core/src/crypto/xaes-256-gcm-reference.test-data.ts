/**
 * A second, deliberately plain XAES-256-GCM (C2SP XAES-256-GCM, "Detailed key derivation
 * algorithm") for tests: one AES-256-ECB call per block, dbl() on a BigInt, and node's
 * AES-256-GCM. It shares no code with crypto/xaes-256-gcm-kdf.ts, so the two agreeing (and
 * this one agreeing with the C2SP vectors) pins the production derivation.
 */
import { createCipheriv } from 'node:crypto';

const MASK_128 = (1n << 128n) - 1n;

function aes256Block(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** L, K1, M1, M2, Kx and Nx of C2SP XAES-256-GCM for `key` (32 bytes) and `nonce` (24 bytes). */
export function xaesSubkeyReference(
  key: Uint8Array,
  nonce: Uint8Array,
): { l: Buffer; k1: Buffer; m1: Buffer; m2: Buffer; kx: Buffer; nx: Buffer } {
  const l = aes256Block(key, new Uint8Array(16));
  const lInt = BigInt('0x' + l.toString('hex'));
  const shifted = (lInt << 1n) & MASK_128;
  const k1Int = lInt >> 127n === 1n ? shifted ^ 0x87n : shifted;
  const k1 = Buffer.from(k1Int.toString(16).padStart(32, '0'), 'hex');
  const m1 = Buffer.concat([Buffer.from([0x00, 0x01, 0x58, 0x00]), nonce.subarray(0, 12)]);
  const m2 = Buffer.concat([Buffer.from([0x00, 0x02, 0x58, 0x00]), nonce.subarray(0, 12)]);
  const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]!));
  const kx = Buffer.concat([aes256Block(key, xor(m1, k1)), aes256Block(key, xor(m2, k1))]);
  return { l, k1, m1, m2, kx, nx: Buffer.from(nonce.subarray(12, 24)) };
}

/** XAES-256-GCM seal: ciphertext || 16-byte tag (the nonce is not prepended). */
export function xaesSealReference(
  key: Uint8Array,
  nonce: Uint8Array,
  pt: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const { kx, nx } = xaesSubkeyReference(key, nonce);
  const c = createCipheriv('aes-256-gcm', kx, nx);
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}
