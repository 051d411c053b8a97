/**
 * Command dispatch for `custos`. Each command's module is imported only when it runs, so
 * `custos send` does not load the server (fastify, SQLite stores) or the ceremony code.
 */

/** Where a command writes. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /**
   * Where a command reads an answer to its question (`custos pending --discard`); default
   * process.stdin. A question is asked only when it is a terminal (`isTTY`).
   */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /**
   * Only check the command line: resolve the command, parse its flags and positionals, and
   * return 0 before doing anything (no profile, no network). Exit 2 as usual for an unknown
   * command, subcommand or flag. Used to check that documented commands still parse.
   */
  readonly checkOnly?: boolean;
}

const USAGE = `custos — end-to-end encrypted messaging with a provable, end-to-end encrypted archive

Usage: custos <command> [options]      ('custos <command> --help' for each)

Running a server and an organisation:
  server          start the Custos server
  doctor          check this machine's server deployment (TLS, file modes, store, keys, clock)
  org create      run the key ceremony that creates an organisation
  org unlock      a quorum of share files acts as the root (re-issue the key-manager delegation,
                  rotate the key-manager key or the root archive key)
  org buckets     bucket keys and their windows; generate them ahead (officer profile)
  org officers    a quorum adds or removes an officer (fresh shares for the new set)

On a device (each takes --profile DIR, default $CUSTOS_PROFILE or ./custos-profile, and --json):
  enroll          enrol this machine with an enrolment code (or --admin-profile for the first admin)
  send            send a message, reply, edit, delete or reaction
  sync            fetch and show new messages; upload the archive and verify receipts
  pending         sends the server has not confirmed, which hold later sends back; discard one
  chat            an interactive conversation with live updates (with a user or a group)
  group           create, add, remove, leave, rename, list groups
  contacts        your address book: names for addresses (USERID@ORGID)
  safety-number   compare safety numbers; accept a contact's changed identity key
  devices         list, link or revoke your devices
  archive status  this device's archive queue, receipts and checkpoint

Administration (admin role):
  admin invite|code|users|devices|revoke|roles|set-retention

Records officers (each takes --profile DIR, an officer profile; docs/officers.md):
  console enroll            enrol the device your officer profile uses for officer routes
  console grant-index-keys  seal blind-index keys to devices that lack them
  console reseal            re-seal lexicon rules and holds to officers added since they were made
  console search QUERY      search the archive blind; hits opened and verified
  console hold              legal holds: create, list, release
  console dispose           retention: plan, approve and execute disposition of expired buckets
  console export            export records (RSMF, EML, MBOX, PDF, JSON) with a custody manifest
  console completeness      report archive gaps, unarchived relay receipts, silent devices
  console alerts            completeness findings plus the server's security alerts
  console lexicon           supervision: lexicon rules (blind tokens) that queue records for review
  console review            supervision: review the next queued record, record decisions
  console audit             every officer and admin act in the log, verified
  console archive-copy      take or refresh the organisation's own verified copy of the archive

Auditing (no account needed):
  verify log      witness an organisation's log: it only grows; optionally cosign
  verify witness-key
                  make the witness key that 'verify log --cosign-key' cosigns with
  verify copy DIR
                  check an archive copy offline: checkpoint, every entry and record, keys
  verify PATH     check an export offline: hashes, signatures, proofs, checkpoint

  demo            run the whole system in a temporary folder and show what each device saw
  help            show this text
  version         show the version of this custos command (also --version)
`;

/**
 * The help of a command group (`custos org --help`, `custos console --help`): the lines of
 * USAGE about its subcommands, with their continuation lines, so the two never differ.
 */
function groupUsage(group: string): string {
  const lines: string[] = [];
  let inGroup = false;
  for (const line of USAGE.split('\n')) {
    if (line.startsWith(`  ${group} `)) inGroup = true;
    else if (!/^ {3,}\S/.test(line)) inGroup = false;
    if (inGroup) lines.push(line);
  }
  return `Usage: custos ${group} <subcommand> [options]      ('custos ${group} <subcommand> --help' for each)\n\n${lines.join('\n')}\n`;
}

const HELP_WORDS: readonly (string | undefined)[] = ['--help', '-h', 'help'];

/**
 * Answers `custos <group>` without a known subcommand: its help (exit 0) for a help word, or
 * one line naming the subcommands (exit 2) for none or an unknown one.
 */
function groupWithout(group: string, names: readonly string[], sub: string | undefined, io: CliIo): number {
  if (HELP_WORDS.includes(sub)) {
    io.stdout.write(groupUsage(group));
    return 0;
  }
  const problem =
    sub === undefined
      ? `a subcommand is needed: ${names.join(', ')}`
      : `unknown subcommand '${sub}'; available: ${names.join(', ')}`;
  io.stderr.write(`custos ${group}: ${problem}. Run 'custos ${group} --help'.\n`);
  return 2;
}

