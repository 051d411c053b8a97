/**
 * Finding and opening the device profile a command works on: `--profile DIR`, else the
 * CUSTOS_PROFILE environment variable, else ./custos-profile. A passphrase-protected
 * profile is unlocked with `--passphrase-file` (or CUSTOS_PASSPHRASE_FILE), else by a
 * prompt on the terminal; an unattended (`file`) profile needs neither.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CustosClient,
  isClientError,
  LocalStore,
  STORAGE_KEY_FILE,
  storageKeyKind,
  type MessageEvent,
} from '@custos/client';
import type { FlagSpec, ParsedFlags } from './command-flags.js';
import { optionalString } from './command-flags.js';
import { AddressBook } from './address-book.js';
import { CliFailure, type CommandContext } from './command-runner.js';
import {
  PASSPHRASE_FILE_ENV,
  passphraseFilePath,
  promptHidden,
  readPassphraseFile,
} from './passphrase-input.js';
import { blockedInUserTerms } from './warning-display.js';

/** Profile folder used when neither --profile nor CUSTOS_PROFILE is given. */
export const DEFAULT_PROFILE_DIR = './custos-profile';
/** Environment variable naming the profile folder. */
export const PROFILE_ENV = 'CUSTOS_PROFILE';
/** The database file whose presence marks a profile folder. */
const PROFILE_DB_FILE = 'device.db';

/** Flags every command that opens a profile accepts. */
export const PROFILE_FLAGS = {
  profile: 'string',
  'passphrase-file': 'string',
  json: 'boolean',
  help: 'boolean',
} as const satisfies FlagSpec;

/** Usage lines for {@link PROFILE_FLAGS}. */
export const PROFILE_OPTIONS_HELP = `  --profile DIR           the device profile (default: $${PROFILE_ENV}, else ${DEFAULT_PROFILE_DIR})
  --passphrase-file FILE  unlock a passphrase profile from the file's first line
                          (default: $${PASSPHRASE_FILE_ENV}); otherwise it is typed on the terminal
  --json                  machine-readable output on stdout
  --help                  this text
`;

/** The profile folder the flags, the environment or the default name. */
export function profileDir(flags: ParsedFlags, env: NodeJS.ProcessEnv = process.env): string {
  return optionalString(flags, 'profile') ?? (env[PROFILE_ENV] || DEFAULT_PROFILE_DIR);
}

/** True when `dir` holds a profile (database and storage key). */
export function hasProfile(dir: string): boolean {
  return existsSync(join(dir, PROFILE_DB_FILE)) && existsSync(join(dir, STORAGE_KEY_FILE));
}

/** The passphrase from --passphrase-file or CUSTOS_PASSPHRASE_FILE (first line), if given. */
export function passphraseFromFile(ctx: CommandContext): string | undefined {
  const file = passphraseFilePath(ctx.flags);
  if (file === undefined) return undefined;
  return readPassphraseFile(file, (line) => ctx.note(line))[0];
}

/** Options for {@link openProfile}. */
export interface OpenProfileOptions {
  /** Called for each message event arriving over the socket (`custos chat`). */
  readonly onEvent?: (e: MessageEvent) => void;
  /** Called for each received event that recorded a new archive notice, receipts included (F17). */
  readonly onArchiveNotice?: (e: MessageEvent) => void;
}

/** Opens the command's profile; CliFailure with what to do when there is none. */
export async function openProfile(ctx: CommandContext, o: OpenProfileOptions = {}): Promise<CustosClient> {
  const dir = profileDir(ctx.flags);
  if (!hasProfile(dir))
    throw new CliFailure(
      'NO_PROFILE',
      `no profile in ${dir}: enrol one with 'custos enroll CODE --server URL --profile ${dir}', or point --profile (or $${PROFILE_ENV}) at an enrolled profile`,
    );
  let passphrase: string | undefined;
  if (storageKeyKind(join(dir, STORAGE_KEY_FILE)) === 'passphrase') {
    // Not worth a passphrase when another process (a chat) holds the profile: say so first.
    LocalStore.checkNotInUse(dir);
    passphrase = passphraseFromFile(ctx) ?? (await promptHidden(`Passphrase for ${dir}: `, ctx.io.stderr));
  }
  return CustosClient.open(dir, {
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
    ...(o.onArchiveNotice === undefined ? {} : { onArchiveNotice: o.onArchiveNotice }),
  });
}

/**
 * Opens the profile, runs `fn`, and always closes the profile. A send refused because an
 * earlier one is pending (SEND_BLOCKED) is worded with the profile's names before it closes.
 */
export async function withProfile<T>(
  ctx: CommandContext,
  fn: (c: CustosClient) => Promise<T>,
  o: OpenProfileOptions = {},
): Promise<T> {
  const client = await openProfile(ctx, o);
  try {
    return await fn(client);
  } catch (e) {
    if (!isClientError(e, 'SEND_BLOCKED')) throw e;
    throw blockedInUserTerms(e, new AddressBook(client.settings), (id) => client.group(id)?.name);
  } finally {
    await client.close();
  }
}
