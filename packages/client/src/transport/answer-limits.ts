/**
 * The most `custos` accepts in answer to the few requests whose answers may pass the transport's
 * DEFAULT_ANSWER_LIMIT_BYTES (http-fetch.ts), each derived from the server's own limits on what
 * that route answers (docs/api.md), so a hostile server can make a device or console hold no more
 * than the route may legitimately send. Every other request keeps the small default.
 *
 * The server's numbers are restated in SERVER_ANSWER_BOUNDS, not imported: the client depends on
 * core only (architecture.md §2). test/answer-limits.test.ts keeps them equal to the server's.
 * Numbers that live in core are imported.
 */
import {
  MAX_GAP_DECLARATION_BYTES,
  MAX_HOLD_RELEASE_BYTES,
  MAX_LOG_ENTRY_BYTES,
  MAX_PROOF_HASHES,
  MAX_RECORD_BYTES,
  MAX_WRAPPED_SESSION_KEY_BYTES,
  TILE_WIDTH,
} from '@custos/core';
import { DEFAULT_ANSWER_LIMIT_BYTES } from './http-fetch.js';

/** The server's limits the answers below are sized by (names as in packages/server/src). */
export const SERVER_ANSWER_BOUNDS = Object.freeze({
  /** archive/archive-defaults.ts MAX_RECORDS_PER_UPLOAD: record hashes a batch signs. */
  MAX_RECORDS_PER_UPLOAD: 1000,
  /** config/messaging-defaults.ts HTTP_FETCH_PAGE_MAX: envelopes per `GET /v1/messages`. */
  HTTP_FETCH_PAGE_MAX: 100,
  /** config/messaging-defaults.ts RELAY_MAX_ENVELOPE_BYTES: content of one envelope. */
  RELAY_MAX_ENVELOPE_BYTES: 256 * 1024,
  /** config/messaging-defaults.ts BLOB_MAX_BYTES: one blob. */
  BLOB_MAX_BYTES: 25 * 1024 * 1024,
  /** http/routes/key-routes.ts MAX_KEY_BLOB_BYTES: one sealed index key. */
  MAX_KEY_BLOB_BYTES: 4096,
  /** completeness/completeness-defaults.ts MAX_REPORT_DEVICES: devices in a completeness report. */
  MAX_REPORT_DEVICES: 100_000,
  /** completeness/completeness-defaults.ts MAX_REPORT_GAPS: gaps in a report, declarations listed. */
  MAX_REPORT_GAPS: 10_000,
  /** holds/hold-acts.ts MAX_HOLD_BUCKETS: buckets a token hold has tokens for. */
  MAX_HOLD_BUCKETS: 1000,
  /** holds/hold-acts.ts MAX_MATTER_CHARS: a hold's matter. */
  MAX_MATTER_CHARS: 200,
  /** holds/hold-acts.ts MAX_REASON_CHARS: a hold's release reason. */
  MAX_REASON_CHARS: 2000,
  /** review/review-defaults.ts MAX_RULES: active lexicon rules, all listed at once. */
  MAX_RULES: 500,
  /** review/review-defaults.ts MAX_RULE_BUCKETS: buckets a rule has tokens for. */
  MAX_RULE_BUCKETS: 120,
  /** review/review-defaults.ts MAX_RULE_NAME: a rule's name. */
  MAX_RULE_NAME: 64,
});

/**
 * A hold's or rule's criterion sealed to every officer (server hold-routes.ts and
 * review-routes.ts MAX_SEALED_CRITERION_BYTES, private to those files: docs/api.md lists it as
 * the 87,382-character limit of `holds[].sealed` and `rules[].sealed`).
 */
const SEALED_CRITERION_BYTES = 65_536;
/** Longest bucket id (docs/api.md: `^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$`). */
const BUCKET_ID_CHARS = 64;

/** Characters of `bytes` bytes in unpadded base64url, the API's byte encoding. */
const b64 = (bytes: number): number => Math.ceil((bytes * 4) / 3);
/** JSON bytes of a list of `n` base64url strings of `bytes` bytes each (quotes and comma). */
const b64List = (n: number, bytes: number): number => n * (b64(bytes) + 3);
/** JSON bytes of free text of `chars` UTF-16 units at worst: every one escaped as `\u00XX`. */
const text = (chars: number): number => 6 * chars;
/**
 * Room in one row for its ids (22 characters), integers (at most 16 digits), short names, field
 * names and punctuation: a completeness report's device row, the largest of the rows sized by
 * it alone, is about 220 bytes.
 */
