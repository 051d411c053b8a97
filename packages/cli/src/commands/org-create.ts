/** `custos org create`: the key ceremony (docs/ceremony.md), a thin shell over @custos/console. */
import { isArchivePolicyName, MIN_PASSPHRASE_LENGTH, type ArchivePolicyName } from '@custos/core';
import { MAX_OFFICERS, MIN_OFFICERS, runCeremony, type CeremonyResult } from '@custos/console';
import { readFileSync } from 'node:fs';
import type { CliIo } from '../cli.js';
import {
  optionalString,
  parseFlags,
  type ParsedFlags,
  requireInt,
  requireString,
  UsageError,
} from '../command-flags.js';
import { reportFailure } from '../command-runner.js';
import {
  PASSPHRASE_FILE_ENV,
  PassphraseInputError,
  promptNewPassphrase,
  readPassphraseFile,
} from '../passphrase-input.js';

/** Usage of `custos org create`. */
export const ORG_CREATE_USAGE = `Usage: custos org create --server URL (--bootstrap TOKEN | --bootstrap-token-file FILE) --name NAME
                         --officers N --threshold M --out DIR
                         [--archive-policy required|none] [--passphrase-file FILE] [--json]

Runs the key ceremony on this machine (never on the server): generates the org signing key,
the root archive key and the org index secret, splits each M-of-N among the officers, writes
each officer's passphrase-protected share files and profile, signs the key-manager delegation
and the first bucket keys, registers only public material with the server, and writes the
first admin's profile. An interrupted run resumes when rerun with the same options and --out.

  --server URL            the Custos server, e.g. https://custos.example.org
  --bootstrap TOKEN       the one-time bootstrap token the server printed at first start
  --bootstrap-token-file FILE
                          or read it from the file 'custos server --bootstrap-out' wrote
  --name NAME             organisation name (public: it names the log)
  --officers N            number of officers (${MIN_OFFICERS}..${MAX_OFFICERS})
  --threshold M           officers needed to recover an org secret (2..N)
  --out DIR               new folder for the profiles and share files
  --archive-policy P      required (default): every device captures and uploads archive
                          records, and users cannot switch it off; none: the organisation
                          keeps no archive (no bucket keys; devices capture nothing). Signed
                          with the org signing key, so a server cannot change it.
  --passphrase-file FILE  officer passphrases, one per line in officer order, or one line
                          used for every officer (default: $${PASSPHRASE_FILE_ENV});
                          otherwise they are prompted
  --json                  print the result as JSON on stdout (progress stays on stderr)

See docs/ceremony.md.
`;

const FLAGS = {
  server: 'string',
  bootstrap: 'string',
  'bootstrap-token-file': 'string',
  name: 'string',
  officers: 'string',
  threshold: 'string',
  out: 'string',
  'passphrase-file': 'string',
  'archive-policy': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

/** The token from --bootstrap or --bootstrap-token-file (exactly one). */
function bootstrapToken(flags: ParsedFlags): string {
  const file = optionalString(flags, 'bootstrap-token-file');
  if (file !== undefined && flags.has('bootstrap')) {
    throw new UsageError('give --bootstrap or --bootstrap-token-file, not both');
  }
  if (file === undefined) return requireString(flags, 'bootstrap');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new UsageError(`cannot read the bootstrap token file ${file}`);
  }
}

/** --archive-policy: `required` (default) or `none`. */
function archivePolicy(flags: ParsedFlags): ArchivePolicyName {
  const v = optionalString(flags, 'archive-policy') ?? 'required';
  if (!isArchivePolicyName(v)) throw new UsageError(`--archive-policy must be required or none, not '${v}'`);
  return v;
}

