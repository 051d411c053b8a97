/**
 * `custos org officers add|remove`: a quorum changes the officer set (docs/officers.md §5).
 * All three org secrets are recovered from --shares, split afresh for the new set (one
 * passphrase per officer of the new set, from --new-passphrase-file or typed), the signed
 * officer list is registered, and an added officer gets a profile with every bucket wrapped
 * to them. Nothing is sent when a share, passphrase or check fails.
 */
import { addOfficer, removeOfficer, type OfficerChangeResult } from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { runSubcommands, type CommandContext, type Subcommand } from '../command-runner.js';
import { PassphraseInputError, promptHidden, readPassphraseFile } from '../passphrase-input.js';
import {
  OFFICER_FLAGS,
  OFFICER_OPTIONS_HELP,
  SHARE_FLAGS,
  SHARE_OPTIONS_HELP,
  unlockShares,
  withOfficerSession,
} from './console-officer.js';

const USAGE = `Usage: custos org officers add --name NAME --out DIR --profile DIR --shares LIST [--threshold M]
                               [--new-passphrase-file FILE]
       custos org officers remove --officer K [--user USER] --out DIR --profile DIR --shares LIST
                               [--threshold M] [--new-passphrase-file FILE]
       (each also takes --passphrase-file FILE, --share-passphrase-file FILE and --json)

A quorum (m) of share folders changes the officer set. All three org secrets are split again
for the new set; the new share files (and, for add, the new officer's profile) are written
under --out in the ceremony's layout (shares/officer-<k>/, officers/officer-<k>/, org.json).

  add                     adds the next officer: key pairs and key file under their passphrase,
                          every bucket key wrapped to them, the signed officer list registered
  remove                  removes officer K (1-based, as in shares/officer-K); --user USER (their
                          officer user id) also takes the role officer from that user on the server
  --name NAME             the added officer's name, for your records (not sent to the server)
  --out DIR               a new folder for the new share folders, org.json and the added profile
  --threshold M           the quorum of the new set (default: the current one)
  --new-passphrase-file FILE
                          one passphrase per officer of the NEW set, in officer order: it seals
                          their new shares (and the added officer's key file); otherwise typed
${SHARE_OPTIONS_HELP}${OFFICER_OPTIONS_HELP}
Old share files stay valid until every officer destroys them: see docs/officers.md §5.
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  ...SHARE_FLAGS,
  name: 'string',
  out: 'string',
  officer: 'string',
  user: 'string',
  threshold: 'string',
  'new-passphrase-file': 'string',
} as const;

function threshold(ctx: CommandContext): number | undefined {
  const t = optionalString(ctx.flags, 'threshold');
  if (t === undefined) return undefined;
  if (!/^[1-9][0-9]?$/.test(t)) throw new UsageError('--threshold must be a number from 1 to 99');
  return Number(t);
}

/** One passphrase per officer index of the new set: file lines in order, or typed. */
export async function newPassphrases(
  ctx: CommandContext,
  officers: readonly number[],
): Promise<Map<number, string>> {
  const file = optionalString(ctx.flags, 'new-passphrase-file');
  const out = new Map<number, string>();
  if (file !== undefined) {
    const lines = readPassphraseFile(file, (l) => ctx.note(l));
    if (lines.length !== officers.length) {
      throw new PassphraseInputError(
        `the new passphrase file has ${lines.length} lines for ${officers.length} officers: give one per officer of the new set, in order`,
      );
    }
    officers.forEach((o, i) => out.set(o, lines[i]!));
    return out;
  }
  for (const o of officers)
    out.set(o, await promptHidden(`New share passphrase of officer ${o + 1}: `, ctx.io.stderr));
  return out;
}

function report(ctx: CommandContext, r: OfficerChangeResult, lines: string[]): void {
  ctx.result(
    [
      ...lines,
      `Officers now: ${r.officers.map((i) => i + 1).join(', ')}; quorum ${r.threshold} of ${r.officers.length}.`,
      `New share folders and org.json are under ${r.out}: hand each officer their shares/officer-<k> and org.json.`,
      'Old share files stay valid until destroyed: every officer must destroy theirs now (docs/officers.md §5).',
    ],
    { ...r },
  );
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: {
    max: 0,
    async run(ctx) {
      const name = requireString(ctx.flags, 'name');
      const out = requireString(ctx.flags, 'out');
      const r = await withOfficerSession(ctx, async (session) => {
        const org = session.officer.org;
        const added = Math.max(...org.officers.map((o) => o.index)) + 1;
        const passphrases = await newPassphrases(ctx, [...org.officers.map((o) => o.index), added]);
        const root = await unlockShares(ctx, ['org-signing-key', 'org-root-archive-key', 'org-index-secret']);
        try {
          return await addOfficer(session, root, {
            out,
            passphrases,
            ...(threshold(ctx) === undefined ? {} : { threshold: threshold(ctx)! }),
            now: Date.now(),
            progress: (m) => ctx.note(m),
          });
        } finally {
          root.destroy();
        }
      });
      report(ctx, r, [
        `Added ${name} as officer ${r.added! + 1}: profile ${out}/officers/officer-${r.added! + 1}, ${r.wrapped.length} bucket keys wrapped to them.`,
        `Next: an admin invites their officer user ('custos admin invite --role officer'), they run 'custos console enroll'.`,
        `Then run 'custos console reseal' (you, or any officer who held a seal): it seals existing lexicon rules and holds to officer ${r.added! + 1}, so they can extend them to new buckets.`,
      ]);
    },
  },
  remove: {
    max: 0,
    async run(ctx) {
      const k = requireString(ctx.flags, 'officer');
      if (!/^[1-9][0-9]?$/.test(k)) throw new UsageError('--officer must be the officer number K (1-based)');
      const index = Number(k) - 1;
      const out = requireString(ctx.flags, 'out');
      const user = optionalString(ctx.flags, 'user');
      const r = await withOfficerSession(ctx, async (session) => {
        const remaining = session.officer.org.officers.map((o) => o.index).filter((i) => i !== index);
        const passphrases = await newPassphrases(ctx, remaining);
        const root = await unlockShares(ctx, ['org-signing-key', 'org-root-archive-key', 'org-index-secret']);
        try {
          return await removeOfficer(session, root, index, user, {
            out,
            passphrases,
            ...(threshold(ctx) === undefined ? {} : { threshold: threshold(ctx)! }),
            now: Date.now(),
            progress: (m) => ctx.note(m),
          });
        } finally {
          root.destroy();
        }
      });
      report(ctx, r, [
        `Removed officer ${index + 1}${r.demoted.length > 0 ? `; user ${r.demoted.join(', ')} no longer has the role officer` : ''}.`,
        "They still hold the key-manager key and the bucket keys wrapped to them: run 'custos org unlock --rotate-key-manager' with the new shares.",
      ]);
    },
  },
};

/** Runs `custos org officers add|remove`. */
export function runOrgOfficers(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'org officers', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
