/**
 * PostgreSQL arrays in the binary wire format (array_recv), so a whole column of a
 * multi-row write travels as one bound parameter. `pg` sends Buffer parameters with the
 * binary format code, and a parameter cast in the query (`$1::bytea[]`) takes that type, so
 * the server reads these bytes directly: no hex or text escaping of record bytes, no
 * per-row placeholders, and one statement text whatever the row count (prepared once).
 *
 * Layout: ndim (int32), has-nulls flag (int32), element type OID (int32), per dimension
 * its length and lower bound (int32 each), then per element its byte length (int32) and
 * bytes. These arrays never hold NULL.
 */

const INT8_OID = 20;
const TEXT_OID = 25;
const BYTEA_OID = 17;
const HEADER_BYTES = 20; // ndim, flags, oid, one dimension (length, lower bound)

function encodeArray(oid: number, elements: readonly Uint8Array[]): Buffer {
  let size = elements.length === 0 ? 12 : HEADER_BYTES;
  for (const e of elements) size += 4 + e.length;
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(elements.length === 0 ? 0 : 1, 0);
  out.writeInt32BE(0, 4);
  out.writeInt32BE(oid, 8);
  if (elements.length === 0) return out;
  out.writeInt32BE(elements.length, 12);
  out.writeInt32BE(1, 16);
  let at = HEADER_BYTES;
  for (const e of elements) {
    out.writeInt32BE(e.length, at);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/** A `bytea[]` parameter (bind with a `::bytea[]` cast). */
export function pgByteaArray(values: readonly Uint8Array[]): Buffer {
  return encodeArray(BYTEA_OID, values);
}

/** A `text[]` parameter (bind with a `::text[]` cast). */
export function pgTextArray(values: readonly string[]): Buffer {
  return encodeArray(
    TEXT_OID,
    values.map((v) => Buffer.from(v, 'utf8')),
  );
}

/** An `int8[]` parameter (bind with a `::int8[]` cast); values must be safe integers. */
export function pgInt8Array(values: readonly number[]): Buffer {
  return encodeArray(
    INT8_OID,
    values.map((v) => {
      if (!Number.isSafeInteger(v)) throw new RangeError('an int8 array element is not a safe integer');
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(BigInt(v));
      return b;
    }),
  );
}
