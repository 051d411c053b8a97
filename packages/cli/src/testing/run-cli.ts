/** Test support for the CLI's unit tests: `custos` run in-process with its output captured. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll } from 'vitest';
import { runCli } from '../cli.js';

/** What one run printed, and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs `custos args…` in this process; resolves to the exit code and what went to stdout and
 * stderr. With `checkOnly`, the command line is only parsed (CliIo.checkOnly).
 */
export async function cli(
  args: readonly string[],
  opts: { readonly checkOnly?: boolean } = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCli(args, { stdout, stderr, checkOnly: opts.checkOnly === true });
  return { code, out, err };
}

/** A fresh temporary folder, removed after the calling test file's tests. */
export function testFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
