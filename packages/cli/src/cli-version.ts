/**
 * The version of the `custos` command: its package's (`@custos/cli` package.json), read at
 * run time from the package folder above this file — the same whichever file runs it: tsc's
 * output (dist/cli-version.js), the bundle (dist/main.js or a chunk in dist/chunks/) or the
 * sources under a test runner.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package whose version this is. */
const PACKAGE_NAME = '@custos/cli';
/** Folders looked in above this file (src/ or dist/, then dist/chunks/). */
const MAX_LEVELS = 4;

/** The version in the `@custos/cli` package.json nearest above this file. */
export function cliVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < MAX_LEVELS; i++) {
    const pkg = readPackage(join(dir, 'package.json'));
    if (pkg?.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    dir = dirname(dir);
  }
  throw new Error(`the ${PACKAGE_NAME} package.json was not found above ${fileURLToPath(import.meta.url)}`);
}

function readPackage(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}
