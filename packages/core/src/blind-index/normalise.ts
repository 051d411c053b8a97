/**
 * Text normalisation for the blind index: the same function runs on the device (record
 * side) and in the console (query side), so a query term is found exactly when its
 * normalised form was indexed. Every rule here is part of the index format
 * (docs/blind-index.md §2): changing one changes tokens and needs a new format version.
 *
 * Pipeline per text: well-formed UTF-16 → NFKC → drop default-ignorable code points →
 * word segmentation (Intl.Segmenter, locale pinned to 'und') → per word: case fold →
 * NFKC → two forms, `folded` (diacritics kept) and `base` (Latin/Greek/Cyrillic combining
 * diacritics, Arabic harakat and Hebrew points removed) → truncation to
 * {@link MAX_TERM_CODE_POINTS}. Han, Hiragana and Katakana runs are indexed as character
 * unigrams and bigrams instead of words, because dictionary segmentation of those scripts
 * depends on context and on the ICU version.
 */

/** Longest term kept, in code points; longer words are truncated (the same on both sides). */
export const MAX_TERM_CODE_POINTS = 64;

/** Segmentation locale, pinned: the host default locale must not change the tokens. */
const SEGMENTER_LOCALE = 'und';

const segmenter = new Intl.Segmenter(SEGMENTER_LOCALE, { granularity: 'word' });

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
/** A UTF-16 surrogate without its partner (not valid Unicode; UTF-8 cannot encode it). */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Printable ASCII: folding is toLowerCase and NFKC is the identity, so the slow path is skipped. */
const ASCII_ONLY = /^[ -~]*$/;
/** Scripts written without spaces whose runs are indexed as unigrams and bigrams. */
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u30fc]/u;
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u30fc]+/gu;

/**
 * Full case folding beyond `toLowerCase` (CaseFolding.txt status F/C mappings that
 * `toLowerCase` does not make), plus two search-specific choices: dotless ı folds to i
 * (so Turkish text matches whatever case the searcher types), and apostrophe variants
 * fold to U+0027. Arabic tatweel (a typographic stretch) is dropped.
 */
const FOLD_MAP: Readonly<Record<string, string>> = {
  '\u00df': 'ss', // ß (ẞ lowercases to ß first)
  '\u03c2': '\u03c3', // final sigma ς → σ: toLowerCase picks ς by context, folding does not
  '\u0131': 'i', // dotless ı
  '\u0345': '\u03b9', // combining ypogegrammeni → ι, as CaseFolding.txt does
  '\u2019': "'",
  '\u02bc': "'",
  '\u0640': '', // Arabic tatweel
};
// eslint-disable-next-line no-misleading-character-class -- U+0345 is matched on its own, by design
const FOLD_CHARS = /[\u00df\u03c2\u0131\u0345\u2019\u02bc\u0640]/g;
/** The dot above left behind when İ (I + U+0307) lowercases; removed after i/j. */
const DOT_AFTER_I = /(?<=[ij])\u0307/g;

/**
 * Combining marks removed for the `base` form: generic combining diacritics (used by
 * Latin, Greek, Cyrillic), Arabic harakat and hamza marks, Hebrew points. Marks of Indic,
 * Thai and other scripts are vowels or tones there, not decoration, and are kept.
 */
const STRIPPABLE_MARKS =
  // eslint-disable-next-line no-misleading-character-class -- a class of lone combining marks, by design
  /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u064b-\u065f\u0670\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]/g;

/** Letters with a stroke have no Unicode decomposition; their base letters are mapped by hand. */
const STROKE_MAP: Readonly<Record<string, string>> = {
  '\u0142': 'l', // ł (Polish)
  '\u00f8': 'o', // ø (Danish, Norwegian)
  '\u0111': 'd', // đ (Vietnamese, Croatian)
  '\u0127': 'h', // ħ (Maltese)
  '\u0167': 't', // ŧ (Sámi)
};
const STROKE_CHARS = /[\u0142\u00f8\u0111\u0127\u0167]/g;

/** The two indexed forms of one word. `base === folded` when the word has no strippable marks. */
export interface TermForms {
  readonly folded: string;
  readonly base: string;
}

/** Case-folds one word and returns it NFKC-normalised (idempotent: fold(fold(w)) === fold(w)). */
export function foldCase(word: string): string {
  if (ASCII_ONLY.test(word)) return word.toLowerCase();
  // NFD first so precomposed letters expose U+0345 and İ's U+0307 to the maps below.
  const lower = word.normalize('NFD').toLowerCase();
  return lower
    .replace(FOLD_CHARS, (c) => FOLD_MAP[c] ?? c)
    .replace(DOT_AFTER_I, '')
    .normalize('NFKC');
}

/** Removes strippable diacritics from a folded word (see {@link STRIPPABLE_MARKS}) and strokes (ł → l). */
export function stripDiacritics(folded: string): string {
  if (ASCII_ONLY.test(folded)) return folded;
  return folded
    .normalize('NFD')
    .replace(STRIPPABLE_MARKS, '')
    .replace(STROKE_CHARS, (c) => STROKE_MAP[c] ?? c)
    .normalize('NFC');
}

