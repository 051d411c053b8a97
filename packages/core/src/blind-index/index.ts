/** Public surface of core/blind-index: keys, record tokens, query tokens (docs/blind-index.md). */
export { BLIND_TOKEN_LENGTH, isBlindTokenBytes } from './blind-token.js';
export type { BlindToken } from './blind-token.js';
export {
  BLIND_INDEX_KEY_LENGTH,
  BLIND_TOKEN_KINDS,
  BlindIndexKey,
  deriveBucketIndexKey,
  deriveBucketIndexKeyBytes,
  generateIndexSecret,
} from './index-key.js';
export type { BlindTokenKind } from './index-key.js';
export {
  compareBlindTokens,
  deriveToken,
  deriveTokens,
  deriveTokensInto,
  sortUniqueTokens,
} from './derive-tokens.js';
export { MAX_TERM_CODE_POINTS } from './normalise.js';
export {
  MAX_IDENTIFIER_LENGTH,
  MAX_PARTICIPANTS_PER_RECORD,
  MAX_TERMS_PER_RECORD,
  recordTerms,
  tokensForRecord,
} from './record-tokens.js';
export type { RecordIndexInput } from './record-tokens.js';
export { MAX_QUERY_RANGE_DAYS } from './dates.js';
export { MAX_QUERY_TERMS, matchesQuery, queryTerms, tokensForQuery } from './query-tokens.js';
export type { BlindQuery, BlindQueryTokens } from './query-tokens.js';
