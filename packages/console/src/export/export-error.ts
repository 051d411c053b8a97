/**
 * Failures of exporting and of verifying an export. Each names the check that failed and,
 * where there is one, the file or record concerned, so `custos verify` can say exactly
 * what is wrong. Messages never contain message text or key material.
 */

/** Every export / verification failure code. */
export const EXPORT_ERROR_CODES = [
  'EXPORT_INVALID_INPUT',
  'EXPORT_MALFORMED',
  'FILE_MISSING',
  'FILE_UNLISTED',
  'FILE_HASH_MISMATCH',
  'MANIFEST_HASH_MISMATCH',
  'LOG_KEY_MISMATCH',
  'CHECKPOINT_INVALID',
  'SIGNATURE_INVALID',
  'RECORD_HASH_MISMATCH',
  'RECORD_HEADER_MISMATCH',
  'RECORD_NOT_SIGNED',
  'PROOF_INVALID',
  'CHAIN_BROKEN',
  'RSMF_INVALID',
  'RECORD_KEY_INVALID',
  'TEXT_MISMATCH',
  'ENROLMENT_UNPROVEN',
  'IDENTITY_KEY_MISMATCH',
  'GAP_DECLARATION_INVALID',
  'GAP_DECLARATION_CONFLICT',
] as const;

/** One of {@link EXPORT_ERROR_CODES}. */
export type ExportErrorCode = (typeof EXPORT_ERROR_CODES)[number];

/**
 * What a failure is about: a file of the export and/or a record (by hash, hex); for a text
 * mismatch also the export format and the field that differs.
 */
export interface ExportErrorSubject {
  readonly file?: string;
  readonly record?: string;
  readonly format?: string;
  readonly field?: string;
}

/** An export could not be written, or an export did not verify. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  readonly code: ExportErrorCode;
  readonly subject: ExportErrorSubject;

  constructor(code: ExportErrorCode, message: string, subject: ExportErrorSubject = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.subject = subject;
  }
}

/** True when `e` is an {@link ExportError}, optionally with the given code. */
export function isExportError(e: unknown, code?: ExportErrorCode): e is ExportError {
  return e instanceof ExportError && (code === undefined || e.code === code);
}

/** Parses `bytes` as UTF-8 JSON; EXPORT_MALFORMED naming `file` (as `label`) when it is not JSON. */
export function parseExportJson(bytes: Uint8Array, file: string, label = file): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new ExportError('EXPORT_MALFORMED', `${label} is not JSON`, { file }, e);
  }
}
