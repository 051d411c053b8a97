/** Public surface of console/review: lexicon rules and the review queue (docs/officers.md "Daily review"). */
export {
  addLexiconRule,
  defaultRuleName,
  listLexiconRules,
  removeLexiconRule,
  MAX_LEXICON_TERMS,
  MAX_TERM_WORDS,
} from './lexicon.js';
export type { AddedRule, LexiconRule } from './lexicon.js';
export {
  decideReviewItem,
  nextReviewItem,
  openReviewNote,
  DEFAULT_CONTEXT_RECORDS,
  MAX_NOTE_BYTES,
  REVIEW_DECISIONS,
  REVIEW_NOTE_INFO,
} from './review-queue.js';
export type { OpenedReviewItem, RecordedDecision, ReviewDecision, ReviewItemInfo } from './review-queue.js';
export { getSampleRate, setSampleRate } from './review-settings.js';
export type { SampleRate } from './review-settings.js';