/** `p` as one shell word (quoted when it holds anything but plain path characters). */
function shellWord(p: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to do after the ceremony, as commands a newcomer can run in order: the first admin
 * enrols from the admin profile, invites users and officers, officers enrol their consoles
 * (and, when the org archives, seal search keys to devices), and share folders go offline.
 */
export function orgCreateNextSteps(r: CeremonyResult): string[] {
  const officer = r.officers[0];
  const officerDir = shellWord(officer?.profileDir ?? 'OFFICER-PROFILE');
  return [
    `custos enroll --admin-profile ${shellWord(r.adminProfile)} --profile ./admin   # the first admin, with a new passphrase`,
    'custos admin invite --user NAME --profile ./admin   # each person; they run the enroll line it prints',
    'custos admin invite --user NAME --role officer --profile ./admin   # each officer, then with its code:',
    `custos console enroll CODE --profile ${officerDir}   # officer ${officer?.shareIndex ?? 1}; the others with their own profile`,
    ...(r.archivePolicy === 'required'
      ? [
          `custos console grant-index-keys --profile ${officerDir}   # after enrolments, and daily: search keys for devices`,
        ]
      : []),
  ];
}

function summary(r: CeremonyResult): string {
  const lines = [
    `Organisation "${r.name}" created: ${r.orgId}`,
    r.archivePolicy === 'required'
      ? 'Archive policy: required (signed; every device archives and cannot switch it off)'
      : 'Archive policy: none (signed; this organisation keeps no archive, devices capture nothing)',
    `Org signing-key fingerprint: ${r.signingKeyFingerprint}   (devices pin it; compare it out of band)`,
    `Root archive-key fingerprint: ${r.rootArchiveKeyFingerprint}`,
    `First admin profile: ${r.adminProfile}   (holds a one-time enrolment code: hand it to the admin only)`,
    ...r.officers.map(
      (o) =>
        `Officer ${o.shareIndex}: profile ${o.profileDir}, share files in ${o.shareFiles[0]!.replace(/\/[^/]+$/, '')}`,
    ),
    "Move each officer's share folder to that officer's own offline media, then delete it here.",
    'Each officer keeps their profile folder and passphrase; m of them bring their share files',
    'to a quorum act (custos org unlock, org officers). Next steps (docs/officers.md):',
    ...orgCreateNextSteps(r).map((l) => `  ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Runs `custos org create`; resolves to the exit code. */
export async function runOrgCreate(args: readonly string[], io: CliIo): Promise<number> {
  const say = (line: string): void => void io.stderr.write(`custos org create: ${line}\n`);
  let flags;
  try {
    flags = parseFlags(args, FLAGS);
    if (flags.has('help')) {
      io.stdout.write(ORG_CREATE_USAGE);
      return 0;
    }
    if (io.checkOnly === true) return 0;
    const officers = requireInt(flags, 'officers', MIN_OFFICERS, MAX_OFFICERS);
    const options = {
      server: requireString(flags, 'server'),
      bootstrapToken: bootstrapToken(flags),
      name: requireString(flags, 'name'),
      officers,
      threshold: requireInt(flags, 'threshold', 2, officers),
      out: requireString(flags, 'out'),
      archivePolicy: archivePolicy(flags),
    };
    // The flag only: $CUSTOS_PASSPHRASE_FILE names the running user's own passphrase, and
    // taking it here would silently give every officer that one passphrase.
    const file = optionalString(flags, 'passphrase-file');
    const passphrases = async (): Promise<readonly string[]> => {
      if (file !== undefined) {
        const lines = readPassphraseFile(file, say);
        if (lines.length === 1) return Array.from({ length: officers }, () => lines[0]!);
        if (lines.length !== officers) {
          throw new PassphraseInputError(
            `the passphrase file has ${lines.length} lines: give 1 (for all officers) or ${officers}`,
          );
        }
        return lines;
      }
      const out: string[] = [];
      for (let i = 0; i < officers; i++)
        out.push(await promptNewPassphrase(`Officer ${i + 1}`, io.stderr, MIN_PASSPHRASE_LENGTH));
      return out;
    };
    const result = await runCeremony({ ...options, passphrases }, (e) => say(`[${e.step}] ${e.message}`));
    if (flags.has('json'))
      io.stdout.write(`${JSON.stringify({ ...result, nextSteps: orgCreateNextSteps(result) }, null, 2)}\n`);
    else io.stdout.write(summary(result));
    return 0;
  } catch (e) {
    return reportFailure(e, 'org create', io, args.includes('--json'));
  }
}
