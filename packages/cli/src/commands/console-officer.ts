/**
 * What the officer commands share (`custos console …`, `custos org unlock|buckets`): the
 * officer profile flag, the officer's passphrase (prompted, or the first line of
 * --passphrase-file or $CUSTOS_PASSPHRASE_FILE), quorum share input (--shares FILE|DIR,… with a passphrase per entry,
 * prompted or one line each in --share-passphrase-file), and console failures turned into
 * one line and a non-zero exit. Opened keys stay in this process and the session is closed
 * in a `finally`; passphrases are never printed. Console failures reach the command runner
 * as they are: it prints their code (the server's, when it refused) and message, and bad
 * options as a usage error (command-runner.ts explainFailure).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ShareSecretKind } from '@custos/core';
import {
  lostLogStateWarning,
  openOfficerSession,
  unlockRoot,
  type OfficerSession,
  type RootKeys,
} from '@custos/console';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { CliFailure, type CommandContext } from '../command-runner.js';
import {
  PASSPHRASE_FILE_ENV,
  PassphraseInputError,
  passphraseFilePath,
  promptHidden,
  readPassphraseFile,
} from '../passphrase-input.js';

/** Flags every officer command takes. */
export const OFFICER_FLAGS = {
  profile: 'string',
  'passphrase-file': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

/** Flags of commands that unlock the root with shares. */
export const SHARE_FLAGS = { shares: 'string', 'share-passphrase-file': 'string' } as const;

/** Help lines for {@link OFFICER_FLAGS}. */
export const OFFICER_OPTIONS_HELP = `  --profile DIR           your officer profile folder (officers/officer-k from 'custos org create')
  --passphrase-file FILE  your officer passphrase, from the file's first line
                          (default: $${PASSPHRASE_FILE_ENV}); otherwise it is typed on the terminal
  --json                  print the result as JSON on stdout (progress stays on stderr)
`;

/** Help lines for {@link SHARE_FLAGS}. */
export const SHARE_OPTIONS_HELP = `  --shares LIST           comma-separated share files or share folders (shares/officer-k), one
                          per officer present; at least the quorum (m) of them
  --share-passphrase-file FILE
                          one passphrase per --shares entry, in the same order; otherwise each
                          officer types theirs when asked
`;

/** The --profile folder (required). */
export function officerProfileDir(ctx: CommandContext): string {
  return requireString(ctx.flags, 'profile');
}

/** The officer's passphrase: the first line of --passphrase-file (or $CUSTOS_PASSPHRASE_FILE), or typed. */
export async function officerPassphrase(ctx: CommandContext, dir: string): Promise<string> {
  const file = passphraseFilePath(ctx.flags);
  if (file !== undefined) return readPassphraseFile(file, (l) => ctx.note(l))[0]!;
  return promptHidden(`Officer passphrase for ${dir}: `, ctx.io.stderr);
}

/** Opens the officer session of --profile, runs `fn`, and always closes the session. */
export async function withOfficerSession<T>(
  ctx: CommandContext,
  fn: (session: OfficerSession) => Promise<T>,
): Promise<T> {
  const dir = officerProfileDir(ctx);
  const passphrase = await officerPassphrase(ctx, dir);
  const session = await openOfficerSession(dir, passphrase);
  // Before anything below trusts a checkpoint (the officer-list check does).
  const lost = lostLogStateWarning(dir);
  if (lost !== undefined) ctx.note(`custos console: warning: ${lost}`);
  try {
    // Every officer command calls officer routes: say so before any share is opened.
    session.deviceId();
    // Another officer may have changed the officer set: adopt the newer signed list first,
    // so quorums, approvals and bucket wraps use the current officers.
    const adopted = await session.refreshOfficers();
    if (adopted !== null) {
      const names = (xs: readonly number[]) => xs.map((i) => i + 1).join(', ');
      ctx.note(
        `org.json: adopted the officer list signed ${new Date(adopted.list.issuedAt).toISOString()} ` +
          `(officers ${names(adopted.list.officers.map((o) => o.index))}, quorum ${adopted.list.quorum}` +
          `${adopted.added.length > 0 ? `; added ${names(adopted.added)}` : ''}` +
          `${adopted.removed.length > 0 ? `; removed ${names(adopted.removed)}` : ''})`,
      );
    }
    const root = await session.refreshRootKey();
    if (root !== null) {
      ctx.note(
        `org.json: adopted the root archive key rotated ${new Date(root.issuedAt).toISOString()} ` +
          `(fingerprint ${session.officer.org.rootArchiveKeyFingerprint})`,
      );
    }
    return await fn(session);
  } finally {
    session.close();
  }
}

/** Most --shares entries (the server's officer limit). */
const MAX_SHARE_ENTRIES = 32;

/**
 * Opens the --shares entries for the secret `kinds` and recovers them. A folder entry
 * contributes its `<kind>.share.json` for each kind; a file entry is used as it is. Fewer
 * shares than the quorum, a wrong passphrase or a modified file fail before anything is
 * sent (core's SHARES_INSUFFICIENT, WRONG_PASSPHRASE, DECRYPTION_FAILED).
 */
export async function unlockShares(
  ctx: CommandContext,
  kinds: readonly ShareSecretKind[],
): Promise<RootKeys> {
  const entries = requireString(ctx.flags, 'shares')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0 || entries.length > MAX_SHARE_ENTRIES)
    throw new UsageError(`--shares needs 1 to ${MAX_SHARE_ENTRIES} comma-separated files or folders`);
  const file = optionalString(ctx.flags, 'share-passphrase-file');
  let passphrases: string[];
  if (file !== undefined) {
    passphrases = readPassphraseFile(file, (l) => ctx.note(l));
    if (passphrases.length !== entries.length) {
      throw new PassphraseInputError(
        `the share passphrase file has ${passphrases.length} lines for ${entries.length} --shares entries: give one per entry, in order`,
      );
    }
  } else {
    passphrases = [];
    for (const e of entries)
      passphrases.push(await promptHidden(`Passphrase for share ${e}: `, ctx.io.stderr));
  }
  const files: string[] = [];
  const perFile: string[] = [];
  entries.forEach((e, i) => {
    let isDir: boolean;
    try {
      isDir = statSync(e).isDirectory();
    } catch {
      throw new CliFailure('SHARE_NOT_FOUND', `cannot read the share file or folder ${e}`);
    }
    for (const path of isDir ? kinds.map((k) => join(e, `${k}.share.json`)) : [e]) {
      files.push(path);
      perFile.push(passphrases[i]!);
    }
  });
  ctx.note(
    `opening ${files.length} share file(s) (each takes a moment: the passphrase KDF is deliberately slow)`,
  );
  const root = await unlockRoot(files, perFile);
  for (const k of kinds) {
    const present =
      k === 'org-signing-key'
        ? root.signingKey !== undefined
        : k === 'org-root-archive-key'
          ? root.rootArchiveKey !== undefined
          : root.indexSecret !== undefined;
    if (!present) {
      root.destroy();
      throw new CliFailure('SHARES_INSUFFICIENT', `no ${k} shares among --shares: this operation needs them`);
    }
  }
  return root;
}

/** An ISO date-time without seconds, UTC. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
