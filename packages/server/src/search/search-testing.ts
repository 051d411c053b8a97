/** Bench and test surface of search (exported from the package as `searchTesting`). */
export * from './search-test-support.js';
export { runSearch } from './search-query.js';
export type { SearchPage, SearchQuery } from './search-query.js';
export { SearchIndexer } from './search-indexer.js';
export { silentLogger } from '../log/logger.js';
