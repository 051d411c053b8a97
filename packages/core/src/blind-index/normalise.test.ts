import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldCase, MAX_TERM_CODE_POINTS, stripDiacritics } from './normalise.js';
import { MAX_TERMS_PER_RECORD, recordTerms } from './record-tokens.js';
import { queryTerms } from './query-tokens.js';

/** Every query term is among the record's terms. */
function found(recordText: string, query: string, matchDiacritics = false): boolean {
  const terms = new Set(recordTerms(recordText));
  const q = queryTerms(query, matchDiacritics);
  return q.length > 0 && q.every((t) => terms.has(t));
}

describe('case folding', () => {
  it('folds German ß and ẞ to ss', () => {
    for (const w of ['Straße', 'STRASSE', 'strasse', 'STRAẞE']) expect(foldCase(w)).toBe('strasse');
  });

  it('folds Greek final sigma to σ whatever the case', () => {
    for (const w of ['ΣΊΣΥΦΟΣ', 'σίσυφος', 'Σίσυφος', 'σίσυφοσ']) expect(foldCase(w)).toBe('σίσυφοσ');
    expect(stripDiacritics(foldCase('ΣΊΣΥΦΟΣ'))).toBe('σισυφοσ');
  });

  it('folds Turkish dotted İ and dotless ı to i, consistently', () => {
    for (const w of ['İstanbul', 'ISTANBUL', 'istanbul', 'ıstanbul', 'İSTANBUL'])
      expect(foldCase(w)).toBe('istanbul');
    expect(found('Ilık bir gün', 'ILIK')).toBe(true);
  });

  it('folds Greek iota subscript to iota, as CaseFolding.txt does', () => {
    expect(foldCase('ᾼ')).toBe(foldCase('ᾳ'));
    expect(stripDiacritics(foldCase('ᾳ'))).toBe('αι');
  });

  it('is idempotent on arbitrary Unicode (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), (s) => {
        const once = foldCase(s.normalize('NFKC'));
        expect(foldCase(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('normalisation across scripts', () => {
  it('Latin with diacritics: indexes both forms, so "resume" finds "résumé" and back', () => {
    const terms = recordTerms('Please send your Résumé');
    expect(terms).toContain('résumé');
    expect(terms).toContain('resume');
    expect(found('Please send your Résumé', 'resume')).toBe(true);
    expect(found('Please send your resume', 'résumé')).toBe(true);
    expect(found('Please send your résumé', 'RÉSUMÉ', true)).toBe(true);
    expect(found('Please send your resume', 'résumé', true)).toBe(false);
  });

  it('Vietnamese and Polish diacritics strip to the base letters', () => {
    expect(found('Tiếng Việt', 'tieng viet')).toBe(true);
    expect(found('Zażółć gęślą jaźń', 'zazolc gesla')).toBe(true);
  });

  it('Cyrillic', () => {
    expect(recordTerms('ПРИВЕТ, Мир!')).toEqual(['привет', 'мир']);
    expect(found('Новогодняя Ёлка', 'елка')).toBe(true);
  });

  it('Chinese: CJK runs are indexed as unigrams and bigrams, so substrings are found', () => {
    const text = '我在北京大学学习。';
    expect(found(text, '北京')).toBe(true);
    expect(found(text, '北京大学')).toBe(true);
    expect(found(text, '学')).toBe(true);
    expect(queryTerms('北京大学', false)).toEqual(['北京', '京大', '大学']);
    expect(found(text, '上海')).toBe(false);
  });

  it('Japanese: kanji and kana, half-width katakana folded by NFKC', () => {
    const text = '東京都に住んでいます。ｶﾀｶﾅも。';
    expect(found(text, '東京')).toBe(true);
    expect(found(text, '住んで')).toBe(true);
    expect(found(text, 'カタカナ')).toBe(true);
  });

  it('Thai: dictionary segmentation, tone marks and vowel signs kept', () => {
    const text = 'ภาษาไทยง่ายนิดเดียว';
    expect(recordTerms(text)).toEqual(['ภาษา', 'ไทย', 'ง่าย', 'นิด', 'เดียว']);
    expect(found(text, 'ไทย')).toBe(true);
    expect(found(text, 'งาย')).toBe(false); // the tone mark is part of the word
  });

  it('Arabic: harakat and tatweel removed for the base form, presentation forms folded', () => {
    expect(recordTerms('مُحَمَّد')).toEqual(['مُحَمَّد', 'محمد']);
    expect(found('مُحَمَّد', 'محمد')).toBe(true);
    expect(found('محـــمد', 'محمد')).toBe(true);
    expect(found('\ufedf\ufe8e', 'لا'.normalize('NFKC'))).toBe(true);
  });

  it('Devanagari: vowel signs and virama are letters there, not diacritics', () => {
    expect(recordTerms('नमस्ते दुनिया')).toEqual(['नमस्ते', 'दुनिया']);
  });

  it('emoji are not terms and do not disturb the words around them', () => {
    expect(recordTerms('hello 👋🏽 world 👨‍👩‍👧 again😀')).toEqual(['hello', 'world', 'again']);
  });

  it('apostrophes: an elided word is also indexed by its parts', () => {
    expect(found('C’est l’été', 'été')).toBe(true);
    expect(found("C'est l'été", 'l’été')).toBe(true);
  });

  it('same text in different Unicode forms gives the same terms', () => {
    const variants = [
      'Café ﬁle ＡＢＣ co\u00adoperate',
      'Cafe\u0301 file ABC cooperate',
      'CAFÉ FILE abc COOPERATE',
      'café\u200b file abc co\u00adoperate',
    ];
    const expected = recordTerms(variants[0]!);
    for (const v of variants) expect(recordTerms(v)).toEqual(expected);
  });

  it('truncates long words to MAX_TERM_CODE_POINTS, identically for queries', () => {
    const long = 'x'.repeat(200);
    const terms = recordTerms(long);
    expect([...terms[0]!].length).toBe(MAX_TERM_CODE_POINTS);
    expect(found(long, long)).toBe(true);
  });

  it('stops at MAX_TERMS_PER_RECORD distinct terms', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');
    expect(recordTerms(text).length).toBe(MAX_TERMS_PER_RECORD);
  });

  it('segments long texts in pieces without splitting words at piece boundaries', () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}x${'y'.repeat(i % 13)}`);
    expect(recordTerms(words.map((w, i) => (i % 7 === 0 ? w + '\n' : w + ' ')).join(''))).toEqual(words);
    expect(recordTerms(words.join('  \t '))).toEqual(words);
  });

  it('bounds the work on huge texts: the caps hold for megabytes of words, Han, marks', () => {
    const many = Array.from({ length: 150_000 }, (_, i) => `w${i}`).join(' ');
    expect(recordTerms(many).length).toBe(MAX_TERMS_PER_RECORD);
    expect(recordTerms('北京'.repeat(500_000)).sort()).toEqual(['京', '京北', '北', '北京'].sort());
    expect(recordTerms('a' + '\u0301'.repeat(200_000)).length).toBeLessThanOrEqual(4);
  });

  it('does not throw on lone surrogates or control characters', () => {
    expect(() => recordTerms('abc\ud800def \udc00 \u0000\u0007 ok')).not.toThrow();
    expect(recordTerms('ok \ud800')).toContain('ok');
  });
});
