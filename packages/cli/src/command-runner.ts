/**
 * What every `custos` device command shares: `--help`, flag parsing, `--json` output, and
 * turning any failure into one line on stderr that says what went wrong and what to do,
 * with a non-zero exit (2 for a command-line mistake, 1 for anything else). With `--json`
 * a failure is also printed on stdout as `{"error": {"code", "message"}}`. Every code, its
 * exit status and what to do: docs/cli-errors.md (cli-errors.test.ts keeps it true).
 *
 * Messages never include passphrases, enrolment codes, tokens or message text.
 */
import type { ClientError } from '@custos/client';
import { isCustosError } from '@custos/core';
import type { CliIo } from './cli.js';
import type { CliErrorCode, CliFailureCode } from './cli-errors.js';
import { parseCommandLine, UsageError, type CommandLine, type FlagSpec } from './command-flags.js';
import { fetchFailure, UNTRUSTED_CERTIFICATE_FIX } from './fetch-failure.js';
import { PassphraseInputError } from './passphrase-input.js';
import { terminalSafe } from './terminal-text.js';

/** Exit code of a command-line mistake. */
export const EXIT_USAGE = 2;
/** Exit code of any other failure. */
export const EXIT_FAILURE = 1;

/**
 * A failure the command itself detects; `code` is a stable name for `--json` consumers, from
 * the closed set in cli-errors.ts (docs/cli-errors.md).
 */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    readonly code: CliFailureCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a command body gets. */
export interface CommandContext extends CommandLine {
  readonly io: CliIo;
  readonly json: boolean;
  /** Progress or notes for a person, on stderr (never parsed). */
  note(line: string): void;
  /** Prints the result: `human` lines normally, `data` as JSON with --json. */
  result(human: string | readonly string[], data: unknown): void;
}

/** How a command is declared. */
export interface CommandSpec {
  /** e.g. 'send' or 'admin invite' (used in messages). */
  readonly name: string;
  readonly usage: string;
  readonly flags: FlagSpec;
  readonly maxPositionals: number;
}

/** What a @custos/console ConsoleError carries. */
interface ConsoleFailure extends Error {
  readonly code: string;
  readonly serverCode: string | undefined;
}

/**
 * True when `e` is an error of the sibling package whose class sets `name` to `className`
 * (ClientError, ConsoleError, ExportError), recognised by that name and its string code rather than by
 * `instanceof`: importing @custos/client and @custos/console here would load both into
 * every command, `custos verify log` and `custos org create` included.
 */
function isNamedError<T extends Error & { readonly code: string }>(e: unknown, className: string): e is T {
  return e instanceof Error && e.name === className && typeof (e as { code?: unknown }).code === 'string';
}

const isClientError = (e: unknown): e is ClientError => isNamedError<ClientError>(e, 'ClientError');
const isConsoleFailure = (e: unknown): e is ConsoleFailure => isNamedError<ConsoleFailure>(e, 'ConsoleError');
/** A @custos/console ExportError: an export that could not be written or did not verify. */
const isExportFailure = (e: unknown): e is Error & { readonly code: string } =>
  isNamedError(e, 'ExportError');

/** The one-line explanation and stable code of a failure. */
export function explainFailure(e: unknown, command: string): { code: string; message: string; exit: number } {
  const help = `Run 'custos ${command} --help'.`;
  if (e instanceof UsageError || (isConsoleFailure(e) && e.code === 'INVALID_OPTIONS'))
    return { code: 'USAGE' satisfies CliErrorCode, message: `${e.message}. ${help}`, exit: EXIT_USAGE };
  if (e instanceof CliFailure) return { code: e.code, message: e.message, exit: EXIT_FAILURE };
  if (e instanceof PassphraseInputError)
    return { code: 'PASSPHRASE' satisfies CliErrorCode, message: e.message, exit: EXIT_FAILURE };
  if (isClientError(e))
    return { code: e.server?.code ?? e.code, message: clientMessage(e, command), exit: EXIT_FAILURE };
  if (isConsoleFailure(e) && e.code === 'SERVER_UNREACHABLE')
    return { code: e.code, message: `${e.code}: ${e.message}: ${unreachableAdvice(e)}`, exit: EXIT_FAILURE };
  if (isConsoleFailure(e))
    return { code: e.serverCode ?? e.code, message: `${e.code}: ${e.message}`, exit: EXIT_FAILURE };
  if (isExportFailure(e)) return { code: e.code, message: e.message, exit: EXIT_FAILURE };
  if (isCustosError(e)) return { code: e.code, message: e.message, exit: EXIT_FAILURE };
  // Unexpected faults (disk full, permissions): the code and message, never the object.
  const code = (e as { code?: unknown } | null)?.code;
  return {
    code: typeof code === 'string' ? code : ('INTERNAL' satisfies CliErrorCode),
    message: `failed: ${typeof code === 'string' ? `${code}: ` : ''}${e instanceof Error ? e.message : 'unknown error'}`,
    exit: EXIT_FAILURE,
  };
}

