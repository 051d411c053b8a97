import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import {
  BLIND_TOKEN_KINDS,
  BLIND_TOKEN_LENGTH,
  BlindIndexKey,
  compareBlindTokens,
  deriveBucketIndexKey,
  deriveToken,
  deriveTokens,
  deriveTokensInto,
  matchesQuery,
  tokensForQuery,
  tokensForRecord,
  type BlindToken,
  type BlindTokenKind,
} from './index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const keyBytes = randomBytes(32);
const key = BlindIndexKey.fromBytes(keyBytes);
const T0 = Date.UTC(2024, 4, 31, 23, 59, 59);

/** The token as the spec defines it, with the standard HMAC: docs/blind-index.md §3. */
function referenceToken(k: Uint8Array, kind: BlindTokenKind, value: string): string {
  const prefix = Buffer.alloc(64);
  prefix.write(`custos/blind-index/v1/${kind}`, 'ascii');
  return createHmac('sha256', k)
    .update(prefix)
    .update(value, 'utf8')
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

function expectInvalid(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(isCustosError(e, 'INVALID_ARGUMENT'), String(e)).toBe(true);
    return;
  }
  expect.fail('expected an INVALID_ARGUMENT CustosError');
}

describe('token derivation', () => {
  it('equals truncated createHmac over the 64-byte kind prefix and the UTF-8 value (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom(...BLIND_TOKEN_KINDS),
        fc.array(fc.string({ unit: 'grapheme', maxLength: 80 }), { maxLength: 8 }),
        (k, kind, values) => {
          const tokens = deriveTokens(BlindIndexKey.fromBytes(k), kind, values);
          expect(tokens.map(hex)).toEqual(values.map((v) => referenceToken(k, kind, v)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reproduces the vectors of docs/blind-index.md §3', () => {
    const k = BlindIndexKey.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => i));
    const vectors: readonly [BlindTokenKind, string, string][] = [
      ['term', 'resume', 'da158e2720676f9ad32811f92bba26ac'],
      ['term', 'résumé', 'bbf5040c297805b4eea06fa879c1abde'],
      ['term', '北京', 'b888e0d2bd2cf8d912d624add108cc61'],
      ['participant', 'user:alice', '0dc238cd4f59c7ae4719cf385a787944'],
      ['conversation', 'conv-1', 'ebd9e50406ca1e4df02cceb854970bb8'],
      ['day', '2024-05-31', 'be60b121235b1d383a6dc653f587db81'],
      ['month', '2024-05', '29c50a681fff2854174e5516244a79bb'],
    ];
    for (const [kind, value, token] of vectors)
      expect(hex(deriveToken(k, kind, value)), `${kind} ${value}`).toBe(token);
    expect(deriveToken(k, 'term', 'resume').length).toBe(BLIND_TOKEN_LENGTH);
  });

  it('deriveTokensInto writes the same tokens back to back, and checks the buffer size', () => {
    const values = ['alpha', 'béta', '', '北京'];
    const out = new Uint8Array(8 + values.length * BLIND_TOKEN_LENGTH);
    deriveTokensInto(key, 'term', values, out, 8);
    const views = deriveTokens(key, 'term', values);
    expect(hex(out.subarray(8))).toBe(views.map(hex).join(''));
    expectInvalid(() => deriveTokensInto(key, 'term', values, new Uint8Array(63)));
    expectInvalid(() => deriveTokensInto(key, 'term', values, out, 9));
  });

  it('separates kinds: the same value gives a different token under every kind', () => {
    const seen = new Set(BLIND_TOKEN_KINDS.map((kind) => hex(deriveToken(key, kind, '2024-05'))));
    expect(seen.size).toBe(BLIND_TOKEN_KINDS.length);
  });

  it('separates keys and buckets', () => {
    const other = BlindIndexKey.fromBytes(randomBytes(32));
    expect(hex(deriveToken(key, 'term', 'x'))).not.toBe(hex(deriveToken(other, 'term', 'x')));
    const secret = randomBytes(32);
    const a = deriveBucketIndexKey(secret, 'bucket-a');
    const b = deriveBucketIndexKey(secret, 'bucket-b');
    expect(hex(deriveToken(a, 'term', 'x'))).not.toBe(hex(deriveToken(b, 'term', 'x')));
    expect(hex(deriveToken(a, 'term', 'x'))).toBe(
      hex(deriveToken(deriveBucketIndexKey(secret, 'bucket-a'), 'term', 'x')),
    );
  });

  it('derives bucket keys with HKDF-SHA256 as documented', () => {
    const secret = randomBytes(32);
    const okm = new Uint8Array(
      hkdfSync('sha256', secret, 'custos/blind-index/v1/bucket-key', Buffer.from('bucket-a'), 32),
    );
    expect(hex(deriveToken(deriveBucketIndexKey(secret, 'bucket-a'), 'day', '2024-05-31'))).toBe(
      referenceToken(okm, 'day', '2024-05-31'),
    );
  });

  it('never shows key material when printed or serialised', () => {
    const printed = [String(key), JSON.stringify({ key }), inspect(key), inspect({ key })].join(' ');
    expect(printed).not.toContain(hex(keyBytes).slice(0, 8));
    expect(printed).toContain('[BlindIndexKey]');
  });

  it('rejects keys of the wrong length and bad bucket ids', () => {
    expectInvalid(() => BlindIndexKey.fromBytes(new Uint8Array(31)));
    expectInvalid(() => BlindIndexKey.fromBytes(new Uint8Array(33)));
    expectInvalid(() => deriveBucketIndexKey(new Uint8Array(16), 'b'));
    expectInvalid(() => deriveBucketIndexKey(new Uint8Array(32), ''));
  });
});

