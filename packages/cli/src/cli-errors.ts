/**
 * The codes the `custos` command names itself, as `--json` prints them in `error.code`.
 * A closed set, like the SDK's and core's, so a script can switch on them and a mistyped
 * code fails `tsc`. docs/cli-errors.md explains each (exit status, meaning, what to do);
 * cli-errors.test.ts keeps that document and this list equal.
 */

/** Every code the `custos` command itself can fail with. */
export const CLI_ERROR_CODES = [
  // the command runner's, for failures of other classes (command-runner.ts explainFailure)
  /** The command line is wrong (flag, value, positional); exit 2. */
  'USAGE',
  /** The passphrase could not be read (no terminal, empty file). */
  'PASSPHRASE',
  /** An unexpected fault without a code of its own. */
  'INTERNAL',
  // profiles and questions
  'NO_PROFILE',
  'PROFILE_EXISTS',
  'PASSPHRASE_TOO_SHORT',
  'ADMIN_PROFILE_INVALID',
  'CONFIRMATION_NEEDED',
  // addresses, contacts and groups
  'ADDRESS_INVALID',
  'CONTACT_NAME_INVALID',
  'CONTACT_NAME_TAKEN',
  'CONTACT_AMBIGUOUS',
  'CONTACT_UNKNOWN',
  'GROUP_AMBIGUOUS',
  'GROUP_UNKNOWN',
  // messages
  'MESSAGE_ID_INVALID',
  'MESSAGE_ID_AMBIGUOUS',
  'MESSAGE_ID_UNKNOWN',
  'ATTACHMENT_UNREADABLE',
  'NOT_DISCARDED',
  /** A mistyped chat command: shown in the chat, which goes on. */
  'CHAT_USAGE',
  // devices and administration
  'DEVICE_NOT_FOUND',
  'DEVICE_AMBIGUOUS',
  'DEVICE_ALREADY_REVOKED',
  'REVOKE_SELF',
  'USER_NOT_FOUND',
  'WRONG_ORG',
  // records officers
  'SHARE_NOT_FOUND',
  'SHARES_INSUFFICIENT',
  'OUT_EXISTS',
  'NOTHING_TO_EXPORT',
  'NAMES_FILE_INVALID',
  // custos demo
  'DEMO_STEP_FAILED',
] as const;

/** A code from the closed set above. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/**
 * The codes a `CliFailure` carries: all but the runner's own, which name failures of their
 * own classes (UsageError, PassphraseInputError, anything unexpected).
 */
export type CliFailureCode = Exclude<CliErrorCode, 'USAGE' | 'PASSPHRASE' | 'INTERNAL'>;