/**
 * Why a request got no answer, and what to do: node's reason, or for a certificate this
 * machine does not trust, that (the server runs, so "check that it is running" would mislead).
 */
function unreachableAdvice(e: Error): string {
  const why = fetchFailure(e);
  return why.untrustedCertificate
    ? `its TLS certificate is not trusted here (${why.reason}): ${UNTRUSTED_CERTIFICATE_FIX}`
    : `${why.reason === undefined ? '' : `${why.reason}: `}check that it is running and that the address is right`;
}

/** A client error in words a user can act on, for `custos <command>`. */
function clientMessage(e: ClientError, command: string): string {
  switch (e.code) {
    case 'STORE_LOCKED':
      return 'wrong passphrase: this profile does not open with it. Try again, or check the --passphrase-file';
    case 'NOT_ENROLLED':
      return "no enrolled profile here: enrol with 'custos enroll CODE --server URL', or pick a profile with --profile DIR or CUSTOS_PROFILE";
    case 'PROFILE_IN_USE':
      // One process per profile, enforced by the store's lock (the OS drops it with the process).
      return "this profile is in use: another custos process has it open (a 'custos chat' in another terminal, say). Quit it (/quit in chat) or let it finish, then run this command again";
    case 'PROFILE_EXISTS':
      return 'that folder already holds a profile: choose another --profile DIR (or remove the old one)';
    case 'NETWORK':
      return `cannot reach the server (${e.message}): ${unreachableAdvice(e)}`;
    case 'SEND_PENDING':
      // Kept in the profile with its idempotency key: sending it again cannot duplicate it.
      return e.notSent
        ? `not sent yet: ${e.message}. Once the server is back, run 'custos sync' to send it (do not send the text again: that would be a second message); 'custos pending' shows it`
        : `not confirmed yet: ${e.message}. Run 'custos sync' to finish it (do not send the text again: that would be a second message); the recipient gets it once`;
    case 'SEND_BLOCKED':
      // Messages leave in order: the earlier one is kept with its key until it is confirmed.
      // One process per profile (PROFILE_IN_USE): in chat, the other commands run only once it has quit.
      return `${e.message}. ${command === 'chat' ? 'Quit this chat (/quit), then run' : 'Run'} 'custos sync' to finish the earlier send first, then send this one again. If the server keeps failing it, 'custos pending' shows it and 'custos pending --discard' gives up on it (recorded as possibly delivered if a try may have reached the server, else dropped)`;
    case 'PENDING_CHANGED':
      return `${e.message}. Run 'custos pending' again to see what is pending now`;
    case 'ORG_KEY_MISMATCH':
      return `${e.message}. The server presents another organisation key than the code pins: do not use it, and tell your administrator`;
    case 'IDENTITY_CHANGED':
      return `${e.message}. See 'custos safety-number USER'`;
    case 'ENROLMENT_CODE_MALFORMED':
      return `${e.message}: copy the whole code (ce1.…) the administrator gave you`;
    case 'ARCHIVE_NOT_UPLOADED':
      return `${e.message}. Run 'custos sync' (once the server can be reached) and retire again, or retire anyway with --force: the records stay on this device (a retired device hands in nothing later), and your records officer sees them as lost to the retirement`;
    case 'SERVER_REFUSED':
      return serverMessage(e);
    default:
      return `${e.message} (${e.code})`;
  }
}

