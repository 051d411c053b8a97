/**
 * The server's errors: a closed union of codes, each with one HTTP status and a documented
 * meaning (docs/errors.md, kept equal by a test). The message of an instance says what was
 * wrong in this request; it MUST NOT contain a token, key material or a request body.
 */

/** Every error code the HTTP API can answer with, its status and what it means. */
export const SERVER_ERRORS = {
  MALFORMED_JSON: { status: 400, doc: 'The body is not valid JSON (or is empty where JSON is required).' },
  INVALID_REQUEST: {
    status: 400,
    doc: 'The body, path or query does not match the route schema; the message names the field.',
  },
  INVALID_KEY: {
    status: 400,
    doc: 'A key or signature in the body cannot be parsed or does not verify; the message names it.',
  },
  BLOB_HASH_MISMATCH: {
    status: 400,
    doc: 'The uploaded bytes do not hash (SHA-256) to the blob id in the path.',
  },
  AUTH_REQUIRED: {
    status: 401,
    doc: 'No bearer token, or no `Custos-Device` header, on a route that needs both.',
  },
  TOKEN_INVALID: { status: 401, doc: 'The bearer token is malformed or unknown.' },
  TOKEN_EXPIRED: { status: 401, doc: 'The bearer token has expired; get a new one with a fresh challenge.' },
  TOKEN_DEVICE_MISMATCH: {
    status: 401,
    doc: 'The bearer token belongs to a different device than the one named in `Custos-Device`.',
  },
  DEVICE_REVOKED: {
    status: 401,
    doc:
      'The device has been revoked (by an admin, another device of its user, or itself). During its archive hand-in window ' +
      'it may still log in and use the archive upload routes; `details` give `revokedAt` (ms) and `handInUntil` (ms, or null when it was granted no hand-in window).',
  },
  CHALLENGE_INVALID: { status: 401, doc: 'The challenge is unknown, already used, or expired.' },
  SIGNATURE_INVALID: { status: 401, doc: 'The identity-key signature over the challenge does not verify.' },
  BOOTSTRAP_INVALID: { status: 401, doc: 'The bootstrap token is wrong.' },
  BOOTSTRAP_EXPIRED: {
    status: 401,
    doc: 'The bootstrap token has expired unused; the operator issues a new one with `custos server bootstrap-token`.',
  },
  ENROLMENT_CODE_INVALID: {
    status: 401,
    doc: 'The enrolment code is malformed, unknown, or for another organisation.',
  },
  ENROLMENT_CODE_EXPIRED: { status: 401, doc: 'The enrolment code has expired; ask an admin for a new one.' },
  ENROLMENT_CODE_USED: { status: 401, doc: 'The enrolment code has already been used.' },
  BATCH_SIGNATURE_INVALID: {
    status: 400,
    doc: "The archive batch signature does not verify with the calling device's identity key.",
  },
  ARCHIVE_GAP_INVALID: {
    status: 400,
    doc: "A gap declaration is malformed, names another org or device than the caller, or its signature does not verify with the calling device's identity key; the message says which. Nothing was stored.",
  },
  ARCHIVE_RECORD_INVALID: {
    status: 400,
    doc: 'An archive record is malformed, names another org or device, or references an unknown session key; the message names the record.',
  },
  ARCHIVE_POLICY_INVALID: {
    status: 400,
    doc: "The archive policy statement does not verify with the new organisation's signing key, or names another organisation or name, or is malformed; the message says which.",
  },
  ORG_DOES_NOT_ARCHIVE: {
    status: 403,
    doc: "The caller's organisation has archive policy `none`: it keeps no archive and takes no archive records. Nothing was stored.",
  },
  ROLE_FORBIDDEN: {
    status: 403,
    doc: "The caller's role does not allow this action (admin and officer are separate duties).",
  },
  OFFICER_NOT_BOUND: {
    status: 403,
    doc: "The device's user has the role officer, but the device is not bound to an officer key in the organisation's current officer list (never bound, or its officer was removed): an officer's console binds its device with the officer's signing key at its first officer command after `custos console enroll` (docs/officers.md §2).",
  },
  OFFICER_NOT_SIGNER: {
    status: 403,
    doc: "The approval or acknowledgement is signed as another officer than the one the calling device is bound to: an officer's device submits only its own officer's signatures, so the audit act that names the device names the officer who decided (docs/officers.md §2).",
  },
  WRONG_ORG: { status: 403, doc: "The path names an organisation other than the caller's." },
  NOT_FOUND: { status: 404, doc: 'No such route.' },
  ORG_NOT_FOUND: { status: 404, doc: 'No such organisation.' },
  USER_NOT_FOUND: { status: 404, doc: "No such user in the caller's organisation." },
  DEVICE_NOT_FOUND: { status: 404, doc: "No such device in the caller's (or the named) organisation." },
  BUCKET_NOT_FOUND: { status: 404, doc: "No such bucket in the caller's organisation." },
  LOG_NOT_FOUND: {
    status: 404,
    doc: 'No such log, entry, tile or checkpoint yet (an entry is served once a checkpoint covers it).',
  },
  ENVELOPE_NOT_FOUND: { status: 404, doc: "No such envelope in the calling device's queue." },
  BLOB_NOT_FOUND: { status: 404, doc: 'No blob with this id has been uploaded.' },
  HOLD_NOT_FOUND: { status: 404, doc: "No such legal hold in the caller's organisation." },
  HOLD_RELEASED: { status: 409, doc: 'The legal hold was already released; a hold is released once.' },
  REVIEW_ITEM_NOT_FOUND: { status: 404, doc: "No such review item in the caller's organisation." },
  RULE_NOT_FOUND: { status: 404, doc: "No such active lexicon rule in the caller's organisation." },
  REVIEW_ALREADY_DECIDED: {
    status: 409,
    doc: 'The review item already has a decision; decisions are final.',
  },
  FINDING_ACKNOWLEDGED: {
    status: 409,
    doc: 'The completeness finding already has an acknowledgement accepting the same state (most findings have none: a finding is acknowledged once). Nothing was stored.',
  },
  BOOTSTRAP_USED: {
    status: 409,
    doc: 'The bootstrap token has already created an organisation; it works once (an identical retry is answered as the first time while the first admin has not enrolled).',
  },
  ORG_EXISTS: {
    status: 409,
    doc: 'An organisation with the requested id already exists. Nothing was registered.',
  },
  DEVICE_ALREADY_REVOKED: { status: 409, doc: 'The device is already revoked.' },
  USER_HAS_DEVICE: {
    status: 409,
    doc: "The user has an active device, so an admin's enrolment code cannot add one: the user links another device from an existing one with `custos devices link` (POST /v1/devices/link-codes), or an admin first revokes the lost device. Nothing was stored.",
  },
  ENROLMENT_CONFLICT: {
    status: 409,
    doc: 'Another device of the same user was enrolled at the same moment. Nothing was stored and the code is still unused; retry (it is checked again).',
  },
  MISMATCHED_DEVICES: {
    status: 409,
    doc: "The message does not address exactly the recipient's current devices; `details.missing` and `details.stale` list the device ids. Nothing was stored.",
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    doc: "The send's `idempotencyKey` was already used by this device, within the retention window, for another recipient or other envelopes. A key names one send: a repeat must carry exactly the envelopes of the first try. Nothing was stored.",
  },
  ARCHIVE_SEQUENCE_GAP: {
    status: 409,
    doc: "A record's sequence number is beyond the device's next one; the message states the expected sequence number.",
  },
  ARCHIVE_FORK: {
    status: 409,
    doc: 'A record does not link to the stored chain (another record holds its place or its previous hash differs); the message states the expected sequence number.',
  },
  ARCHIVE_GAP_MISMATCH: {
    status: 409,
    doc: "A gap declaration does not cover exactly what the server is missing of the device's chain (it starts before or after the device's next sequence number, or does not link to its last stored record), or another declaration already covers its start, or it gives the reason `bucket-disposed` in an organisation that has disposed of no bucket; the message says which (with the expected sequence number). Nothing was stored.",
  },
  BUCKET_NOT_VALID: {
    status: 409,
    doc:
      'The bucket exists but the time is outside its validity window (with the late-upload grace for records), or a ' +
      'revoked device hands in a record sealed to a bucket whose window began, or whose key was registered, after its revocation.',
  },
  BUCKET_DISPOSED: {
    status: 409,
    doc: "A record is sealed to a bucket that was disposed of: an approved disposition plan destroyed its keys, so no record sealed to it could ever be opened. Refused whatever the server's clock says; the message and `details` name the bucket (`bucketId`), the plan (`planId`) and when (`disposedAt`, ms). Nothing was stored: the device must seal its records to a current bucket.",
  },
  DISPOSITION_NOT_FOUND: { status: 404, doc: "No such disposition plan in the caller's organisation." },
  QUORUM_NOT_MET: {
    status: 409,
    doc: "The disposition plan has fewer approvals by officers of the current officer list than the organisation's current quorum: checked when execution starts, on every resumed execute call and when the certificate is written, so an approver removed while execution was paused stops it. Nothing more is destroyed; officers of the current list approve the plan (an executing plan takes approvals) and execute it again.",
  },
  NOTHING_TO_DISPOSE: {
    status: 409,
    doc: 'No bucket has expired by the date asked for that is not yet disposed: no disposition plan is made.',
  },
  BUCKET_STILL_ACCEPTING: {
    status: 409,
    doc: "A bucket to dispose of can still take records: at the server's time its window has not ended plus the 7-day late-upload grace, and destroying its keys would leave records sealed to it later unreadable. The message and `details.buckets` name each bucket with `recordsAcceptedUntil` and `disposableFrom` (ms). Nothing was changed.",
  },
  DISPOSITION_NOT_DUE: {
    status: 409,
    doc: "A bucket of the plan has not reached the end of its retention at the server's time (the plan was made for a later as-of date), its class is kept permanently, or it is not one of the organisation's buckets: no plan is approved or executed before its retention runs out, whatever date it names. The message and `details.buckets` name each bucket with `expiresAt` (ms; null when kept permanently). Nothing was changed.",
  },
  DISPOSITION_CLOSED: {
    status: 409,
    doc: 'The disposition plan is already executed: it takes no more approvals.',
  },
  BUCKET_CONFLICT: { status: 409, doc: 'A different bucket key is already registered under this bucket id.' },
  KEY_MANAGER_INVALID: {
    status: 409,
    doc: "The organisation's key-manager delegation does not verify against its signing key, or is outside its window; or a re-issued or rotated delegation breaks the rules of docs/keys.md §3 and §5.",
  },
  OFFICER_BINDING_INVALID: {
    status: 400,
    doc: "The officer-device binding is malformed, names another organisation, device or identity key than the caller's, was not issued about now, or does not verify with the signing key of a listed officer; or the device is already bound to another officer. Nothing was stored.",
  },
  OFFICER_LIST_INVALID: {
    status: 409,
    doc: "The officer list does not verify with the organisation's signing key, names another organisation, is not newer than the current one, or is malformed.",
  },
  ROOT_KEY_INVALID: {
    status: 409,
    doc: "A root-archive-key statement does not verify with the organisation's signing key, names another organisation, does not replace the current root key, reuses an earlier key, or is not newer than the last rotation (docs/keys.md §6).",
  },
  BODY_TOO_LARGE: { status: 413, doc: "The body is larger than the route's limit." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, doc: 'The body is not `application/json`.' },
  RATE_LIMITED: {
    status: 429,
    doc: 'Too many requests from this address or device; retry after the `Retry-After` seconds.',
  },
  INTERNAL: {
    status: 500,
    doc: 'An unexpected server fault; nothing about it is returned, the log has the code.',
  },
  UNAVAILABLE: { status: 503, doc: 'The server is shutting down or its store is unreachable; retry.' },
  LOG_PUSHBACK: {
    status: 503,
    doc: "The organisation's log has too many entries waiting for integration; retry after `Retry-After` seconds.",
  },
  QUEUE_FULL: {
    status: 507,
    doc: "A recipient device's queue is full (envelopes or bytes); `details.deviceId` names it. Nothing was stored.",
  },
  BLOB_QUOTA_EXCEEDED: {
    status: 507,
    doc: "The organisation's blob quota would be exceeded. Nothing was stored.",
  },
} as const satisfies Record<string, { status: number; doc: string }>;

/** A server error code. */
export type ServerErrorCode = keyof typeof SERVER_ERRORS;

/** Every code, in documentation order. */
export const SERVER_ERROR_CODES = Object.keys(SERVER_ERRORS) as ServerErrorCode[];

/** An error the API reports to the caller as `{ error: { code, message } }` with the code's status. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly code: ServerErrorCode;
  /** HTTP status; fastify honours `statusCode` on thrown errors. */
  readonly statusCode: number;
  /** Machine-readable specifics answered as `error.details` (ids, counts); never a secret. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ServerErrorCode,
    message?: string,
    options?: { cause?: unknown; details?: Readonly<Record<string, unknown>> },
  ) {
    super(message ?? SERVER_ERRORS[code].doc, options);
    this.code = code;
    this.statusCode = SERVER_ERRORS[code].status;
    this.details = options?.details;
  }
}

/** True when `e` is a ServerError, optionally with the given code. */
export function isServerError(e: unknown, code?: ServerErrorCode): e is ServerError {
  return e instanceof ServerError && (code === undefined || e.code === code);
}
