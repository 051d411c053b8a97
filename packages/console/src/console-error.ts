/**
 * The error class of the console for failures that are not core's (core raises CustosError):
 * bad options, the server's refusals, files and staging. Messages say what went wrong and
 * what to do, and never contain key material, passphrases, tokens or enrolment codes.
 */

/** Every console error code. */
export const CONSOLE_ERROR_CODES = [
  'INVALID_OPTIONS',
  'OUT_EXISTS',
  'STAGING_MISMATCH',
  'BOOTSTRAP_USED',
  'BOOTSTRAP_INVALID',
  'SERVER_REFUSED',
  'SERVER_UNREACHABLE',
  'FINGERPRINT_MISMATCH',
  'PROFILE_INVALID',
  'LOG_INVALID',
  'LOG_KEY_MISMATCH',
  'LOG_ROLLBACK',
  'LOG_FORK',
  'STATE_INVALID',
  'NOT_ENROLLED',
  'ROLE_MISMATCH',
  'ALREADY_ENROLLED',
  'DELEGATION_TOO_SHORT',
  'BUCKET_INVALID',
  'PLAN_INVALID',
  'COPY_INVALID',
  'FINDING_NOT_FOUND',
  'FINDING_ACKNOWLEDGED',
  'FINDING_NOT_ACKNOWLEDGEABLE',
] as const;

/** A code from the closed set above. */
export type ConsoleErrorCode = (typeof CONSOLE_ERROR_CODES)[number];

/**
 * A console failure with a stable code; `serverCode` is the server's error code when it
 * refused, and `serverDetails` its machine-readable `error.details` (untrusted: check before use).
 */
export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  readonly code: ConsoleErrorCode;
  readonly serverCode: string | undefined;
  readonly serverDetails: unknown;

  constructor(
    code: ConsoleErrorCode,
    message: string,
    options?: { cause?: unknown; serverCode?: string; serverDetails?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.serverCode = options?.serverCode;
    this.serverDetails = options?.serverDetails;
  }
}

/** True when `e` is a {@link ConsoleError}, optionally with the given code. */
export function isConsoleError(e: unknown, code?: ConsoleErrorCode): e is ConsoleError {
  return e instanceof ConsoleError && (code === undefined || e.code === code);
}
