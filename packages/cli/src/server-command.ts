/**
 * `custos server`: loads the configuration, starts the server, and waits until it stops.
 * `custos server bootstrap-token`: issues one more one-time bootstrap token (operator only).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import {
  ConfigError,
  issueBootstrapTokenIn,
  issuedTokenText,
  loadConfig,
  SETTINGS,
  startServer,
  writeBootstrapFile,
} from '@custos/server';
import type { CliIo } from './cli.js';
import { EXIT_FAILURE, EXIT_USAGE } from './command-runner.js';
import { processDebugFlags } from './debug-flags.js';
import { missingServerFlags } from './gc-tuning.js';

/** The ConfigError setting the server's loader names when it cannot parse the flags themselves. */
const ARGUMENTS_SETTING = 'arguments';

const BOOTSTRAP_TOKEN_USAGE = `Usage: custos server bootstrap-token [--data DIR] [--store sqlite|postgres://…] [--out FILE]
                                    [--json]

Issues a new one-time bootstrap token, so one more organisation can be created on this install.
Run it on the server machine, with access to the server's data folder or store; the server may be
running. The token is stored only as its SHA-256 and expires unused after 72 hours.

  --data DIR    the server's data folder (default ./custos-data; env CUSTOS_DATA)
  --store URL   'sqlite' (in the data folder) or the server's postgres:// URL (env CUSTOS_STORE)
  --out FILE    write the token to FILE (mode 0600) instead of printing it
  --json        print {"token"|"file", "expiresAt", "outstanding"} as JSON

See docs/operations.md.
`;

/** `custos server bootstrap-token …`; resolves to the exit code (0 issued, 2 bad arguments, 1 failure). */
export async function runBootstrapTokenCommand(args: readonly string[], io: CliIo): Promise<number> {
  let values: { data?: string; store?: string; out?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        data: { type: 'string' },
        store: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr.write(`custos server bootstrap-token: ${e instanceof Error ? e.message : 'bad arguments'}\n`);
    return 2;
  }
  if (values.help === true) {
    io.stdout.write(BOOTSTRAP_TOKEN_USAGE);
    return 0;
  }
  if (io.checkOnly === true) return 0;
  try {
    // The server's own loader resolves the store exactly as `custos server` would.
    const argv = [
      ...(values.data === undefined ? [] : ['--data', values.data]),
      ...(values.store === undefined ? [] : ['--store', values.store]),
    ];
    const config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
    const issued = await issueBootstrapTokenIn(config.store, Date.now());
    const out = values.out === undefined ? null : resolve(values.out);
    if (out !== null) writeBootstrapFile(out, issued.token);
    if (values.json === true) {
      const where = out === null ? { token: issued.token } : { file: out };
      io.stdout.write(
        `${JSON.stringify({ ...where, expiresAt: issued.expiresAt, outstanding: issued.outstanding })}\n`,
      );
    } else {
      io.stdout.write(issuedTokenText(issued, out));
    }
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`custos server bootstrap-token: ${e.message}\n`);
      return 1;
    }
    // MUST NOT print the token or a store URL: only the fault's code and message.
    const code = (e as { code?: unknown } | null)?.code;
    const what = e instanceof Error ? e.message : 'unknown error';
    io.stderr.write(
      `custos server bootstrap-token: cannot issue a token: ${typeof code === 'string' ? `${code}: ` : ''}${what}\n`,
    );
    return 1;
  }
}

/** Column where an option's description starts in `custos server --help`, as in every command's help. */
const HELP_COLUMN = 26;
/** Widest line of `custos server --help` (help-text.test.ts holds every help to it). */
const HELP_WIDTH = 100;

/**
 * One option of `custos server --help`: `--flag` and its description from HELP_COLUMN on,
 * wrapped to HELP_WIDTH (on the next line when the flag does not leave two spaces).
 */
