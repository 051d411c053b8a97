/** Defaults of the search indexer and the search routes (docs/search.md), in one place. */

/** How often the indexer looks for newly integrated records: a record is searchable about one interval after its checkpoint. */
export const DEFAULT_INDEX_INTERVAL_MS = 250;
/** Most log entries one indexer pass reads (one transaction; one posting row per token per pass). */
export const MAX_ENTRIES_PER_INDEX_PASS = 20_000;
/** A block smaller than this (in log entries) is extended by the next pass instead of a new one being started. */
export const DEFAULT_TAIL_BLOCK_ENTRIES = 4_096;
/** Pushback: when a pass hit its maximum, the next one starts after this short pause instead of the full interval. */
export const INDEX_CATCH_UP_DELAY_MS = 10;
/** Most query tokens of one bucket (all must match). */
export const MAX_SEARCH_TOKENS = 32;
/** Most tokens in one bucket's date group (any may match): day and month tokens of a range. */
export const MAX_DATE_TOKENS = 256;
/**
 * Most buckets one search request names. Each bucket is one pass over the index (its own
 * tokens), so this bounds a request's work at that many single-bucket searches; a longer
 * archive takes one request per this many buckets.
 */
export const MAX_SEARCH_BUCKETS = 16;
/**
 * Most tokens (query and date tokens of every bucket) in one search request: each is one
 * block-list read. 16 buckets of a 32-term query and a month's range (about 30 date tokens)
 * fit; a console sends more buckets in further requests.
 */
export const MAX_SEARCH_REQUEST_TOKENS = 1_024;
/**
 * Body limit of a search request: the most tokens (24 bytes each in JSON, base64url and
 * quoted with a comma) and the most buckets with the longest ids, with room to spare.
 */
export const SEARCH_BODY_LIMIT_BYTES = 32 * 1024;
/** Largest page of search results. */
export const MAX_SEARCH_PAGE = 100;
/** Default page of search results. */
export const DEFAULT_SEARCH_PAGE = 50;
/** Posting blocks loaded per read while intersecting, newest first. */
export const BLOCKS_PER_READ = 16;
/** Largest page of a device's records (GET …/archive/records). */
export const MAX_DEVICE_RECORDS_PAGE = 500;
/** Searches one officer device may start: a burst, then this many per second. */
export const SEARCH_RATE_BURST = 20;
/** Sustained searches per second per device. */
export const SEARCH_RATE_PER_SECOND = 2;
