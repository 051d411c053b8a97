import { describe, expect, it } from 'vitest';
import { fuzzParser, utf8 } from '../testing/fuzz.js';
import { BlindIndexKey, tokensForQuery, tokensForRecord } from './index.js';

// Message text is outside input too: whatever bytes a sender managed to put in a message,
// indexing must return tokens (never throw), and query building must return or refuse with
// a CustosError — and neither may hang on floods of combining marks or giant words.
const key = BlindIndexKey.fromBytes(new Uint8Array(32).fill(1));
const decoder = new TextDecoder('utf-8', { fatal: false });
const seeds = [
  'Résumé Straße ΣΊΣΥΦΟΣ İstanbul ılık',
  '我在北京大学学习。東京都に住んでいます ｶﾀｶﾅ',
  'ภาษาไทยง่ายนิดเดียว مُحَمَّد नमस्ते दुनिया',
  "l’été don't co\u00adoperate 👋🏽 👨‍👩‍👧 e\u0301\u0301\u0301\u0301",
  'ﬁle ＡＢＣ ᾼ ǅ ẞ',
].map(utf8);

describe('blind-index fuzzing', () => {
  it('tokensForRecord never throws on any text', () => {
    const report = fuzzParser((input) => {
      const tokens = tokensForRecord(key, { text: decoder.decode(input), timestamp: 0 });
      if (tokens.length < 2) throw new Error('lost the day and month tokens');
    }, seeds);
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBe(0);
  });

  it('tokensForQuery returns or refuses with a CustosError', () => {
    const report = fuzzParser((input) => tokensForQuery(key, { text: decoder.decode(input) }), seeds);
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
  });
});
