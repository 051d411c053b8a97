import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError, type CustosErrorCode } from '../errors.js';
import { encodeDeterministicCbor, type BucketId, type DeviceId, type OrgId } from '../record/index.js';
import { hashLeaf } from '../tlog/index.js';
import {
  decodeLogEntry,
  encodeArchiveRecordEntries,
  encodeLogEntry,
  encodeLogEntryGeneric,
  logEntryLeafHash,
  peekLogEntryType,
  RELAY_RECEIPT_MARK,
} from './log-entry-codec.js';
import { MAX_LOG_ENTRY_BYTES, type LogEntry } from './log-entry.js';

function codeOf(f: () => unknown): CustosErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
}

const H = new Uint8Array(32).map((_, i) => i);
const T = 1_767_139_200_000;
const common = { hash: H, size: 1000, time: T };

/** One valid entry of every type. */
const SAMPLE_ENTRIES: readonly LogEntry[] = [
  {
    type: 'archive-record',
    ...common,
    actor: 'dev-1',
    org: 'acme' as OrgId,
    device: 'dev-1' as DeviceId,
    seq: 41,
    bucket: 'std-2026' as BucketId,
  },
  {
    type: 'relay-receipt',
    ...common,
    actor: 'dev-1',
    sender: 'dev-1' as DeviceId,
    recipient: 'dev-2' as DeviceId,
  },
  { type: 'key-event', ...common, actor: 'admin-7', kind: 'device-enrolled', subject: 'dev-2' },
  { type: 'audit-event', ...common, actor: 'user-3', kind: 'export' },
  { type: 'hold', ...common, actor: 'admin-7', holdId: 'hold-2026-001', action: 'place' },
  { type: 'disposition', ...common, actor: 'system', bucket: 'transitory-2019' as BucketId, records: 123456 },
  {
    type: 'archive-gap',
    ...common,
    actor: 'dev-1',
    org: 'acme' as OrgId,
    device: 'dev-1' as DeviceId,
    seq: 41,
    end: 57,
    reason: 'server-restored',
  },
];

/** Whether `bytes` carries every part of RELAY_RECEIPT_MARK, as a store's filter tests it. */
function hasReceiptMark(bytes: Uint8Array): boolean {
  return RELAY_RECEIPT_MARK.every(({ offset, bytes: part }) =>
    Buffer.from(bytes.subarray(offset, offset + part.length)).equals(part),
  );
}

