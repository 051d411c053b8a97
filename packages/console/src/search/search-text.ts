/**
 * The officer's query text and the exact filter run on opened records (docs/search.md §5).
 * Blind tokens only say "these normalised words occur"; the console re-checks every hit on
 * its plaintext: each word of the query occurs as a word (accent-insensitive unless asked),
 * each "quoted phrase" occurs as consecutive words, and with case matching the words occur
 * with the query's exact letter case.
 */
import { queryTerms, recordTerms } from '@custos/core';

/** A query split into what the server can match (words) and what only the console can (phrases, case). */
export interface ParsedSearchText {
  /** Every word of the query, phrases included (their words are AND'ed as tokens). */
  readonly tokenText: string;
  /** Quoted phrases, as typed. */
  readonly phrases: readonly string[];
  /** Unquoted words, as typed. */
  readonly words: readonly string[];
}

/** Splits QUERY at double quotes: `"exact phrase" other words`. An unbalanced quote runs to the end. */
export function parseSearchText(query: string): ParsedSearchText {
  const phrases: string[] = [];
  const words: string[] = [];
  const parts = query.split('"');
  parts.forEach((p, i) => {
    const t = p.trim();
    if (t === '') return;
    if (i % 2 === 1) phrases.push(t);
    else words.push(...t.split(/\s+/u));
  });
  return { tokenText: [...words, ...phrases].join(' '), phrases, words };
}

/** Options of the exact filter. */
export interface TextMatchOptions {
  /** Diacritics must match as typed (docs/blind-index.md §2). */
  readonly matchDiacritics: boolean;
  /** Letter case must match as typed. */
  readonly matchCase: boolean;
}

/** The normalised word sequence of a text (folded or base forms). */
function wordSequence(text: string, matchDiacritics: boolean): string[] {
  // queryTerms refuses more than 64 terms; a record text is segmented in slices of words instead.
  const out: string[] = [];
  for (const w of text.split(/\s+/u)) {
    if (w === '') continue;
    try {
      out.push(...queryTerms(w, matchDiacritics));
    } catch {
      // A "word" of more than 64 terms (a long CJK run): keep its record terms.
      out.push(...recordTerms(w));
    }
  }
  return out;
}

function containsRun(hay: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return true;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether `text` satisfies the query exactly. */
export function textMatches(text: string, q: ParsedSearchText, o: TextMatchOptions): boolean {
  if (q.words.length === 0 && q.phrases.length === 0) return true;
  const seq = wordSequence(text, o.matchDiacritics);
  const have = new Set(seq);
  for (const w of q.words) {
    for (const term of wordSequence(w, o.matchDiacritics)) if (!have.has(term)) return false;
  }
  for (const p of q.phrases) if (!containsRun(seq, wordSequence(p, o.matchDiacritics))) return false;
  if (o.matchCase) {
    // Case is checked on the raw text: every typed word or phrase occurs with its exact letters.
    const raw = text.normalize('NFC');
    for (const s of [...q.words, ...q.phrases]) if (!raw.includes(s.normalize('NFC'))) return false;
  }
  return true;
}
