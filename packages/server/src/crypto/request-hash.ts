/**
 * A request's identity for idempotent retries: SHA-256 over a domain and the request's
 * canonical JSON (object keys sorted by UTF-16 code unit, no whitespace), so a client that
 * resends the same values in another key order is still recognised.
 */
import { createHash } from 'node:crypto';

/** Canonical JSON text of a parsed JSON value; throws on values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** SHA-256(domain || 0x00 || canonical JSON of `value`). */
export function requestHash(domain: string, value: unknown): Buffer {
  return createHash('sha256')
    .update(`${domain}\0${canonicalJson(value)}`)
    .digest();
}