const ROW_FIELDS_BYTES = 512;

/**
 * An answer of `rows` rows of at most `rowBytes` each: what sits beside the rows (a checkpoint
 * note of at most 1 MiB, core MAX_NOTE_BYTES; a cursor; a policy) fits in the default limit.
 */
const page = (rows: number, rowBytes: number): number => rows * rowBytes + DEFAULT_ANSWER_LIMIT_BYTES;

/**
 * One sealed record as `GET …/archive/records` and `POST …/archive/search` send it: the record
 * (core MAX_RECORD_BYTES), its wrapped session key, its batch (signature and every record hash
 * the batch signs) and its inclusion proof, in base64url: about 1.54 MB.
 */
export const ARCHIVE_RECORD_ANSWER_BYTES =
  b64(MAX_RECORD_BYTES) +
  b64(MAX_WRAPPED_SESSION_KEY_BYTES) +
  b64(64) + // the batch signature
  b64(33) + // the device's identity key
  b64List(SERVER_ANSWER_BOUNDS.MAX_RECORDS_PER_UPLOAD + MAX_PROOF_HASHES + 1, 32) + // batch, proof, hash
  ROW_FIELDS_BYTES;

/**
 * Limit of a page of up to `records` sealed records (`GET …/archive/records?limit=`, `POST
 * …/archive/search` with `limit`): sized by what the request asks for, so a console that asks for
 * one record accepts about 5.7 MB, and a full page of 500 (server MAX_DEVICE_RECORDS_PAGE) about
 * 772 MB — the largest answer Custos reads.
 */
export function recordsAnswerLimit(records: number): number {
  return page(records, ARCHIVE_RECORD_ANSWER_BYTES);
}

/** `GET /v1/messages`: 100 envelopes of up to 256 KiB of content in base64url, about 39 MB. */
export const MESSAGES_ANSWER_LIMIT_BYTES = page(
  SERVER_ANSWER_BOUNDS.HTTP_FETCH_PAGE_MAX,
  b64(SERVER_ANSWER_BOUNDS.RELAY_MAX_ENVELOPE_BYTES) + ROW_FIELDS_BYTES,
);

/** `GET /v1/blobs/:blobId`: the raw blob, at most the server's blob size limit (25 MiB). */
export const BLOB_ANSWER_LIMIT_BYTES = SERVER_ANSWER_BOUNDS.BLOB_MAX_BYTES;

/**
 * An entry bundle (`…/log/tile/entries/<N>[.p/<W>]`, C2SP tlog-tiles): up to 256 entries, each
 * after a 2-byte big-endian length. C2SP allows entries of up to 65,535 bytes (16 MiB a bundle);
 * a Custos log's entries are at most core MAX_LOG_ENTRY_BYTES, so a bundle is at most 257 KiB.
 */
export const ENTRY_BUNDLE_ANSWER_LIMIT_BYTES = TILE_WIDTH * (2 + MAX_LOG_ENTRY_BYTES);

/**
 * Buckets whose index keys one `GET /v1/index-keys` may list. The server lists them all, one per
 * bucket sealed to the device, with no count limit; three retention classes of monthly buckets
 * are 36 a year, so 4,096 allows a century of them and their key rotations.
 */
export const MAX_INDEX_KEY_BUCKETS = 4096;

/** `GET /v1/index-keys`: MAX_INDEX_KEY_BUCKETS sealed index keys, about 29 MB. */
export const INDEX_KEYS_ANSWER_LIMIT_BYTES = page(
  MAX_INDEX_KEY_BUCKETS,
  b64(SERVER_ANSWER_BOUNDS.MAX_KEY_BLOB_BYTES) + BUCKET_ID_CHARS + ROW_FIELDS_BYTES,
);

/**
 * Held leaf indexes a disposition plan's answer may list (`GET …/dispositions/:planId?held=1`):
 * the server bounds them only by its buckets' records, so this is the console's own bound, ten
 * million records held when the plan was made; a plan that held more is reported unverified.
 */
