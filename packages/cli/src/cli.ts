/** Command dispatch for `custos`. */
import { runOrgCreate } from './commands/org-create.js';
import { runServerCommand } from './server-command.js';

/** Where a command writes. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const USAGE = `custos — end-to-end encrypted messaging with a provable, end-to-end encrypted archive

Usage: custos <command> [options]

Commands available in this build:
  server     start the Custos server ('custos server --help' for its options)
  org create run the key ceremony that creates an organisation ('custos org create --help')
  help       show this text
`;

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
    case 'server':
      return runServerCommand(args.slice(1), io);
    case 'org':
      if (args[1] === 'create') return runOrgCreate(args.slice(2), io);
      io.stderr.write(
        `custos org: unknown subcommand '${args[1] ?? ''}'; available: create. Run 'custos help'.\n`,
      );
      return 2;
    default:
      io.stderr.write(`custos: unknown command '${command}'. Run 'custos help'.\n`);
      return 2;
  }
}
