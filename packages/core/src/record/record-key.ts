/**
 * Opening one record with its own record key (docs/archive-format.md §4.2–4.3), without
 * the session key: what a custody manifest v2 lets an export's recipient do
 * (docs/exports.md §5, §7). The record key opens that record only — every record has a
 * fresh salt and so its own key — so handing it over discloses nothing beyond the record
 * whose plaintext the export already hands over.
 */
import { CustosError } from '../errors.js';
import { openWithRecordKey } from '../seal/record-cipher.js';
import type { SessionOpener } from '../seal/session-key.js';
import { decodeBody, type RecordBody } from './body.js';
import type { RecordHeader } from './header.js';
import { parseRecord } from './record.js';

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * The record key of `recordBytes` under `opener`'s session key. Throws the parse errors of
 * parseRecord, HASH_MISMATCH when the record names another session key and
 * MALFORMED_RECORD when its org, device or bucket differ from the session key's (as
 * opening does). It does not open the record. MUST NOT log: key material.
 */
export function recordKeyOf(opener: SessionOpener, recordBytes: Uint8Array): Uint8Array {
  const p = parseRecord(recordBytes);
  if (!bytesEqual(p.header.sessionKeyId, opener.keyId)) {
    throw new CustosError('HASH_MISMATCH', 'record is sealed under a different session key');
  }
  const ctx = opener.context;
  if (p.header.org !== ctx.org || p.header.device !== ctx.device || p.header.bucket !== ctx.bucket) {
    throw new CustosError('MALFORMED_RECORD', 'record org, device or bucket differ from its session key');
  }
  return opener.recordKeyOf(p.sealedBody);
}

/**
 * Parses a record and opens its body with `recordKey` (the header bytes as aad). Throws the
 * parse errors of parseRecord, INVALID_ARGUMENT for a key that is not 32 bytes and
 * DECRYPTION_FAILED when the body does not authenticate under that key.
 */
export function openRecordBytesWithKey(
  recordKey: Uint8Array,
  recordBytes: Uint8Array,
): { header: RecordHeader; bodyBytes: Uint8Array } {
  const p = parseRecord(recordBytes);
  return { header: p.header, bodyBytes: openWithRecordKey(recordKey, p.headerBytes, p.sealedBody) };
}

/** {@link openRecordBytesWithKey} and the body decoded (its decoding errors as decodeBody's). */
export function openRecordWithKey(
  recordKey: Uint8Array,
  recordBytes: Uint8Array,
): { header: RecordHeader; body: RecordBody } {
  const { header, bodyBytes } = openRecordBytesWithKey(recordKey, recordBytes);
  return { header, body: decodeBody(bodyBytes) };
}