function serverMessage(e: ClientError): string {
  switch (e.server?.code) {
    case 'DEVICE_REVOKED':
      return "this device has been revoked: 'custos sync' uploads what its archive queue still holds while the server takes it (and says what it could not); ask an administrator for a new enrolment code ('custos admin code USER') and enrol a new profile";
    case 'ROLE_FORBIDDEN':
      return 'the server refused: your role does not allow this (administration needs the admin role)';
    case 'ENROLMENT_CODE_INVALID':
    case 'ENROLMENT_CODE_EXPIRED':
    case 'ENROLMENT_CODE_USED':
      return `the enrolment code is not valid (${e.server.code}): ask an administrator for a new one ('custos admin code USER')`;
    case 'USER_NOT_FOUND':
      return 'the server knows no such user: check the address (USERID@ORGID)';
    case 'DEVICE_NOT_FOUND':
      return "the server knows no such device: list them with 'custos admin devices'";
    case 'RATE_LIMITED':
      return 'the server is rate-limiting this device: wait a moment and try again';
    default:
      return `the server refused (${e.server?.code ?? 'unknown'}): ${e.message}`;
  }
}

/** Parses, handles --help, runs `body` and maps failures; resolves to the exit code. */
export async function runCommand(
  spec: CommandSpec,
  args: readonly string[],
  io: CliIo,
  body: (ctx: CommandContext) => Promise<number | void>,
): Promise<number> {
  const json = args.includes('--json');
  try {
    const line = parseCommandLine(args, spec.flags, spec.maxPositionals);
    if (line.flags.has('help')) {
      io.stdout.write(spec.usage);
      return 0;
    }
    if (io.checkOnly === true) return 0;
    const ctx: CommandContext = {
      ...line,
      io,
      json,
      // Human output may carry peer and server text: never a control sequence (terminal-text.ts).
      note: (l) => void io.stderr.write(`${terminalSafe(l)}\n`),
      result: (human, data) => {
        if (json) io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
        else {
          const lines = typeof human === 'string' ? [human] : human;
          if (lines.length > 0) io.stdout.write(`${terminalSafe(lines.join('\n'))}\n`);
        }
      },
    };
    return (await body(ctx)) ?? 0;
  } catch (e) {
    return reportFailure(e, spec.name, io, json);
  }
}

/** One subcommand of a command group: its most positionals and its body. */
export interface Subcommand {
  readonly max: number;
  readonly run: (ctx: CommandContext) => Promise<number | void>;
}

/**
 * Runs `custos <group> SUB …`: the group's usage for `--help`/`help` or no subcommand,
 * a usage error naming the subcommands for an unknown one, else SUB with the group's flags.
 */
export function runSubcommands(
  group: { readonly name: string; readonly usage: string; readonly flags: FlagSpec },
  subcommands: Readonly<Record<string, Subcommand>>,
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  const [sub, ...rest] = args;
  const entry = sub === undefined || !Object.hasOwn(subcommands, sub) ? undefined : subcommands[sub];
  if (entry === undefined) {
    const names = Object.keys(subcommands).join(', ');
    if (sub === '--help' || sub === 'help') {
      io.stdout.write(group.usage);
      return Promise.resolve(0);
    }
    const problem =
      sub === undefined
        ? `a subcommand is needed: ${names}`
        : `unknown subcommand '${sub}'; available: ${names}`;
    return Promise.resolve(reportFailure(new UsageError(problem), group.name, io, false));
  }
  return runCommand(
    { ...group, name: `${group.name} ${sub}`, maxPositionals: entry.max },
    rest,
    io,
    entry.run,
  );
}

/**
 * Reports a failure of `custos <command>`: one line on stderr and, with `json`, the
 * `{"error": {"code", "message"}}` object on stdout; returns the exit code.
 */
export function reportFailure(e: unknown, command: string, io: CliIo, json: boolean): number {
  const f = explainFailure(e, command);
  io.stderr.write(`custos ${command}: ${terminalSafe(f.message)}\n`);
  if (json) io.stdout.write(`${JSON.stringify({ error: { code: f.code, message: f.message } })}\n`);
  return f.exit;
}