type Runner = (args: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, () => Promise<Runner>>> = {
  server: async () => (await import('./server-command.js')).runServerCommand,
  doctor: async () => (await import('./commands/doctor.js')).runDoctor,
  enroll: async () => (await import('./commands/enroll.js')).runEnroll,
  send: async () => (await import('./commands/send.js')).runSend,
  sync: async () => (await import('./commands/sync.js')).runSync,
  pending: async () => (await import('./commands/pending.js')).runPending,
  chat: async () => (await import('./commands/chat.js')).runChat,
  contacts: async () => (await import('./commands/contacts.js')).runContacts,
  'safety-number': async () => (await import('./commands/safety-number.js')).runSafetyNumber,
  devices: async () => (await import('./commands/devices.js')).runDevices,
  archive: async () => (await import('./commands/archive.js')).runArchive,
  admin: async () => (await import('./commands/admin.js')).runAdmin,
  group: async () => (await import('./commands/group.js')).runGroup,
  demo: async () => (await import('./commands/demo.js')).runDemo,
};

/** `custos console <sub>`: the records officer's commands (docs/officers.md). */
const CONSOLE_COMMANDS: Readonly<Record<string, () => Promise<Runner>>> = {
  enroll: async () => (await import('./commands/console-enroll.js')).runConsoleEnroll,
  'grant-index-keys': async () =>
    (await import('./commands/console-grant-index-keys.js')).runConsoleGrantIndexKeys,
  reseal: async () => (await import('./commands/console-reseal.js')).runConsoleReseal,
  search: async () => (await import('./commands/console-search.js')).runConsoleSearch,
  hold: async () => (await import('./commands/console-hold.js')).runConsoleHold,
  dispose: async () => (await import('./commands/console-dispose.js')).runConsoleDispose,
  export: async () => (await import('./commands/console-export.js')).runConsoleExport,
  completeness: async () => (await import('./commands/console-completeness.js')).runConsoleCompleteness,
  alerts: async () => (await import('./commands/console-alerts.js')).runConsoleAlerts,
  lexicon: async () => (await import('./commands/console-lexicon.js')).runConsoleLexicon,
  review: async () => (await import('./commands/console-review.js')).runConsoleReview,
  audit: async () => (await import('./commands/console-audit.js')).runConsoleAudit,
  'archive-copy': async () => (await import('./commands/console-archive-copy.js')).runConsoleArchiveCopy,
};

/** `table[name]` when `name` is the table's own key; undefined for anything else, `constructor` and `toString` included. */
function ownEntry<T>(table: Readonly<Record<string, T>>, name: string | undefined): T | undefined {
  return name !== undefined && Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Runs `custos` with the given arguments; resolves to the process exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [command] = args;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return 0;
    case 'version':
    case '--version':
      io.stdout.write(`custos ${(await import('./cli-version.js')).cliVersion()}\n`);
      return 0;
    case 'org':
      if (args[1] === 'create')
        return (await import('./commands/org-create.js')).runOrgCreate(args.slice(2), io);
      if (args[1] === 'unlock')
        return (await import('./commands/org-unlock.js')).runOrgUnlock(args.slice(2), io);
      if (args[1] === 'buckets')
        return (await import('./commands/org-buckets.js')).runOrgBuckets(args.slice(2), io);
      if (args[1] === 'officers')
        return (await import('./commands/org-officers.js')).runOrgOfficers(args.slice(2), io);
      return groupWithout('org', ['create', 'unlock', 'buckets', 'officers'], args[1], io);
    case 'console': {
      const sub = ownEntry(CONSOLE_COMMANDS, args[1]);
      if (sub !== undefined) return (await sub())(args.slice(2), io);
      return groupWithout('console', Object.keys(CONSOLE_COMMANDS), args[1], io);
    }
    case 'verify':
      if (args[1] === 'log' || args[1] === 'witness-key')
        return (await import('./commands/verify-log.js')).runVerifyLog(args[1], args.slice(2), io);
      if (args[1] === 'copy')
        return (await import('./commands/verify-copy.js')).runVerifyCopy(args.slice(2), io);
      return (await import('./commands/verify-export.js')).runVerifyExport(args.slice(1), io);
    default: {
      const load = ownEntry(COMMANDS, command);
      if (load !== undefined) return (await load())(args.slice(1), io);
      io.stderr.write(`custos: unknown command '${command}'. Run 'custos help'.\n`);
      return 2;
    }
  }
}
