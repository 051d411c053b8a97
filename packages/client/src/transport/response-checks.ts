/**
 * Checks on server answers: a server is outside the device's trust boundary, so every field
 * read from an answer is checked for presence and type, and a bad one is
 * SERVER_RESPONSE_INVALID naming the field (never echoing its value).
 */
import { ClientError } from '../errors.js';

/** A JSON object from an answer. */
export type Json = Record<string, unknown>;

function bad(what: string): ClientError {
  return new ClientError('SERVER_RESPONSE_INVALID', `server answer: ${what} is missing or malformed`);
}

/** `v` as an object (not an array, not null). */
export function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what);
  return v as Json;
}

/** Field `k` of `o` as a string. */
export function str(o: Json, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw bad(k);
  return v;
}

/** Field `k` of `o` as a non-negative safe integer. */
export function int(o: Json, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(k);
  return v;
}

/** Field `k` of `o` as a boolean. */
export function bool(o: Json, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw bad(k);
  return v;
}

/** Field `k` of `o` as an array. */
export function arr(o: Json, k: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(k);
  return v;
}

/** Field `k` of `o` as base64url bytes, optionally of an exact length. */
export function bytes(o: Json, k: string, length?: number): Uint8Array<ArrayBuffer> {
  const v = o[k];
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*$/.test(v)) throw bad(k);
  const b = new Uint8Array(Buffer.from(v, 'base64url'));
  if (Buffer.from(b).toString('base64url') !== v) throw bad(k);
  if (length !== undefined && b.length !== length) throw bad(k);
  return b;
}
