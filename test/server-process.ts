/**
 * The real `custos server` process for end-to-end tests that crash and restart it: build
 * the command once, pick a free loopback port, start the server on a data folder and wait
 * for its `Listening on` line, and kill it with SIGKILL.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'packages/cli/dist/main.js');

/**
 * Builds the `custos` command's tsc output, as an operator would (a no-op when up to date).
 * E2E files need not call it: they spawn the bundle (packages/cli/dist/main.js), which the e2e
 * global setup makes from the tsc output of `npm run build` or of the checks' `tsc -b`.
 */
export function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/cli'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts `custos server` on `dataDir` at 127.0.0.1:`port`; resolves once it listens. */
export async function startServerProcess(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'server',
      '--data',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--bootstrap-out',
      join(dataDir, 'bootstrap'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CUSTOS_LOG_LEVEL: 'warn' } },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('Listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return child;
}

/** Kills the process with SIGKILL and waits until it is gone. */
export async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
