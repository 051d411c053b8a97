/** `custos server`: loads the configuration, starts the server, and waits until it stops. */
import { ConfigError, loadConfig, SETTINGS, startServer } from '@custos/server';
import type { CliIo } from './cli.js';

/** Usage of `custos server`, rendered from the server's settings table so it cannot drift. */
export function serverUsage(): string {
  const lines = SETTINGS.map(
    (st) =>
      `  --${st.flag.padEnd(17)} ${st.description}\n${' '.repeat(22)}default ${st.defaultText.replaceAll('`', '')}; env ${st.env}`,
  );
  return [
    'Usage: custos server [options]',
    '',
    'Options (flags > CUSTOS_* environment > --config JSON file > defaults):',
    ...lines,
    `  --config           JSON file with any of the settings above (keys as in docs/operations.md); env CUSTOS_CONFIG`,
    '',
    'See docs/operations.md.',
    '',
  ].join('\n');
}

/** Runs the server until SIGTERM/SIGINT; resolves to the exit code. */
export async function runServerCommand(args: readonly string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(serverUsage());
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
