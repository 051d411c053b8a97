/**
 * The blind tokens a device attaches to an archive record's cleartext header.
 */
import { CustosError } from '../errors.js';
import type { BlindToken } from './blind-token.js';
import { dayValue, monthValue, timestampMillis } from './dates.js';
import { deriveTokens, sortUniqueTokens } from './derive-tokens.js';
import type { BlindIndexKey } from './index-key.js';
import { textTerms } from './normalise.js';

/** Most distinct term strings indexed per record; later terms are not indexed. */
export const MAX_TERMS_PER_RECORD = 512;
/** Most words segmented per text: bounds the work on a huge body before the term cap bites. */
export const MAX_WORDS_SCANNED = 8192;
/** Most participants per record; more is rejected rather than silently under-indexed. */
export const MAX_PARTICIPANTS_PER_RECORD = 1024;
/** Longest participant or conversation identifier, in UTF-16 code units. */
export const MAX_IDENTIFIER_LENGTH = 256;

/** What of a record is indexed. Identifiers are opaque: compared exactly, never case-folded. */
export interface RecordIndexInput {
  /** Message text (may be absent for attachment-only or membership events). */
  readonly text?: string;
  /** Participant identifiers (user ids) of the conversation at the time of the event. */
  readonly participants?: readonly string[];
  /** Stable conversation identifier. */
  readonly conversationId?: string;
  /** Event time, milliseconds since the epoch or a Date; indexed as UTC day and month. */
  readonly timestamp: number | Date;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Checks an opaque identifier (participant or conversation). */
export function checkIdentifier(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_IDENTIFIER_LENGTH) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `${what} must be a string of 1..${MAX_IDENTIFIER_LENGTH} characters`,
    );
  }
  if (LONE_SURROGATE.test(id))
    throw new CustosError('INVALID_ARGUMENT', `${what} is not well-formed Unicode`);
  return id;
}

/** The distinct index terms of a record text: both forms of each word, then CJK n-grams, up to the cap. */
export function recordTerms(text: string): string[] {
  const { words, cjkGrams } = textTerms(text, MAX_WORDS_SCANNED);
  const terms = new Set<string>();
  const add = (t: string): boolean => {
    if (terms.size >= MAX_TERMS_PER_RECORD) return false;
    terms.add(t);
    return true;
  };
  for (const w of words) {
    if (!add(w.folded) || !add(w.base)) break;
  }
  for (const g of cjkGrams) {
    if (!add(g)) break;
  }
  return [...terms];
}

/**
 * Blind tokens for one record: terms, participants, conversation, UTC day and month —
 * deduplicated and sorted by bytes, so the header reveals neither word order nor kinds.
 */
export function tokensForRecord(indexKey: BlindIndexKey, input: RecordIndexInput): BlindToken[] {
  const ms = timestampMillis(input.timestamp, 'timestamp');
  const tokens: BlindToken[] = [];
  if (input.text !== undefined) {
    if (typeof input.text !== 'string') throw new CustosError('INVALID_ARGUMENT', 'text must be a string');
    tokens.push(...deriveTokens(indexKey, 'term', recordTerms(input.text)));
  }
  if (input.participants !== undefined) {
    if (!Array.isArray(input.participants) || input.participants.length > MAX_PARTICIPANTS_PER_RECORD) {
      throw new CustosError(
        'INVALID_ARGUMENT',
        `participants must be an array of at most ${MAX_PARTICIPANTS_PER_RECORD}`,
      );
    }
    const ids = input.participants.map((p) => checkIdentifier(p, 'participant'));
    tokens.push(...deriveTokens(indexKey, 'participant', ids));
  }
  if (input.conversationId !== undefined) {
    tokens.push(
      ...deriveTokens(indexKey, 'conversation', [checkIdentifier(input.conversationId, 'conversation id')]),
    );
  }
  tokens.push(
    ...deriveTokens(indexKey, 'day', [dayValue(ms)]),
    ...deriveTokens(indexKey, 'month', [monthValue(ms)]),
  );
  return sortUniqueTokens(tokens);
}
