/**
 * The error class of the client SDK. Every failure carries a code from a closed union so a
 * UI (the `custos` command) can switch on it. Verification failures of core formats stay
 * `CustosError`s from core; this class covers what only a device can go wrong with: its
 * local store, the server's answers, enrolment and the Signal sessions. Messages MUST NOT
 * contain key material, plaintext, tokens or passphrases.
 */
import type { PendingSendInfo } from './messaging/messenger.js';

/** Every code the client can raise. */
export const CLIENT_ERROR_CODES = [
  // local store
  'STORE_LOCKED',
  'STORE_CORRUPT',
  'STORE_CLOSED',
  'PROFILE_EXISTS',
  'NOT_ENROLLED',
  /**
   * The profile is open in another store: another process (say `custos chat`) or this one
   * holds its lock (LocalStore). One process per profile, since two would fork the Signal
   * sessions; quit the other first. The OS releases the lock when that process ends, even
   * killed, so it never needs clearing by hand.
   */
  'PROFILE_IN_USE',
  // server and network
  'SERVER_REFUSED',
  'SERVER_RESPONSE_INVALID',
  'NETWORK',
  // enrolment and keys
  'ENROLMENT_CODE_MALFORMED',
  'ORG_KEY_MISMATCH',
  'KEY_MANAGER_INVALID',
  'ARCHIVE_POLICY_INVALID',
  'BUCKET_KEY_INVALID',
  'NO_BUCKET_KEY',
  'LOG_KEY_CHANGED',
  // messaging
  'UNKNOWN_SENDER',
  'IDENTITY_CHANGED',
  'ENVELOPE_INVALID',
  'CONTENT_INVALID',
  'ATTACHMENT_DIGEST_MISMATCH',
  'ATTACHMENT_INVALID',
  'DELIVERY_FAILED',
  /**
   * A send whose outcome is unknown (no answer from the server): its envelopes are kept and
   * sent again, unchanged and under the same key, by the next send or sync.
   */
  'SEND_PENDING',
  /**
   * A send refused before it began because an earlier send is still pending: messages leave
   * in order. `custos sync` (CustosClient.sync) finishes the earlier one. The error's
   * `pending` is that send, for a caller to name it in its own words.
   */
  'SEND_BLOCKED',
  /**
   * `discardPendingSend(id)` found that the oldest pending send is no longer the one the
   * caller showed (that one completed or was discarded meanwhile): nothing was discarded.
   */
  'PENDING_CHANGED',
  'GROUP_INVALID',
  'GROUP_UNKNOWN',
  'NOT_A_MEMBER',
  /** An edit or delete of a message another user sent: receivers would ignore it. */
  'NOT_OWN_MESSAGE',
  // archive
  'CAPTURE_REQUIRED',
  'ARCHIVE_UPLOAD_FAILED',
  /**
   * Retiring a device refused while archive records are not uploaded (`stranded` names them):
   * upload them first, or retire with `force` to strand them knowingly.
   */
  'ARCHIVE_NOT_UPLOADED',
  'RECEIPT_INVALID',
] as const;

/** A code from the closed set above. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** What the server said, when a request was refused. */
export interface ServerRefusal {
  readonly status: number;
  /** The server's error code (docs/errors.md). */
  readonly code: string;
  readonly details?: unknown;
}

/** What a {@link ClientError} may carry besides its code and message. */
export interface ClientErrorOptions {
  readonly cause?: unknown;
  readonly server?: ServerRefusal;
  /** SEND_BLOCKED: the pending send that holds the refused one back (the oldest). */
  readonly pending?: PendingSendInfo;
  /** SEND_PENDING: no try of the kept request can have reached the server (nothing was sent). */
  readonly notSent?: boolean;
  /** ARCHIVE_NOT_UPLOADED: the run of records that retiring would strand. */
  readonly stranded?: { readonly count: number; readonly firstSeq: number; readonly lastSeq: number };
}

/** An error from the client SDK, with a stable code, an optional server refusal and a cause. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  readonly server: ServerRefusal | undefined;
  /**
   * SEND_BLOCKED: the pending send that holds the refused one back. The message names it by
   * ids (the SDK knows no contact names); a UI words it with the names it shows.
   */
  readonly pending: PendingSendInfo | undefined;
  /**
   * SEND_PENDING: true when no try of the kept request can have reached the server (each
   * failed before it left this device: a refused connection, an unknown host), so nothing of
   * it was sent yet — the server could not be reached, rather than it did not answer.
   */
  readonly notSent: boolean;
  /** ARCHIVE_NOT_UPLOADED: the run of records that retiring would strand. */
  readonly stranded: ClientErrorOptions['stranded'];

  constructor(code: ClientErrorCode, message: string, options?: ClientErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.server = options?.server;
    this.pending = options?.pending;
    this.notSent = options?.notSent === true;
    this.stranded = options?.stranded;
  }
}

/** True when `e` is a {@link ClientError}, optionally with the given code. */
export function isClientError(e: unknown, code?: ClientErrorCode): e is ClientError {
  return e instanceof ClientError && (code === undefined || e.code === code);
}

/** True when `e` is a server refusal with the given server error code. */
export function isServerRefusal(e: unknown, serverCode: string): e is ClientError {
  return isClientError(e, 'SERVER_REFUSED') && e.server?.code === serverCode;
}