describe('tokensForRecord', () => {
  const input = {
    text: 'Quarterly numbers: the Résumé is attached. 北京 office.',
    participants: ['user:alice', 'user:bob'],
    conversationId: 'conv-1',
    timestamp: T0,
  };

  it('returns sorted, unique 16-byte tokens including participant, conversation, day and month', () => {
    const tokens = tokensForRecord(key, input);
    for (let i = 1; i < tokens.length; i++)
      expect(compareBlindTokens(tokens[i - 1]!, tokens[i]!)).toBeLessThan(0);
    const set = new Set(tokens.map(hex));
    for (const [kind, value] of [
      ['participant', 'user:alice'],
      ['participant', 'user:bob'],
      ['conversation', 'conv-1'],
      ['day', '2024-05-31'],
      ['month', '2024-05'],
      ['term', 'resume'],
      ['term', 'résumé'],
      ['term', '北京'],
    ] as const) {
      expect(set.has(hex(deriveToken(key, kind, value))), `${kind} ${value}`).toBe(true);
    }
    expect(tokens.every((t) => t.length === BLIND_TOKEN_LENGTH)).toBe(true);
  });

  it('gives the same tokens for the same text in another Unicode form and case', () => {
    const a = tokensForRecord(key, { ...input, text: 'RÉSUMÉ ﬁle Straße' });
    const b = tokensForRecord(key, { ...input, text: 're\u0301sume\u0301 FILE STRASSE' });
    expect(a.map(hex)).toEqual(b.map(hex));
  });

  it('does not depend on word order or repetition', () => {
    const a = tokensForRecord(key, { ...input, text: 'alpha beta gamma' });
    const b = tokensForRecord(key, { ...input, text: 'gamma alpha beta beta' });
    expect(a.map(hex)).toEqual(b.map(hex));
  });

  it('rejects bad identifiers and timestamps', () => {
    expectInvalid(() => tokensForRecord(key, { ...input, participants: [''] }));
    expectInvalid(() => tokensForRecord(key, { ...input, participants: ['\ud800'] }));
    expectInvalid(() => tokensForRecord(key, { ...input, conversationId: 'x'.repeat(257) }));
    expectInvalid(() => tokensForRecord(key, { ...input, timestamp: Number.NaN }));
    expectInvalid(() => tokensForRecord(key, { ...input, timestamp: new Date('nope') }));
    expectInvalid(() =>
      tokensForRecord(key, { ...input, participants: Array.from({ length: 1025 }, (_, i) => `u${i}`) }),
    );
  });
});

