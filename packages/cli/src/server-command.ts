/** `custos server`: loads the configuration, starts the server, and waits until it stops. */
import { ConfigError, loadConfig, startServer } from '@custos/server';
import type { CliIo } from './cli.js';

/** Usage of `custos server`. */
export const SERVER_USAGE = `Usage: custos server [options]

Options (flags > CUSTOS_* environment > --config JSON file > defaults):
  --data DIR               data folder (default ./custos-data)                 CUSTOS_DATA
  --listen HOST:PORT       listen address (default 127.0.0.1:8443; non-loopback needs TLS)   CUSTOS_LISTEN
  --store sqlite|URL       'sqlite' (in the data folder) or postgres://…       CUSTOS_STORE
  --tls-cert FILE          PEM certificate chain                                CUSTOS_TLS_CERT
  --tls-key FILE           PEM private key                                      CUSTOS_TLS_KEY
  --bootstrap-out FILE     on first start, also write the bootstrap token here (mode 0600)   CUSTOS_BOOTSTRAP_OUT
  --log-signing-key FILE   log-signing key (default <data>/log-signing.key)    CUSTOS_LOG_SIGNING_KEY_FILE
  --origin URL             public origin devices sign into auth (default from --listen)     CUSTOS_ORIGIN
  --log-level LEVEL        debug, info, warn or error (default info)           CUSTOS_LOG_LEVEL
  --config FILE            JSON file with any of the settings above            CUSTOS_CONFIG

See docs/operations.md.
`;

/** Runs the server until SIGTERM/SIGINT; resolves to the exit code. */
export async function runServerCommand(args: readonly string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(SERVER_USAGE);
    return 0;
  }
  try {
    const config = loadConfig({ argv: args, env: process.env, cwd: process.cwd() });
    const server = await startServer(config, io);
    await server.closed;
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`custos server: ${e.message}\n`);
      return 1;
    }
    // Start-up faults (port in use, store unreachable): say what, never dump objects that may hold secrets.
    const code = (e as { code?: unknown } | null)?.code;
    const what = e instanceof Error ? e.message : 'unknown error';
    io.stderr.write(`custos server: cannot start: ${typeof code === 'string' ? `${code}: ` : ''}${what}\n`);
    return 1;
  }
}
