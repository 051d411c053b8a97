/**
 * Blind tokens of a captured record, as core's `tokensForRecord` computes them, with the
 * part that repeats from message to message — participants, conversation, UTC day and
 * month — derived once per conversation and day and kept. Only the text's terms are
 * derived per record. The result is the same sorted, de-duplicated set (tested against
 * `tokensForRecord`); all checks on the inputs are still core's.
 */
import {
  deriveTokens,
  recordTerms,
  sortUniqueTokens,
  tokensForRecord,
  type BlindIndexKey,
  type BlindToken,
} from '@custos/core';

const DAY_MS = 86_400_000;
/** Conversation-and-day entries kept per index key (a device talks in few conversations a day). */
export const CONTEXT_TOKEN_CACHE_ENTRIES = 256;

/** What of a record is indexed (core's RecordIndexInput, with a participants list always given). */
export interface CaptureIndexInput {
  readonly text?: string;
  readonly participants: readonly string[];
  readonly conversationId: string;
  readonly timestamp: number;
}

/** Blind tokens for records under one index key. Holds key-derived tokens: MUST NOT be logged. */
export class RecordTokenizer {
  readonly #context = new Map<string, readonly BlindToken[]>();

  constructor(private readonly key: BlindIndexKey) {}

  /** Equal to `tokensForRecord(key, input)`. */
  tokens(input: CaptureIndexInput): BlindToken[] {
    const context = this.#contextTokens(input);
    if (input.text === undefined) return [...context];
    if (typeof input.text !== 'string') return tokensForRecord(this.key, input); // core's error
    return sortUniqueTokens([...deriveTokens(this.key, 'term', recordTerms(input.text)), ...context]);
  }

  #contextTokens(input: CaptureIndexInput): readonly BlindToken[] {
    // Day and month tokens depend on the UTC day only; a non-integer or out-of-range time is
    // not cached, so core checks it on every call.
    const day = Number.isSafeInteger(input.timestamp) ? Math.floor(input.timestamp / DAY_MS) : undefined;
    const cacheKey =
      day === undefined ? undefined : JSON.stringify([day, input.conversationId, input.participants]);
    const hit = cacheKey === undefined ? undefined : this.#context.get(cacheKey);
    if (hit !== undefined) return hit;
    const tokens = tokensForRecord(this.key, {
      participants: input.participants,
      conversationId: input.conversationId,
      timestamp: input.timestamp,
    });
    if (cacheKey !== undefined) {
      if (this.#context.size >= CONTEXT_TOKEN_CACHE_ENTRIES) this.#context.clear();
      this.#context.set(cacheKey, tokens);
    }
    return tokens;
  }
}