describe('tokensForQuery', () => {
  const VOCAB = [
    'invoice',
    'Résumé',
    'Straße',
    'ΣΊΣΥΦΟΣ',
    'İstanbul',
    'привет',
    'مُحَمَّد',
    'नमस्ते',
    'ภาษา',
    'l’été',
  ];

  it('query tokens are a subset of record tokens when the query words are in the text (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...VOCAB), { minLength: 1 }),
        fc.uniqueArray(fc.constantFrom(...VOCAB), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (extra, queryWords, matchDiacritics) => {
          const record = tokensForRecord(key, { text: [...extra, ...queryWords].join(' '), timestamp: T0 });
          const q = tokensForQuery(key, { text: queryWords.join(' ').toUpperCase(), matchDiacritics });
          expect(matchesQuery(record, q)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not match a record lacking a query word', () => {
    const record = tokensForRecord(key, { text: 'invoice attached', timestamp: T0 });
    expect(matchesQuery(record, tokensForQuery(key, { text: 'invoice refund' }))).toBe(false);
  });

  it('filters by participants (AND) and conversation', () => {
    const record = tokensForRecord(key, { participants: ['a', 'b'], conversationId: 'c1', timestamp: T0 });
    expect(matchesQuery(record, tokensForQuery(key, { participants: ['a'] }))).toBe(true);
    expect(
      matchesQuery(record, tokensForQuery(key, { participants: ['a', 'b'], conversationId: 'c1' })),
    ).toBe(true);
    expect(matchesQuery(record, tokensForQuery(key, { participants: ['a', 'z'] }))).toBe(false);
    expect(matchesQuery(record, tokensForQuery(key, { conversationId: 'c2' }))).toBe(false);
  });

  it('matches a date range exactly at UTC-day granularity (property)', () => {
    const DAY = 86_400_000;
    const base = Date.UTC(2023, 0, 1);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 900 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 1500 }),
        fc.integer({ min: 0, max: DAY - 1 }),
        (fromDay, span, recordDay, timeOfDay) => {
          const record = tokensForRecord(key, { timestamp: base + recordDay * DAY + timeOfDay });
          const q = tokensForQuery(key, {
            from: base + fromDay * DAY + 5,
            to: base + (fromDay + span) * DAY + 7,
          });
          expect(q.anyOf.length).toBe(1);
          expect(q.anyOf[0]!.length).toBeLessThanOrEqual(span + 1);
          expect(matchesQuery(record, q)).toBe(recordDay >= fromDay && recordDay <= fromDay + span);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('covers long ranges with month tokens', () => {
    const q = tokensForQuery(key, { from: Date.UTC(2014, 0, 15), to: Date.UTC(2024, 0, 14) });
    expect(q.anyOf[0]!.length).toBeLessThan(200);
  });

  it('refuses empty and malformed queries', () => {
    expectInvalid(() => tokensForQuery(key, {}));
    expectInvalid(() => tokensForQuery(key, { text: ' !!! 😀 ' }));
    expectInvalid(() => tokensForQuery(key, { from: T0 }));
    expectInvalid(() => tokensForQuery(key, { from: T0, to: T0 - 86_400_000 * 2 }));
    expectInvalid(() => tokensForQuery(key, { from: 0, to: Date.UTC(2100, 0, 1) }));
    expectInvalid(() =>
      tokensForQuery(key, { text: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ') }),
    );
  });

  it('returns tokens the header format can carry', () => {
    const q = tokensForQuery(key, { text: 'a b c', participants: ['p'] });
    const all: BlindToken[] = [...q.allOf];
    expect(all.every((t) => t.length === BLIND_TOKEN_LENGTH)).toBe(true);
  });
});

describe('UTF-8 encoding of token values', () => {
  it('matches TextEncoder, lone surrogates included (property)', () => {
    const k = new Uint8Array(32).fill(7);
    const handle = BlindIndexKey.fromBytes(k);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(hex(deriveToken(handle, 'term', s))).toBe(referenceToken(k, 'term', s));
      }),
      { numRuns: 1000 },
    );
    for (const s of ['\ud800', 'a\udc00b', '\udbff\udfff', '\ud83d\ude00', '\u07ff\u0800\uffff']) {
      expect(hex(deriveToken(handle, 'term', s))).toBe(referenceToken(k, 'term', s));
    }
  });
});
