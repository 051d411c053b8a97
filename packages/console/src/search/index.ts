/** Public surface of console/search: officer search over the blind index (docs/search.md). */
export {
  DEFAULT_CONSOLE_SEARCH_PAGE,
  MAX_CONSOLE_SEARCH_PAGE,
  SEARCH_LOG_PIN_FILE,
  officerSearch,
  threadsOf,
} from './officer-search.js';
export type {
  OfficerSearchOptions,
  OfficerSearchQuery,
  OfficerSearchResult,
  SearchReuse,
  SearchThread,
} from './officer-search.js';
export { parseSearchText, textMatches } from './search-text.js';
export type { ParsedSearchText, TextMatchOptions } from './search-text.js';
export { verifyHit } from './verify-hit.js';
export type { ServerHit, VerifiedHit } from './verify-hit.js';
