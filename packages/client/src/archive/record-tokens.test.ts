import { BlindIndexKey, generateIndexSecret, tokensForRecord } from '@custos/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordTokenizer } from './record-tokens.js';

const hex = (ts: readonly Uint8Array[]) => ts.map((t) => Buffer.from(t).toString('hex'));

describe('RecordTokenizer', () => {
  it("equals core's tokensForRecord, with contexts repeating across records", () => {
    const key = BlindIndexKey.fromBytes(generateIndexSecret());
    const tokenizer = new RecordTokenizer(key);
    const input = fc
      .record(
        {
          text: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
          participants: fc.constantFrom(['a', 'b'], ['a', 'b', 'c'], ['b', 'a']),
          conversationId: fc.constantFrom('dm.x', 'group.y'),
          // Around a day and a month boundary, so cached day and month tokens must change.
          timestamp: fc.integer({ min: Date.UTC(2030, 0, 30), max: Date.UTC(2030, 1, 2) }),
        },
        { requiredKeys: ['participants', 'conversationId', 'timestamp'] },
      )
      .map(({ text, ...rest }) => (text === undefined ? rest : { ...rest, text }));
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 20 }), (inputs) => {
        for (const i of inputs) expect(hex(tokenizer.tokens(i))).toEqual(hex(tokensForRecord(key, i)));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what core refuses, every time (a refused context is not cached)', () => {
    const tokenizer = new RecordTokenizer(BlindIndexKey.fromBytes(generateIndexSecret()));
    const bad = { participants: [''], conversationId: 'dm.x', timestamp: Date.UTC(2030, 0, 1) };
    for (let i = 0; i < 2; i++) expect(() => tokenizer.tokens(bad)).toThrow(/participant/);
    const late = { participants: ['a'], conversationId: 'dm.x', timestamp: Date.UTC(10_000, 0, 1) };
    for (let i = 0; i < 2; i++) expect(() => tokenizer.tokens(late)).toThrow(/years/);
  });
});
