/**
 * Every default of the server, named, in one place (style.md §9). Durations are in
 * milliseconds unless the name says otherwise.
 */

/** Data folder when neither flag, environment nor config file names one. */
export const DEFAULT_DATA_DIR = './custos-data';
/** Listen address: loopback only, so the default needs no TLS. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';
/** Listen port. */
export const DEFAULT_LISTEN_PORT = 8443;
/** The embedded store. */
export const DEFAULT_STORE = 'sqlite';
/** SQLite file name inside the data folder. */
export const SQLITE_FILE_NAME = 'custos.sqlite';
/** Log-signing key file name inside the data folder. */
export const LOG_SIGNING_KEY_FILE_NAME = 'log-signing.key';
/** Default log level. */
export const DEFAULT_LOG_LEVEL = 'info';

/** Environment variable prefix; `CUSTOS_DATA` overrides `data`, and so on. */
export const ENV_PREFIX = 'CUSTOS_';

/** Bearer tokens live at most this long (threat model F5: ≤ 15 minutes). */
export const MAX_TOKEN_TTL_MS = 15 * 60 * 1000;
/** Auth challenges must be answered within this time. */
export const CHALLENGE_TTL_MS = 2 * 60 * 1000;
/** Enrolment codes expire after this long unless the admin asks for less. */
export const DEFAULT_ENROLMENT_CODE_TTL_MS = 72 * 60 * 60 * 1000;
/** The longest lifetime an admin may give an enrolment code. */
export const MAX_ENROLMENT_CODE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Bootstrap tokens issued by `custos server bootstrap-token` expire after this long. */
export const OPERATOR_BOOTSTRAP_TOKEN_TTL_MS = 72 * 60 * 60 * 1000;
/** Device link codes are short-lived: the user holds both devices while linking. */
export const DEFAULT_LINK_CODE_TTL_MS = 10 * 60 * 1000;
/** The longest lifetime a device may give a link code. */
export const MAX_LINK_CODE_TTL_MS = 60 * 60 * 1000;
/** Link codes one device may issue per LINK_CODE_RATE_WINDOW_MS. */
export const LINK_CODES_PER_WINDOW = 5;
/** The window of the link-code rate limit. */
export const LINK_CODE_RATE_WINDOW_MS = 60 * 60 * 1000;

/** Random bytes in a generated id (OrgId, UserId, DeviceId, ChallengeId). */
export const ID_BYTES = 16;
/** Random bytes in a secret (bootstrap token, enrolment code, bearer token, challenge). */
export const SECRET_BYTES = 32;

/** Per-address token bucket: burst size. */
export const RATE_LIMIT_ADDRESS_BURST = 120;
/** Per-address burst as a multiple of the configured sustained rate. */
export const RATE_LIMIT_ADDRESS_BURST_FACTOR = 6;
/** Per-address token bucket: sustained requests per second. */
export const RATE_LIMIT_ADDRESS_PER_SECOND = 20;
/** Per-device token bucket: burst size. */
export const RATE_LIMIT_DEVICE_BURST = 200;
/** Per-device token bucket: sustained requests per second. */
export const RATE_LIMIT_DEVICE_PER_SECOND = 20;
/** Buckets kept in memory before the oldest are dropped (bounds memory under address spraying). */
export const RATE_LIMIT_MAX_BUCKETS = 100_000;

/** Default body limit for JSON routes; routes that carry keys set their own. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;
/** Body limit for device registration (one signed prekey, up to 100 one-time and 100 Kyber prekeys). */
export const DEVICE_REGISTRATION_BODY_LIMIT_BYTES = 512 * 1024;
/** Body limit for organisation creation (keys, delegation, officers). */
export const ORG_CREATE_BODY_LIMIT_BYTES = 128 * 1024;

/** How long graceful shutdown waits for in-flight requests before closing the store anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** Interval of the sweep that deletes expired challenges and tokens. */
export const EXPIRY_SWEEP_INTERVAL_MS = 60_000;

/** SQLite `synchronous` pragma: FULL, so an acknowledged commit survives power loss (see docs/operations.md). */
export const SQLITE_SYNCHRONOUS = 'FULL';
/** SQLite busy timeout, for a second process (backup) holding the write lock briefly. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/**
 * SQLite page cache (KiB). SQLite's default (2,000 KiB, ~500 pages) is smaller than what one
 * full relay batch dirties; a transaction that outgrows the cache spills pages to the WAL
 * early and may write them twice. 32 MiB per connection keeps a batch in memory.
 */
export const SQLITE_CACHE_KIB = 32_768;
/** PostgreSQL pool size per API node. */
export const PG_POOL_MAX = 10;

/** Rows per list page when the caller gives no `limit`. */
export const LIST_PAGE_DEFAULT = 100;
/** Most rows a list page returns. */
export const LIST_PAGE_MAX = 500;
/** Most one-time (EC or Kyber) prekeys accepted in one upload. */
export const MAX_PREKEYS_PER_UPLOAD = 100;
/**
 * Most officers an organisation registers at its key ceremony (bounds the create body).
 * Later officer lists may reach core's MAX_OFFICERS (100): indexes are never reused.
 */
export const MAX_OFFICERS = 32;
/** Most bucket documents registered together with a new organisation. */
export const MAX_ORG_CREATE_BUCKETS = 64;
/**
 * How long after its revocation a device may still hand in the archive records it sealed
 * before it (auth/archive-hand-in.ts): 14 days, time for a revoked phone that was switched
 * off to come back online once. Operators change it with `archiveHandInDays`.
 */
export const DEFAULT_ARCHIVE_HAND_IN_DAYS = 14;
/** The longest hand-in window an operator may set, in days. */
export const MAX_ARCHIVE_HAND_IN_DAYS = 365;