export const MAX_DISPOSITION_HELD_LEAVES = 10_000_000;

/**
 * `GET …/dispositions/:planId?held=1`: the plan and certificate (at most 256 KiB each, server
 * disposition-routes.ts MAX_PLAN_BYTES, in base64url) and up to MAX_DISPOSITION_HELD_LEAVES leaf
 * indexes of at most 16 digits and a comma; about 174 MB.
 */
export const DISPOSITION_ANSWER_LIMIT_BYTES = page(MAX_DISPOSITION_HELD_LEAVES, 17) + 2 * b64(256 * 1024);

/**
 * `GET …/archive/completeness`: a row per device (up to 100,000), per gap (up to 10,000) and per
 * declaration within the gaps (as many), about 65 MB.
 */
export const COMPLETENESS_ANSWER_LIMIT_BYTES = page(
  SERVER_ANSWER_BOUNDS.MAX_REPORT_DEVICES + 2 * SERVER_ANSWER_BOUNDS.MAX_REPORT_GAPS,
  ROW_FIELDS_BYTES,
);

/** `GET …/archive/gaps`: up to 10,000 signed gap declarations (core MAX_GAP_DECLARATION_BYTES), about 23 MB. */
export const GAP_DECLARATIONS_ANSWER_LIMIT_BYTES = page(
  SERVER_ANSWER_BOUNDS.MAX_REPORT_GAPS,
  b64(MAX_GAP_DECLARATION_BYTES) + ROW_FIELDS_BYTES,
);

/**
 * One hold as `GET …/holds` lists it: its sealed criterion, the buckets it has tokens for, its
 * matter and release reason (free text), the officer's signed release statement and signature,
 * some fifteen fields of ids, times and names (about 450 bytes: twice a row's room) and its
 * placing act's detail (counts, an id or dates, a hex hash: under 200 ASCII bytes, a row's
 * room), about 170 KB.
 */
export const HOLD_ANSWER_BYTES =
  b64(SEALED_CRITERION_BYTES) +
  b64(MAX_HOLD_RELEASE_BYTES) +
  b64(64) +
  SERVER_ANSWER_BOUNDS.MAX_HOLD_BUCKETS * (BUCKET_ID_CHARS + 3) +
  text(SERVER_ANSWER_BOUNDS.MAX_MATTER_CHARS) +
  text(SERVER_ANSWER_BOUNDS.MAX_REASON_CHARS) +
  3 * ROW_FIELDS_BYTES;

/** Limit of `GET …/holds?limit=<holds>`. */
export function holdsAnswerLimit(holds: number): number {
  return page(holds, HOLD_ANSWER_BYTES);
}

/**
 * `GET …/review/rules`: every active rule (up to 500), each with its sealed terms, the buckets it
 * has tokens for and its name, about 52 MB.
 */
export const REVIEW_RULES_ANSWER_LIMIT_BYTES = page(
  SERVER_ANSWER_BOUNDS.MAX_RULES,
  b64(SEALED_CRITERION_BYTES) +
    SERVER_ANSWER_BOUNDS.MAX_RULE_BUCKETS * (BUCKET_ID_CHARS + 3) +
    text(SERVER_ANSWER_BOUNDS.MAX_RULE_NAME) +
    ROW_FIELDS_BYTES,
);

/**
 * An act's document as `GET …/audit` sends it: the server's own deterministic CBOR map (org, kind,
 * actor, subject, time, a one-line detail), under 1 KiB today; 4 KiB leaves room for longer details.
 */
const ACT_DOCUMENT_BYTES = 4096;

/**
 * One act as `GET …/audit` lists it: its log entry (core MAX_LOG_ENTRY_BYTES), its act document
 * and its inclusion proof, about 10 KB.
 */
export const AUDIT_ACT_ANSWER_BYTES =
  b64(MAX_LOG_ENTRY_BYTES) + b64(ACT_DOCUMENT_BYTES) + b64List(MAX_PROOF_HASHES, 32) + ROW_FIELDS_BYTES;

/** Limit of `GET …/audit?limit=<acts>`. */
export function auditAnswerLimit(acts: number): number {
  return page(acts, AUDIT_ACT_ANSWER_BYTES);
}
