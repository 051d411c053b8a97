/**
 * The console side: a search turned into blind tokens under one bucket's index key.
 * The server evaluates the result as a conjunction of disjunctions over a record's header
 * tokens: every token of `allOf` present, and at least one of each `anyOf` group.
 * The console then opens the matching records and re-checks the query on the plaintext
 * (which also removes the rare false match, docs/blind-index.md §4).
 */
import { CustosError } from '../errors.js';
import type { BlindToken } from './blind-token.js';
import { coverDateRange, timestampMillis } from './dates.js';
import { deriveTokens, sortUniqueTokens } from './derive-tokens.js';
import type { BlindIndexKey } from './index-key.js';
import { textTerms } from './normalise.js';
import { checkIdentifier, MAX_PARTICIPANTS_PER_RECORD } from './record-tokens.js';

/** Most terms a query text may contribute (words and CJK bigrams). */
export const MAX_QUERY_TERMS = 64;

/** A search. Every criterion given must hold (AND); an empty query is refused. */
export interface BlindQuery {
  /** Words that must all occur; segmented and normalised like record text. */
  readonly text?: string;
  /** Participants that must all be in the conversation. */
  readonly participants?: readonly string[];
  /** The conversation the record must belong to. */
  readonly conversationId?: string;
  /** First and last instants of the range; matched at UTC-day granularity, both inclusive. */
  readonly from?: number | Date;
  readonly to?: number | Date;
  /**
   * false (default): accent-insensitive — "resume" and "résumé" both find both.
   * true: the query's diacritics must match — "résumé" finds only "résumé"
   * (an unaccented query still finds accented words; the console filters those).
   */
  readonly matchDiacritics?: boolean;
}

/** The query as tokens: all of `allOf`, and one of each group in `anyOf`. Both sorted. */
export interface BlindQueryTokens {
  readonly allOf: readonly BlindToken[];
  readonly anyOf: readonly (readonly BlindToken[])[];
}

/** The normalised terms of a query text (deduplicated), as {@link tokensForQuery} MACs them. */
export function queryTerms(text: string, matchDiacritics: boolean): string[] {
  // One word more than allowed, so an over-long query is refused instead of silently broadened.
  const { words, cjkQueryGrams } = textTerms(text, MAX_QUERY_TERMS + 1);
  const terms = new Set<string>(words.map((w) => (matchDiacritics ? w.folded : w.base)));
  for (const g of cjkQueryGrams) terms.add(g);
  if (terms.size > MAX_QUERY_TERMS) {
    throw new CustosError('INVALID_ARGUMENT', `query has more than ${MAX_QUERY_TERMS} terms`);
  }
  return [...terms];
}

/** Turns a search into tokens under one bucket's index key (run once per bucket searched). */
export function tokensForQuery(indexKey: BlindIndexKey, query: BlindQuery): BlindQueryTokens {
  const allOf: BlindToken[] = [];
  const anyOf: BlindToken[][] = [];
  if (query.text !== undefined) {
    if (typeof query.text !== 'string')
      throw new CustosError('INVALID_ARGUMENT', 'query text must be a string');
    const terms = queryTerms(query.text, query.matchDiacritics === true);
    if (terms.length === 0) throw new CustosError('INVALID_ARGUMENT', 'query text has no searchable terms');
    allOf.push(...deriveTokens(indexKey, 'term', terms));
  }
  if (query.participants !== undefined) {
    if (!Array.isArray(query.participants) || query.participants.length > MAX_PARTICIPANTS_PER_RECORD) {
      throw new CustosError(
        'INVALID_ARGUMENT',
        `participants must be an array of at most ${MAX_PARTICIPANTS_PER_RECORD}`,
      );
    }
    const ids = query.participants.map((p) => checkIdentifier(p, 'participant'));
    allOf.push(...deriveTokens(indexKey, 'participant', ids));
  }
  if (query.conversationId !== undefined) {
    allOf.push(
      ...deriveTokens(indexKey, 'conversation', [checkIdentifier(query.conversationId, 'conversation id')]),
    );
  }
  if (query.from !== undefined || query.to !== undefined) {
    if (query.from === undefined || query.to === undefined) {
      throw new CustosError('INVALID_ARGUMENT', 'a date range needs both from and to');
    }
    const { months, days } = coverDateRange(
      timestampMillis(query.from, 'from'),
      timestampMillis(query.to, 'to'),
    );
    anyOf.push(
      sortUniqueTokens([...deriveTokens(indexKey, 'month', months), ...deriveTokens(indexKey, 'day', days)]),
    );
  }
  if (allOf.length === 0 && anyOf.length === 0) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      'empty query: give text, participants, a conversation or a date range',
    );
  }
  return { allOf: sortUniqueTokens(allOf), anyOf };
}

/** Whether a record's header tokens satisfy a query (what the server evaluates; also used in tests). */
export function matchesQuery(recordTokens: readonly BlindToken[], query: BlindQueryTokens): boolean {
  const have = new Set(recordTokens.map(hex));
  return (
    query.allOf.every((t) => have.has(hex(t))) && query.anyOf.every((g) => g.some((t) => have.has(hex(t))))
  );
}

function hex(t: Uint8Array): string {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('hex');
}
