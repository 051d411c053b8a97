/**
 * Named defaults of the messaging services (prekeys, relay, blobs), beside defaults.ts and
 * in the same style. Sizes are in bytes, durations in milliseconds unless the name says so.
 */

import { BUCKET_LATE_UPLOAD_GRACE_MS } from '@custos/core';

/** Blob folder name inside the data folder (SQLite layout): `<data>/blobs/`. */
export const BLOB_DIR_NAME = 'blobs';

/** Below this many one-time EC (or Kyber) prekeys a device is told to upload more. */
export const PREKEY_LOW_THRESHOLD = 20;
/** Per requesting device: burst of prekey bundle fetches (each may spend one-time keys of others). */
export const PREKEY_FETCH_BURST = 100;
/** Per requesting device: sustained prekey bundle fetches per second. */
export const PREKEY_FETCH_PER_SECOND = 1;
/** Body limit for a prekey upload (up to 100 one-time and 100 Kyber prekeys, a signed and a last-resort key). */
export const PREKEY_UPLOAD_BODY_LIMIT_BYTES = 512 * 1024;
/** Most one-time prekeys (EC, and separately Kyber) a device may hold; uploads past it are refused. */
export const MAX_STORED_PREKEYS = 1000;

/** Largest envelope content (decoded ciphertext). */
export const RELAY_MAX_ENVELOPE_BYTES = 256 * 1024;
/** Most envelopes (recipient devices) in one message. */
export const RELAY_MAX_ENVELOPES_PER_MESSAGE = 64;
/** Largest total decoded content of one message, over all its envelopes. */
export const RELAY_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Body limit of `PUT /v1/messages`: the message limit in base64url plus JSON framing. */
export const RELAY_MESSAGE_BODY_LIMIT_BYTES = Math.ceil((RELAY_MAX_MESSAGE_BYTES * 4) / 3) + 64 * 1024;
/** Most envelopes one device's queue holds; further messages to it are refused until it drains. */
export const RELAY_MAX_QUEUE_ENVELOPES = 10_000;
/** Most bytes one device's queue holds. */
export const RELAY_MAX_QUEUE_BYTES = 256 * 1024 * 1024;
/** Queued envelopes expire (are deleted undelivered) this long after they were sent: 30 days. */
export const RELAY_QUEUE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A keyed send (`idempotencyKey` on PUT /v1/messages) is remembered at least this long: a
 * device that lost the answer and sends again with the same key within it gets the first
 * answer, and nothing is stored twice. One day covers a client that retries on its next
 * sync after a night offline; the relay sweep forgets older keys.
 */
export const RELAY_SEND_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * Send keys forgotten per statement of the prune (each its own transaction, the event loop
 * free between them): every HTTP send carries a key, so a sweep may find hundreds of
 * thousands of day-old rows, and one SQLite DELETE of them all would stall every request.
 */
export const RELAY_SEND_KEY_PRUNE_CHUNK = 1000;
/**
 * Most entries (a sender device's revocation state, a recipient user's device list) the
 * relay's directory cache holds over all orgs (relay/directory-cache.ts): a few hundred
 * bytes each, so some tens of MB at most, and a batch reads only the devices it misses.
 */
export const RELAY_DIRECTORY_CACHE_MAX_ENTRIES = 100_000;
/** Most orgs the relay's directory cache keeps entries for; the org validated longest ago goes first. */
export const RELAY_DIRECTORY_CACHE_MAX_ORGS = 1000;
/** Interval of the sweep that deletes expired envelopes (and forgets send keys past their retention). */
export const RELAY_EXPIRY_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/** Envelopes pushed to one socket and not yet acknowledged, at most (flow control). */
export const WS_MAX_IN_FLIGHT = 256;
/** A socket must authenticate within this time after opening. */
export const WS_AUTH_TIMEOUT_MS = 10_000;
/** Largest frame a client may send (a `send` frame carries a whole message). */
export const WS_MAX_FRAME_BYTES = RELAY_MESSAGE_BODY_LIMIT_BYTES;
/** Most envelope ids in one `ack` frame or `DELETE`. */
export const WS_MAX_ACK_IDS = 1000;
/** Interval of server pings; a socket that misses one is closed. */
export const WS_PING_INTERVAL_MS = 30_000;
/** Envelopes returned by one `GET /v1/messages`. */
export const HTTP_FETCH_PAGE_MAX = 100;

/** Largest blob (encrypted attachment). */
export const BLOB_MAX_BYTES = 25 * 1024 * 1024;
/** Blob space per organisation unless configured: 10 GiB. */
export const DEFAULT_BLOB_QUOTA_BYTES = 10 * 1024 * 1024 * 1024;
/**
 * How long after its upload the archive has to list a blob before the sweep may take it:
 * the queue expiry (every recipient had that long to receive the message) plus the longest
 * a device may still archive what it sealed — into its month's bucket until that month's end
 * (at most 31 days) plus the late-upload grace (BUCKET_LATE_UPLOAD_GRACE_MS, 7 days) — which
 * is longer than the longest receipt grace an org may set (30 days). 68 days in all: for a
 * message sent when its attachment was uploaded (as the client does), every record of it the
 * server would still accept finds the blob kept (docs/operations.md, "How long a blob lives").
 */
export const BLOB_UNREFERENCED_RETENTION_MS =
  RELAY_QUEUE_TTL_MS + 31 * 24 * 60 * 60 * 1000 + BUCKET_LATE_UPLOAD_GRACE_MS;
/**
 * Clock skew allowed between API nodes when comparing a blob's upload time with the last
 * record that may reference blobs without listing them: one day, far above any sane skew.
 */
export const BLOB_UNLISTED_MARGIN_MS = 24 * 60 * 60 * 1000;
/** Most blobs one sweep looks at (each is deleted in its own transactions). */
export const BLOB_SWEEP_BATCH = 1000;

/** Bytes of envelope content pushed to one socket and not yet acknowledged, at most. */
export const WS_MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
/** A connected socket re-checks that its device is not revoked at least this often. */
export const WS_DEVICE_RECHECK_MS = 5_000;
/** Per socket: burst of `send` frames. */
export const WS_SEND_BURST = 200;
/** Per socket: sustained `send` frames per second. */
export const WS_SEND_PER_SECOND = 50;
