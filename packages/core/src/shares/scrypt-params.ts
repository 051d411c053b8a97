/**
 * scrypt parameters of share files, and the range a file may ask for.
 *
 * Floor: the OWASP Password Storage Cheat Sheet's scrypt minimum — N = 2^17, r = 8, p = 1
 * (128 MiB, about 0.3–0.5 s per derivation on a laptop) — because Node 20 has no Argon2id.
 * Ceiling: a hostile file must not be able to demand unbounded memory or time, so N, r and p
 * are capped and the memory 128·N·r is capped at 1 GiB. Values outside the range are refused
 * by the parser before anything is derived. Weaker N is accepted only with the explicit
 * test-only flag, so tests can run fast while production files cannot be weak.
 */
import { CustosError } from '../errors.js';

/** scrypt cost parameters as written in a share file. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Parameters used when sealing, unless the caller asks for stronger ones. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Smallest log2(N) accepted in production files (OWASP minimum). */
export const MIN_SCRYPT_LOG2_N = 17;
/** Largest log2(N) accepted (2^20: 1 GiB at r = 8). */
export const MAX_SCRYPT_LOG2_N = 20;
/** Smallest log2(N) accepted with `allowWeakKdfForTests`. */
export const TEST_MIN_SCRYPT_LOG2_N = 4;
/** Accepted block sizes. */
export const MIN_SCRYPT_R = 8;
export const MAX_SCRYPT_R = 16;
/** Accepted parallelisation. */
export const MIN_SCRYPT_P = 1;
export const MAX_SCRYPT_P = 4;
/** Largest scrypt working memory a file may demand: 128 · N · r bytes. */
export const MAX_SCRYPT_MEMORY = 2 ** 30;

/** Options shared by sealing, parsing and opening share files. */
export interface KdfPolicy {
  /** Accept N below the production floor. Tests only: production code MUST NOT set it. */
  readonly allowWeakKdfForTests?: boolean;
}

/** Checks scrypt parameters against the policy; throws MALFORMED_SHARE naming the bad value. */
export function checkScryptParams(params: ScryptParams, policy: KdfPolicy = {}): ScryptParams {
  const { N, r, p } = params;
  const minLog2 = policy.allowWeakKdfForTests === true ? TEST_MIN_SCRYPT_LOG2_N : MIN_SCRYPT_LOG2_N;
  const bad = (what: string): CustosError => new CustosError('MALFORMED_SHARE', `share file kdf: ${what}`);
  if (!Number.isSafeInteger(N) || N < 2 ** minLog2 || N > 2 ** MAX_SCRYPT_LOG2_N || (N & (N - 1)) !== 0) {
    throw bad(`N must be a power of two from 2^${minLog2} to 2^${MAX_SCRYPT_LOG2_N}`);
  }
  if (!Number.isSafeInteger(r) || r < MIN_SCRYPT_R || r > MAX_SCRYPT_R) {
    throw bad(`r must be an integer ${MIN_SCRYPT_R}..${MAX_SCRYPT_R}`);
  }
  if (!Number.isSafeInteger(p) || p < MIN_SCRYPT_P || p > MAX_SCRYPT_P) {
    throw bad(`p must be an integer ${MIN_SCRYPT_P}..${MAX_SCRYPT_P}`);
  }
  if (scryptMemory(params) > MAX_SCRYPT_MEMORY) throw bad('N·r demands more than 1 GiB of memory');
  return { N, r, p };
}

/** scrypt's working memory in bytes, 128·N·r (plus 128·r·p for the p blocks). */
export function scryptMemory({ N, r, p }: ScryptParams): number {
  return 128 * N * r + 128 * r * p;
}

/** `maxmem` for node:crypto scrypt: the working memory plus slack for its own bookkeeping. */
export function scryptMaxmem(params: ScryptParams): number {
  return scryptMemory(params) + 2 ** 20;
}
