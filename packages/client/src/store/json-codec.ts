/**
 * JSON values of the local store: Uint8Array fields (keys, hashes, wrapped keys) are kept as
 * `{"$bytes": base64url}` so they survive the round trip as bytes, not as `{type, data}`.
 */

const BYTES_TAG = '$bytes';

/** JSON with Uint8Array values as `{"$bytes": base64url}`. */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(
    // `this[k]` is the value before toJSON: Buffers would otherwise arrive as {type, data}.
    JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
      const original = this[k];
      return original instanceof Uint8Array
        ? { [BYTES_TAG]: Buffer.from(original).toString('base64url') }
        : v;
    }),
    'utf8',
  );
}

/** Inverse of {@link encodeJson}. */
export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes).toString('utf8'), (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && BYTES_TAG in v) {
      const b = (v as Record<string, unknown>)[BYTES_TAG];
      if (typeof b === 'string') return new Uint8Array(Buffer.from(b, 'base64url'));
    }
    return v;
  }) as T;
}