describe('log entries v1', () => {
  for (const e of SAMPLE_ENTRIES) {
    it(`round-trips ${e.type}`, () => {
      const bytes = encodeLogEntry(e);
      expect(bytes.length).toBeLessThan(200);
      const back = decodeLogEntry(bytes);
      expect(back).toEqual(e);
      expect(encodeLogEntry(back)).toEqual(bytes);
      expect(Buffer.from(encodeLogEntryGeneric(e)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
      expect(logEntryLeafHash(e)).toEqual(hashLeaf(bytes));
      expect(logEntryLeafHash(bytes)).toEqual(hashLeaf(bytes));
    });
  }

  it('encodes an audit event to exactly the documented bytes (RFC 8949 key order)', () => {
    const hex = [
      'a7', // map(7)
      '6168',
      '5820',
      Buffer.from(H).toString('hex'), // "h": bytes(32)
      '6174',
      '6b',
      Buffer.from('audit-event').toString('hex'), // "t": "audit-event"
      '6176',
      '01', // "v": 1
      '62737a',
      '1903e8', // "sz": 1000
      '627473',
      '1b0000019b71b44c00', // "ts": 1767139200000
      '63616374',
      '66',
      Buffer.from('user-3').toString('hex'), // "act": "user-3"
      '646b696e64',
      '66',
      Buffer.from('export').toString('hex'), // "kind": "export"
    ].join('');
    expect(Buffer.from(encodeLogEntry(SAMPLE_ENTRIES[3]!)).toString('hex')).toBe(hex);
  });

  it('matches the vectors in docs/signed-notes.md (bytes and leaf hashes)', () => {
    const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    expect(hexOf(logEntryLeafHash(SAMPLE_ENTRIES[3]!))).toBe(
      '9bc377b696d97572fcbe5c26ce4e9e404929a31a959a5f7da2ebee46eaeae7ba',
    );
    expect(hexOf(encodeLogEntry(SAMPLE_ENTRIES[0]!))).toBe(
      'aa61685820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f61746e617263686976652d7265636f7264' +
        '61760162737a1903e86274731b0000019b71b44c0063616374656465762d3163626b74687374642d3230323663646576656465762d31' +
        '636f72676461636d65637365711829',
    );
    expect(hexOf(logEntryLeafHash(SAMPLE_ENTRIES[0]!))).toBe(
      '962bb821e94d1c9756934ef107ec0cabe250e0ec799d76eeceeed12133cce538',
    );
    expect(hexOf(logEntryLeafHash(SAMPLE_ENTRIES[6]!))).toBe(
      '98cf7006453f130afc40307736554b31a6b3f6bdd96e722cead8bb0d23165781',
    );
  });

  const audit = encodeLogEntry(SAMPLE_ENTRIES[3]!);
  const wire = (extra: Record<string, unknown>, drop: readonly string[] = []): Uint8Array => {
    const base: Record<string, unknown> = {
      v: 1,
      t: 'audit-event',
      h: H,
      sz: 1000,
      ts: T,
      act: 'user-3',
      kind: 'export',
    };
    for (const k of drop) delete base[k];
    return encodeDeterministicCbor({ ...base, ...extra });
  };
  const bad: [string, Uint8Array, CustosErrorCode][] = [
    ['trailing byte', Uint8Array.from([...audit, 0]), 'MALFORMED_LOG_ENTRY'],
    ['truncated', audit.subarray(0, audit.length - 1), 'MALFORMED_LOG_ENTRY'],
    ['empty', new Uint8Array(0), 'MALFORMED_LOG_ENTRY'],
    ['array', encodeDeterministicCbor([1, 2]), 'MALFORMED_LOG_ENTRY'],
    ['version 2', wire({ v: 2 }), 'UNSUPPORTED_VERSION'],
    ['version missing', wire({}, ['v']), 'UNSUPPORTED_VERSION'],
    ['unknown type', wire({ t: 'note' }), 'MALFORMED_LOG_ENTRY'],
    ['unknown key', wire({ x: 1 }), 'MALFORMED_LOG_ENTRY'],
    ['missing key', wire({}, ['kind']), 'MALFORMED_LOG_ENTRY'],
    ['key of another type', wire({ sub: 'dev-2' }), 'MALFORMED_LOG_ENTRY'],
    ['short hash', wire({ h: new Uint8Array(31) }), 'MALFORMED_LOG_ENTRY'],
    ['hash as text', wire({ h: 'ab' }), 'MALFORMED_LOG_ENTRY'],
    ['negative size', wire({ sz: -1 }), 'MALFORMED_LOG_ENTRY'],
    ['float time', wire({ ts: 1.5 }), 'MALFORMED_LOG_ENTRY'],
    ['time beyond 2^53', wire({ ts: 2n ** 60n }), 'MALFORMED_LOG_ENTRY'],
    ['actor with a space', wire({ act: 'user 3' }), 'MALFORMED_LOG_ENTRY'],
    ['empty actor', wire({ act: '' }), 'MALFORMED_LOG_ENTRY'],
    ['uppercase kind', wire({ kind: 'Export' }), 'MALFORMED_LOG_ENTRY'],
    [
      'non-minimal integer',
      Buffer.from(Buffer.from(audit).toString('hex').replace('62737a1903e8', '62737a1a000003e8'), 'hex'),
      'MALFORMED_LOG_ENTRY',
    ],
    ['indefinite-length map', Uint8Array.from([0xbf, ...audit.subarray(1), 0xff]), 'MALFORMED_LOG_ENTRY'],
    ['tagged', Uint8Array.from([0xd8, 0x18, ...audit]), 'MALFORMED_LOG_ENTRY'],
    ['oversized', new Uint8Array(MAX_LOG_ENTRY_BYTES + 1), 'OVERSIZED_INPUT'],
  ];
  for (const [name, bytes, code] of bad) {
    it(`rejects ${name}`, () => expect(codeOf(() => decodeLogEntry(bytes))).toBe(code));
  }

  it('rejects keys out of RFC 8949 order', () => {
    // Swap the "h" and "t" pairs: same map, non-canonical order.
    const hPair = audit.subarray(1, 1 + 2 + 2 + 32);
    const tPair = audit.subarray(1 + 36, 1 + 36 + 2 + 12);
    const swapped = Uint8Array.from([0xa7, ...tPair, ...hPair, ...audit.subarray(1 + 36 + 14)]);
    expect(swapped.length).toBe(audit.length);
    expect(codeOf(() => decodeLogEntry(swapped))).toBe('MALFORMED_LOG_ENTRY');
  });

  it('every single-bit flip is rejected or decodes to a different, canonical entry', () => {
    const problems: string[] = [];
    for (const e of SAMPLE_ENTRIES) {
      const bytes = encodeLogEntry(e);
      for (let i = 0; i < bytes.length * 8; i++) {
        const m = bytes.slice();
        m[i >> 3]! ^= 1 << (i & 7);
        let back: LogEntry;
        try {
          back = decodeLogEntry(m);
        } catch (err) {
          if (!(err instanceof CustosError)) problems.push(`${e.type} bit ${i}: ${String(err)}`);
          continue;
        }
        const again = encodeLogEntry(back);
        if (Buffer.compare(again, m) !== 0 || Buffer.compare(again, bytes) === 0) {
          problems.push(`${e.type} bit ${i}: accepted a non-canonical or identical entry`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('validates on encode', () => {
    const [rec, relay, , , hold] = SAMPLE_ENTRIES as [LogEntry, LogEntry, LogEntry, LogEntry, LogEntry];
    expect(codeOf(() => encodeLogEntry({ ...rec, actor: 'dev-9' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...relay, actor: 'dev-2' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...hold, action: 'pause' } as unknown as LogEntry))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => encodeLogEntry({ ...rec, hash: new Uint8Array(33) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...rec, size: 2 ** 53 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...rec, type: 'other' } as unknown as LogEntry))).toBe(
      'INVALID_ARGUMENT',
    );
    const gap = SAMPLE_ENTRIES[6]!;
    expect(codeOf(() => encodeLogEntry({ ...gap, actor: 'dev-9' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...gap, end: 40 } as LogEntry))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeLogEntry({ ...gap, reason: 'lost' } as unknown as LogEntry))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('decodes an archive gap only with its own keys and a known reason', () => {
    const gapWire = (extra: Record<string, unknown>, drop: readonly string[] = []): Uint8Array => {
      const base: Record<string, unknown> = {
        v: 1,
        t: 'archive-gap',
        h: H,
        sz: 1000,
        ts: T,
        act: 'dev-1',
        org: 'acme',
        dev: 'dev-1',
        seq: 41,
        end: 57,
        why: 'server-restored',
      };
      for (const k of drop) delete base[k];
      return encodeDeterministicCbor({ ...base, ...extra });
    };
    expect(decodeLogEntry(gapWire({}))).toEqual(SAMPLE_ENTRIES[6]);
    expect(codeOf(() => decodeLogEntry(gapWire({ why: 'lost' })))).toBe('MALFORMED_LOG_ENTRY');
    expect(codeOf(() => decodeLogEntry(gapWire({ end: 40 })))).toBe('MALFORMED_LOG_ENTRY');
    expect(codeOf(() => decodeLogEntry(gapWire({}, ['why'])))).toBe('MALFORMED_LOG_ENTRY');
    expect(codeOf(() => decodeLogEntry(gapWire({ bkt: 'std-2026' })))).toBe('MALFORMED_LOG_ENTRY');
    expect(codeOf(() => decodeLogEntry(gapWire({ act: 'dev-2' })))).toBe('MALFORMED_LOG_ENTRY');
  });

  it('round-trips random valid entries (property)', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$/);
    const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const base = fc.record({
      hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      size: uint,
      time: uint,
      actor: id,
    });
    const entry: fc.Arbitrary<LogEntry> = fc.oneof(
      fc.tuple(base, id, uint, id).map(([b, org, seq, bkt]): LogEntry => ({
        type: 'archive-record',
        ...b,
        org: org as OrgId,
        device: b.actor as DeviceId,
        seq,
        bucket: bkt as BucketId,
      })),
      fc.tuple(base, id).map(([b, to]): LogEntry => ({
        type: 'relay-receipt',
        ...b,
        sender: b.actor as DeviceId,
        recipient: to as DeviceId,
      })),
      fc
        .tuple(base, fc.stringMatching(/^[a-z][a-z0-9-]{0,47}$/), id)
        .map(([b, kind, subject]): LogEntry => ({ type: 'key-event', ...b, kind, subject })),
      fc
        .tuple(base, fc.constantFrom('place' as const, 'release' as const), id)
        .map(([b, action, holdId]): LogEntry => ({ type: 'hold', ...b, action, holdId })),
      fc.tuple(base, id, uint).map(([b, bkt, records]): LogEntry => ({
        type: 'disposition',
        ...b,
        bucket: bkt as BucketId,
        records,
      })),
      fc
        .tuple(
          base,
          id,
          uint,
          fc.nat(),
          fc.constantFrom('server-restored' as const, 'device-lost' as const, 'bucket-disposed' as const),
        )
        .filter(([, , seq, n]) => seq + n <= Number.MAX_SAFE_INTEGER)
        .map(([b, org, seq, n, reason]): LogEntry => ({
          type: 'archive-gap',
          ...b,
          org: org as OrgId,
          device: b.actor as DeviceId,
          seq,
          end: seq + n,
          reason,
        })),
    );
    fc.assert(
      fc.property(entry, (e) => {
        const bytes = encodeLogEntry(e);
        expect(bytes.length).toBeLessThanOrEqual(MAX_LOG_ENTRY_BYTES);
        // The schema-specific writer and cborg's generic RFC 8949 encoder agree byte for byte.
        expect(Buffer.from(bytes).toString('hex')).toBe(
          Buffer.from(encodeLogEntryGeneric(e)).toString('hex'),
        );
        expect(decodeLogEntry(bytes)).toEqual(e);
        expect(peekLogEntryType(bytes)).toBe(e.type);
        // The receipt mark (what a store filters receipts by) is there exactly on receipts.
        expect(hasReceiptMark(bytes)).toBe(e.type === 'relay-receipt');
      }),
      { numRuns: 300 },
    );
  });

  describe('encodeArchiveRecordEntries', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$/);
    // Integers around every width of a CBOR head (1, 2, 3, 5 and 9 bytes), and anywhere.
    const edge = fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32);
    const uint = fc.oneof(edge, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
    const fullOf = (
      run: { org: string; device: string; time: number },
      r: { hash: Uint8Array; size: number; seq: number; bucket: string },
    ): LogEntry => ({
      type: 'archive-record',
      hash: r.hash,
      size: r.size,
      actor: run.device,
      time: run.time,
      org: run.org as OrgId,
      device: run.device as DeviceId,
      seq: r.seq,
      bucket: r.bucket as BucketId,
    });

    it('writes each entry exactly as encodeLogEntry does (property)', () => {
      const run = fc.record({ org: id, device: id, time: uint });
      const records = fc.array(
        fc.record({
          hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          size: uint,
          seq: uint,
          bucket: fc.constantFrom('b-2026', 'b-2027', 'bucket.with:long-name_0123456789'),
        }),
        { minLength: 1, maxLength: 12 },
      );
      fc.assert(
        fc.property(run, records, (r, rs) => {
          const typed = rs.map((x) => ({ ...x, bucket: x.bucket as BucketId }));
          const out = encodeArchiveRecordEntries(
            { org: r.org as OrgId, device: r.device as DeviceId, time: r.time },
            typed,
          );
          expect(out.map((b) => Buffer.from(b).toString('hex'))).toEqual(
            rs.map((x) => Buffer.from(encodeLogEntryGeneric(fullOf(r, x))).toString('hex')),
          );
          // Views of one buffer, back to back and not overlapping.
          out.forEach((b, i) => {
            expect(b.buffer).toBe(out[0]!.buffer);
            if (i > 0) expect(b.byteOffset).toBe(out[i - 1]!.byteOffset + out[i - 1]!.length);
          });
        }),
        { numRuns: 300 },
      );
    });

    it('refuses what encodeLogEntry refuses, naming the same field, wherever the record is', () => {
      const run = { org: 'org-1' as OrgId, device: 'dev-1' as DeviceId, time: T };
      const good = { hash: H, size: 10, seq: 5, bucket: 'b-2026' as BucketId };
      const bad: [string, Partial<typeof good>][] = [
        ['hash', { hash: new Uint8Array(31) }],
        ['size', { size: -1 }],
        ['size', { size: 2 ** 53 }],
        ['seq', { seq: 1.5 }],
        ['bucket', { bucket: 'no spaces' as BucketId }],
      ];
      for (const [field, change] of bad) {
        const wrong = { ...good, ...change };
        let expected = '';
        try {
          encodeLogEntry(fullOf(run, wrong));
        } catch (e) {
          expected = (e as Error).message;
        }
        expect(expected).toContain(field);
        // First, after a record of the same bucket, and after one of another bucket.
        for (const list of [[wrong], [good, wrong], [{ ...good, bucket: 'b-2027' as BucketId }, wrong]]) {
          expect(() => encodeArchiveRecordEntries(run, list)).toThrow(expected);
        }
      }
      expect(() => encodeArchiveRecordEntries({ ...run, org: 'a b' as OrgId }, [good])).toThrow('org');
      // A first record without a bucket is checked in full (nothing before it to compare with).
      const noBucket = { ...good, bucket: undefined as unknown as BucketId };
      expect(() => encodeArchiveRecordEntries(run, [noBucket])).toThrow('log entry: bucket');
      // A record's own extra fields never stand in for the run's in what is checked.
      const withOrg = { ...good, org: 'org-ok' } as typeof good;
      expect(() => encodeArchiveRecordEntries({ ...run, org: 'é bad' as OrgId }, [withOrg])).toThrow('org');
      expect(() => encodeArchiveRecordEntries({ ...run, time: -1 }, [good])).toThrow('time');
      expect(encodeArchiveRecordEntries(run, [])).toEqual([]);
    });
  });

  it('peeks the type only from a canonical prefix', () => {
    for (const e of SAMPLE_ENTRIES) expect(peekLogEntryType(encodeLogEntry(e))).toBe(e.type);
    expect(peekLogEntryType(new Uint8Array(0))).toBeNull();
    const receipt = encodeLogEntry(SAMPLE_ENTRIES[1]!);
    expect(peekLogEntryType(receipt.subarray(0, 45))).toBeNull(); // type text cut short
    for (const at of [1, 2, 3, 4, 37, 38, 39]) {
      const bad = Uint8Array.from(receipt);
      bad[at] = bad[at]! ^ 0x01;
      expect(peekLogEntryType(bad)).toBeNull();
    }
    const renamed = Uint8Array.from(receipt);
    renamed[40] = 0x52; // "Relay-receipt": not a type
    expect(peekLogEntryType(renamed)).toBeNull();
  });

  it('marks as a receipt exactly what peekLogEntryType reads as one, prefix included', () => {
    const receipt = encodeLogEntry(SAMPLE_ENTRIES[1]!);
    expect(hasReceiptMark(receipt)).toBe(true);
    for (let at = 0; at < receipt.length; at++) {
      const bad = Uint8Array.from(receipt);
      bad[at] = bad[at]! ^ 0x01;
      expect(hasReceiptMark(bad)).toBe(peekLogEntryType(bad) === 'relay-receipt');
    }
  });
});
