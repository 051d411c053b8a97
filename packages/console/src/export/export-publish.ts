/**
 * Writing a built export so that it never looks complete when it is not: every file goes
 * into a hidden staging directory beside the destination, the caller's `beforePublish`
 * runs (the export's audit entry on the server), and only then is the staging directory
 * renamed to the destination — one rename(2), atomic on the same file system. Any failure
 * removes the staging directory; the destination is then untouched (absent, or the empty
 * directory it was).
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExportFile } from './build-export.js';
import { ExportError } from './export-error.js';

/** Mode of every folder of an export (owner only). */
const EXPORT_DIR_MODE = 0o700;
/** Mode of every file of an export (owner only): plaintext and record keys. */
const EXPORT_FILE_MODE = 0o600;

/** Prefix of staging directories (hidden, named after the destination). */
const STAGING_PREFIX = '.custos-export-';

/** The nearest existing folder at or above `path`'s parent. */
function nearestExisting(path: string): string {
  let at = dirname(resolve(path));
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * Refuses a destination that exists and is not an empty directory, or whose missing parent
 * folders could not be made (a file in the way); checked before any work. Missing parents
 * are made at publish time (`exports/2026-017` needs no `mkdir exports` first).
 */
export function checkExportDestination(out: string): void {
  if (!existsSync(out)) {
    const above = nearestExisting(out);
    if (!statSync(above).isDirectory()) {
      throw new ExportError('EXPORT_INVALID_INPUT', `cannot make ${out}: ${above} is not a folder`);
    }
    return;
  }
  if (!statSync(out).isDirectory() || readdirSync(out).length > 0) {
    throw new ExportError(
      'EXPORT_INVALID_INPUT',
      `${out} exists and is not an empty folder; choose a new one`,
    );
  }
}

/** Writes `files` to a staging directory, runs `beforePublish`, renames the directory to `out`. */
export async function publishExport(
  files: readonly ExportFile[],
  out: string,
  beforePublish: () => Promise<void>,
  onFile?: (done: number, total: number) => void,
): Promise<void> {
  checkExportDestination(out);
  const dest = resolve(out);
  mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
  const staging = join(dirname(dest), `${STAGING_PREFIX}${basename(dest)}-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: EXPORT_DIR_MODE });
  try {
    let done = 0;
    for (const f of files) {
      const parts = f.path.split('/');
      if (parts.some((p) => p === '' || p === '.' || p === '..')) {
        throw new ExportError('EXPORT_INVALID_INPUT', `refusing to write the file name ${f.path}`);
      }
      const path = join(staging, ...parts);
      // Owner only, as the ceremony writes its files: an export holds the records' text, its
      // attachments and, in the custody manifest, each record's own key.
      mkdirSync(dirname(path), { recursive: true, mode: EXPORT_DIR_MODE });
      writeFileSync(path, f.bytes, { flag: 'wx', mode: EXPORT_FILE_MODE });
      onFile?.(++done, files.length);
    }
    await beforePublish();
    // An empty destination folder is replaced (rename(2) onto an empty directory needs it gone first).
    if (existsSync(dest)) rmdirSync(dest);
    renameSync(staging, dest);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
