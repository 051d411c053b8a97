/**
 * SHA-256 of bytes, as the client names things by it: relay envelopes in archive records and
 * attachment blobs (their content address). One-shot node:crypto `hash`, no Hash object.
 * (core's sha256.ts is internal to core and tuned for short Merkle inputs; these inputs are
 * envelopes and files.)
 */
import { hash } from 'node:crypto';

/** SHA-256(`bytes`) as a fresh 32-byte Uint8Array. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', bytes, 'buffer'));
}
