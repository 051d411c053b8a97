/**
 * Per-device hash chains (docs/archive-format.md §5): record n+1 carries the hash of
 * record n as `prev`, and sequence numbers rise by one. A gap (missing record) or fork
 * (two records claiming the same place) breaks the chain.
 */
import { CustosError } from '../errors.js';
import type { RecordHash } from './ids.js';
import { toHex } from './ids.js';
import { bytesEqual } from './deterministic-cbor.js';
import { parseRecord, recordHashOf } from './record.js';
import type { RecordHeader } from './header.js';
import { MAX_BATCH_RECORDS } from './limits.js';

/** Where a chain segment must continue from: the last verified record of the device. */
export interface ChainAnchor {
  readonly seq: number;
  readonly hash: RecordHash;
}

/** One verified link: the header and hash of a record. */
export interface ChainLink {
  readonly header: RecordHeader;
  readonly hash: RecordHash;
}

const broken = (msg: string): CustosError => new CustosError('CHAIN_BROKEN', msg);

/**
 * Verifies that `records` (encoded) form one device's unbroken chain. Without `anchor` the
 * segment must start at sequence number 0; with it, right after the anchor. Throws
 * CHAIN_BROKEN naming the expected sequence number, or the record's own parse error.
 * Returns the links in order (their hashes feed the next segment's anchor).
 */
export function verifyChain(records: readonly Uint8Array[], anchor?: ChainAnchor): ChainLink[] {
  if (records.length > MAX_BATCH_RECORDS) {
    throw new CustosError('OVERSIZED_INPUT', `a chain segment holds at most ${MAX_BATCH_RECORDS} records`);
  }
  const links: ChainLink[] = [];
  let expectedSeq = anchor ? anchor.seq + 1 : 0;
  let expectedPrev: Uint8Array = anchor ? anchor.hash : new Uint8Array(32);
  for (const bytes of records) {
    const { header } = parseRecord(bytes);
    const first = links[0]?.header;
    if (first && (header.org !== first.org || header.device !== first.device)) {
      throw broken(
        `expected sequence number ${expectedSeq} of device ${first.device}, found a record of another device`,
      );
    }
    if (header.seq !== expectedSeq) {
      throw broken(
        `expected sequence number ${expectedSeq}, found ${header.seq} (${header.seq > expectedSeq ? 'gap' : 'repeat or reorder'})`,
      );
    }
    if (!bytesEqual(header.prev, expectedPrev)) {
      throw broken(
        `expected sequence number ${expectedSeq} to link to ${toHex(expectedPrev)}, it links to ${toHex(header.prev)} (fork)`,
      );
    }
    const hash = recordHashOf(bytes);
    links.push({ header, hash });
    expectedSeq++;
    expectedPrev = hash;
  }
  return links;
}
