/** Command dispatch for `custos`. */
import { runAdmin } from './commands/admin.js';
import { runArchive } from './commands/archive.js';
import { runChat } from './commands/chat.js';
import { runContacts } from './commands/contacts.js';
import { runDevices } from './commands/devices.js';
import { runEnroll } from './commands/enroll.js';
import { runOrgCreate } from './commands/org-create.js';
import { runSafetyNumber } from './commands/safety-number.js';
import { runSend } from './commands/send.js';
import { runSync } from './commands/sync.js';
import { runServerCommand } from './server-command.js';

/** Where a command writes. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const USAGE = `custos — end-to-end encrypted messaging with a provable, end-to-end encrypted archive

Usage: custos <command> [options]      ('custos <command> --help' for each)

Running a server and an organisation:
  server          start the Custos server
  org create      run the key ceremony that creates an organisation

On a device (each takes --profile DIR, default $CUSTOS_PROFILE or ./custos-profile, and --json):
  enroll          enrol this machine with an enrolment code (or --admin-profile for the first admin)
  send            send a message, reply, edit, delete or reaction
  sync            fetch and show new messages; upload the archive and verify receipts
  chat            an interactive conversation with live updates
  contacts        your address book: names for addresses (USERID@ORGID)
  safety-number   compare safety numbers; accept a contact's changed identity key
  devices         list or revoke your devices
  archive status  this device's archive queue, receipts and checkpoint

Administration (admin role):
  admin invite|users|devices|revoke

  help            show this text
`;

type Runner = (args: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Runner>> = {
  server: runServerCommand,
  enroll: runEnroll,
  send: runSend,
  sync: runSync,
  chat: runChat,
  contacts: runContacts,
  'safety-number': runSafetyNumber,
  devices: runDevices,
  archive: runArchive,
  admin: runAdmin,
};

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
    case 'org':
      if (args[1] === 'create') return runOrgCreate(args.slice(2), io);
      io.stderr.write(
        `custos org: unknown subcommand '${args[1] ?? ''}'; available: create. Run 'custos help'.\n`,
      );
      return 2;
    default: {
      const run = COMMANDS[command];
      if (run !== undefined) return run(args.slice(1), io);
      io.stderr.write(`custos: unknown command '${command}'. Run 'custos help'.\n`);
      return 2;
    }
  }
}