/** Cuts a string to at most {@link MAX_TERM_CODE_POINTS} code points. */
function truncate(s: string): string {
  if (s.length <= MAX_TERM_CODE_POINTS) return s;
  let out = '';
  let n = 0;
  for (const cp of s) {
    if (n++ === MAX_TERM_CODE_POINTS) break;
    out += cp;
  }
  return out;
}

/** Both forms of one word, or null when nothing indexable remains. */
export function termForms(word: string): TermForms | null {
  const folded = truncate(foldCase(word));
  if (folded.length === 0) return null;
  const base = truncate(stripDiacritics(folded));
  return { folded, base: base.length === 0 ? folded : base };
}

/** NFKC, well-formed, without default-ignorable code points (soft hyphen, ZWJ, ZWNJ, BOM…). */
export function prepareText(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd').normalize('NFKC').replace(DEFAULT_IGNORABLE, '');
}

/** What a text contributes to the index, before limits: words, and CJK n-grams. */
export interface TextTerms {
  /** Forms of space-delimited words, in text order (duplicates possible). */
  readonly words: readonly TermForms[];
  /** Han/Kana unigrams and bigrams of each run, in text order. */
  readonly cjkGrams: readonly string[];
  /** For queries: the bigrams only (or the unigram of a one-character run). */
  readonly cjkQueryGrams: readonly string[];
}

/**
 * Longest piece of text given to the segmenter at once, in UTF-16 units. V8's segment
 * iterator costs time proportional to the whole string per segment (measured: 2,000
 * segments of a 1 MB text take tens of seconds), so text is cut into pieces at whitespace;
 * 256–1024 units measured cheapest per segment.
 */
const SEGMENT_CHUNK = 1024;
/**
 * Only this many UTF-16 units of a text are indexed (128 Ki): far more than the word cap
 * needs for any script, and it bounds normalisation work on a hostile multi-megabyte body.
 */
export const MAX_TEXT_SCANNED = 128 * 1024;
const WHITESPACE = /\s/;

/** Pieces of at most SEGMENT_CHUNK units, cut after whitespace so no word is split (unless a piece has none). */
function* chunks(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + SEGMENT_CHUNK, text.length);
    if (end < text.length) {
      let cut = end;
      while (cut > start && !WHITESPACE.test(text[cut - 1]!)) cut--;
      if (cut > start) end = cut;
      else if (/[\ud800-\udbff]/.test(text[end - 1]!)) end--; // never split a surrogate pair
    }
    yield text.slice(start, end);
    start = end;
  }
}

/**
 * Splits a text into indexable terms. Han/Kana are left to the n-grams;
 * words with an apostrophe also contribute their parts ("l'été" → l'été, l, été), so a
 * search for "été" finds the elided form. Scans at most the first MAX_TEXT_SCANNED units,
 * `maxWords` words (4 × `maxWords` segments) and `maxWords` Han/Kana characters.
 */
export function textTerms(text: string, maxWords: number): TextTerms {
  const prepared = prepareText(text.length > MAX_TEXT_SCANNED ? text.slice(0, MAX_TEXT_SCANNED) : text);
  const words: TermForms[] = [];
  // Segments of any kind (spaces, punctuation, CJK) also count, so text without indexable
  // words cannot make the scan run through the whole input.
  let segments = 0;
  // Han/Kana runs are indexed as n-grams below; blanking them here keeps the (slow)
  // dictionary segmenter off them. A mixed word such as "Tシャツ" gives "t" plus n-grams.
  const hasCjk = CJK_CHAR.test(prepared);
  const forSegmenter = hasCjk ? prepared.replace(CJK_RUN, ' ') : prepared;
  scan: for (const piece of chunks(forSegmenter)) {
    for (const seg of segmenter.segment(piece)) {
      if (words.length >= maxWords || ++segments > 4 * maxWords) break scan;
      if (seg.isWordLike !== true) continue;
      const forms = termForms(seg.segment);
      if (forms === null) continue;
      words.push(forms);
      if (forms.folded.includes("'")) {
        for (const part of forms.folded.split("'")) {
          const p = termForms(part);
          if (p !== null) words.push(p);
        }
      }
    }
  }
  const cjkGrams: string[] = [];
  const cjkQueryGrams: string[] = [];
  if (hasCjk) {
    let budget = maxWords;
    for (const m of prepared.matchAll(CJK_RUN)) {
      if (budget <= 0) break;
      const chars = [...foldCase(m[0].slice(0, 2 * budget))].slice(0, budget);
      budget -= chars.length;
      for (let i = 0; i < chars.length; i++) {
        cjkGrams.push(chars[i]!);
        if (i + 1 < chars.length) {
          const bigram = chars[i]! + chars[i + 1]!;
          cjkGrams.push(bigram);
          cjkQueryGrams.push(bigram);
        }
      }
      if (chars.length === 1) cjkQueryGrams.push(chars[0]!);
    }
  }
  return { words, cjkGrams, cjkQueryGrams };
}
