import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CustosError, type CustosErrorCode } from '../errors.js';
import { EMPTY_ROOT, hashChildren, hashLeaf } from '../tlog/index.js';
import { MAX_PROOF_HASHES } from './limits.js';
import { formatReceipt, parseReceipt, RECEIPT_HEADER, verifyReceipt, type Receipt } from './receipt.js';
import { fixtureUrl, hex, type TesseraLog } from './test-vectors.js';

const LOG = JSON.parse(readFileSync(fixtureUrl('tessera-testdata-log.json'), 'utf8')) as TesseraLog;
const ENTRIES = LOG.entries.map((e) => hex(e.hex));
const KEYS = [LOG.verifierKey];

function codeOf(f: () => unknown): CustosErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return EMPTY_ROOT;
  if (d.length === 1) return hashLeaf(d[0]!);
  const k = largestPowerOfTwoBelow(d.length);
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}

/** RFC 6962 §2.1.1 PATH(m, D[n]), from the definition. */
function path(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

function receiptFor(index: number, size: number, extra?: Uint8Array): Receipt {
  const base = {
    index,
    proof: path(index, ENTRIES.slice(0, size)),
    checkpoint: LOG.checkpoints[size]!.checkpoint,
  };
  return extra === undefined ? base : { ...base, extra };
}

describe('tlog-proof@v1 receipts', () => {
  it('verifies the published inclusion proofs wrapped as receipts', () => {
    for (const p of LOG.inclusionProofs) {
      const r: Receipt = {
        index: p.leafIndex,
        proof: p.proof.map(hex),
        checkpoint: LOG.checkpoints[p.treeSize]!.checkpoint,
      };
      const v = verifyReceipt(formatReceipt(r), hex(p.leafHash), KEYS, LOG.origin);
      expect(v.index).toBe(p.leafIndex);
      expect(v.checkpoint.treeSize).toBe(p.treeSize);
    }
  });

  it('verifies a receipt for every entry at every published tree size, and round-trips it', () => {
    let n = 0;
    for (let size = 1; size <= 15; size++) {
      for (let index = 0; index < size; index++) {
        const text = formatReceipt(receiptFor(index, size));
        const parsed = parseReceipt(new TextEncoder().encode(text));
        expect(formatReceipt(parsed)).toBe(text);
        verifyReceipt(parsed, hashLeaf(ENTRIES[index]!), KEYS, LOG.origin);
        n++;
      }
    }
    expect(n).toBe(120);
  });

  it('formats as the spec lays out, with optional extra data', () => {
    const text = formatReceipt(receiptFor(2, 3, new Uint8Array([1, 2, 3])));
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([RECEIPT_HEADER, 'extra AQID', 'index 2']);
    expect(lines[4]).toBe(''); // PATH(2, D[3]) is one hash
    expect(text.endsWith(LOG.checkpoints[3]!.checkpoint)).toBe(true);
    expect(parseReceipt(text).extra).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('fails on every single-bit flip of a receipt', () => {
    const bytes = new TextEncoder().encode(formatReceipt(receiptFor(5, 7)));
    const leaf = hashLeaf(ENTRIES[5]!);
    const accepted: number[] = [];
    for (let i = 0; i < bytes.length * 8; i++) {
      const m = bytes.slice();
      m[i >> 3]! ^= 1 << (i & 7);
      if (codeOf(() => verifyReceipt(m, leaf, KEYS, LOG.origin)) === 'ok') accepted.push(i);
    }
    expect(accepted).toEqual([]);
  }, 30_000);

  it('fails for the wrong leaf, index, origin, key or a tampered proof', () => {
    const r = receiptFor(5, 7);
    const leaf = hashLeaf(ENTRIES[5]!);
    expect(codeOf(() => verifyReceipt(r, hashLeaf(ENTRIES[4]!), KEYS, LOG.origin))).toBe('INVALID_PROOF');
    expect(codeOf(() => verifyReceipt({ ...r, index: 4 }, leaf, KEYS, LOG.origin))).toBe('INVALID_PROOF');
    expect(codeOf(() => verifyReceipt({ ...r, index: 7 }, leaf, KEYS, LOG.origin))).toBe(
      'INVALID_LEAF_INDEX',
    );
    expect(codeOf(() => verifyReceipt(r, leaf, KEYS, 'example.com/other'))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => verifyReceipt(r, leaf, [], LOG.origin))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyReceipt({ ...r, proof: r.proof.slice(1) }, leaf, KEYS, LOG.origin))).toBe(
      'INVALID_PROOF',
    );
    for (let i = 0; i < r.proof.length; i++) {
      for (let bit = 0; bit < 256; bit++) {
        const proof = r.proof.map((h) => h.slice());
        proof[i]![bit >> 3]! ^= 1 << (bit & 7);
        expect(codeOf(() => verifyReceipt({ ...r, proof }, leaf, KEYS, LOG.origin))).toBe('INVALID_PROOF');
      }
    }
    for (let bit = 0; bit < 256; bit++) {
      const l = leaf.slice();
      l[bit >> 3]! ^= 1 << (bit & 7);
      expect(codeOf(() => verifyReceipt(r, l, KEYS, LOG.origin))).toBe('INVALID_PROOF');
    }
  });

  it('does not authenticate extra data (the spec says so; callers must not trust it)', () => {
    const r = receiptFor(1, 2, new Uint8Array([9]));
    expect(
      verifyReceipt({ ...r, extra: new Uint8Array([8]) }, hashLeaf(ENTRIES[1]!), KEYS, LOG.origin).index,
    ).toBe(1);
  });

  const cp = LOG.checkpoints[2]!.checkpoint;
  const h = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const bad: [string, string][] = [
    ['wrong header', `c2sp.org/tlog-proof@v2\nindex 0\n\n${cp}`],
    ['missing index', `${RECEIPT_HEADER}\n\n${cp}`],
    ['index with leading zero', `${RECEIPT_HEADER}\nindex 01\n\n${cp}`],
    ['index too large', `${RECEIPT_HEADER}\nindex 9007199254740992\n\n${cp}`],
    ['extra after index', `${RECEIPT_HEADER}\nindex 0\nextra AQID\n\n${cp}`],
    ['empty extra', `${RECEIPT_HEADER}\nextra \nindex 0\n\n${cp}`],
    ['short hash', `${RECEIPT_HEADER}\nindex 0\nAAAA\n\n${cp}`],
    ['hex hash', `${RECEIPT_HEADER}\nindex 0\n${'00'.repeat(32)}\n\n${cp}`],
    ['no blank line', `${RECEIPT_HEADER}\nindex 0\n${cp}`],
    ['no checkpoint', `${RECEIPT_HEADER}\nindex 0\n\n`],
    ['checkpoint without signature', `${RECEIPT_HEADER}\nindex 0\n\n${cp.split('\n\n')[0]}\n`],
    ['not a checkpoint', `${RECEIPT_HEADER}\nindex 0\n\nhello\n\n${cp.split('\n\n')[1]}`],
    ['CRLF', `${RECEIPT_HEADER}\r\nindex 0\n\n${cp}`],
    ['too many hashes', `${RECEIPT_HEADER}\nindex 0\n${`${h}\n`.repeat(MAX_PROOF_HASHES + 1)}\n${cp}`],
  ];
  for (const [name, text] of bad) {
    it(`rejects ${name}`, () => expect(codeOf(() => parseReceipt(text))).toBe('MALFORMED_RECEIPT'));
  }

  it('refuses to format an invalid receipt', () => {
    const r = receiptFor(0, 2);
    expect(codeOf(() => formatReceipt({ ...r, index: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatReceipt({ ...r, proof: [new Uint8Array(31)] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatReceipt({ ...r, extra: new Uint8Array(0) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatReceipt({ ...r, checkpoint: 'nope\n' }))).toBe('INVALID_ARGUMENT');
  });
});