function optionHelp(flag: string, description: string): string[] {
  const head = `  --${flag}`;
  const indent = ' '.repeat(HELP_COLUMN);
  const lines: string[] = head.length + 2 <= HELP_COLUMN ? [] : [head];
  let line = lines.length === 0 ? head.padEnd(HELP_COLUMN) : indent;
  for (const word of description.split(/\s+/)) {
    if (line.length > HELP_COLUMN && line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = indent;
    }
    line += line.length === HELP_COLUMN ? word : ` ${word}`;
  }
  return [...lines, line];
}

/** Usage of `custos server`, rendered from the server's settings table so it cannot drift. */
export function serverUsage(): string {
  const lines = SETTINGS.flatMap((st) => [
    ...optionHelp(st.flag, st.description),
    `${' '.repeat(HELP_COLUMN)}default ${st.defaultText.replaceAll('`', '')}; env ${st.env}`,
  ]);
  return [
    'Usage: custos server [options]',
    "       custos server bootstrap-token [options]    (see 'custos server bootstrap-token --help')",
    '',
    'Options (flags > CUSTOS_* environment > --config JSON file > defaults):',
    ...lines,
    ...optionHelp(
      'config',
      'JSON file with any of the settings above (keys as in docs/operations.md); env CUSTOS_CONFIG',
    ),
    '',
    'See docs/operations.md.',
    '',
  ].join('\n');
}

/** Words for a listen that failed EADDRINUSE: which address, and how to pick another. */
function addressInUse(e: unknown): string {
  const { address, port } = (e ?? {}) as { address?: unknown; port?: unknown };
  const host = typeof address === 'string' && address.includes(':') ? `[${address}]` : address;
  const where = typeof host === 'string' && typeof port === 'number' ? `${host}:${port}` : 'the address';
  return `${where} is in use (EADDRINUSE): another process (another custos server?) listens there. Stop it, or choose another address with --listen HOST:PORT (port 0 picks a free one)`;
}

/** Runs the server until SIGTERM/SIGINT; resolves to the exit code. */
export async function runServerCommand(args: readonly string[], io: CliIo): Promise<number> {
  if (args[0] === 'bootstrap-token') return runBootstrapTokenCommand(args.slice(1), io);
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(serverUsage());
    return 0;
  }
  // An inspector runs any code in the process and reads its memory: never in a server.
  const inspector = processDebugFlags().find((f) => f.kind === 'inspector');
  if (inspector !== undefined && io.checkOnly !== true) {
    io.stderr.write(
      `custos server: refusing to start: node runs with ${inspector.flag} (from ${inspector.source}); an inspector exposes the process's memory. Remove it ('custos doctor' lists such flags).\n`,
    );
    return EXIT_FAILURE;
  }
  try {
    // checkOnly: the flags and their values alone (no environment, no config file read).
    const check = io.checkOnly === true;
    const config = loadConfig({
      argv: args,
      env: check ? {} : process.env,
      cwd: process.cwd(),
      ...(check ? { readFile: () => '{}' } : {}),
    });
    if (check) return 0;
    const server = await startServer(config, io);
    const missing = missingServerFlags(process.execArgv, process.env.NODE_OPTIONS);
    if (missing.length > 0)
      io.stderr.write(
        `custos server: note: node runs without ${missing.join(' ')}; deliveries wait longer under load (docs/operations.md, "The server's node flags").\n`,
      );
    await server.closed;
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      // An unknown or valueless flag is a command-line mistake (exit 2, as for every
      // command); a bad setting value is a failure to start (exit 1).
      const usage = e.setting === ARGUMENTS_SETTING;
      // Node's own argument messages end with a full stop already.
      const message = usage ? `${e.message.replace(/\.+$/, '')}. Run 'custos server --help'.` : e.message;
      io.stderr.write(`custos server: ${message}\n`);
      return usage ? EXIT_USAGE : EXIT_FAILURE;
    }
    // Start-up faults (port in use, store unreachable): say what, never dump objects that may hold secrets.
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'EADDRINUSE') {
      io.stderr.write(`custos server: cannot start: ${addressInUse(e)}\n`);
      return 1;
    }
    const what = e instanceof Error ? e.message : 'unknown error';
    io.stderr.write(`custos server: cannot start: ${typeof code === 'string' ? `${code}: ` : ''}${what}\n`);
    return 1;
  }
}
