/**
 * Writing key material to disk: folders of mode 0700, files of mode 0600 written whole
 * (temporary file, fsync, rename) so a crash never leaves half a key file, and wiping of
 * transient secrets (overwrite with zeros, fsync, unlink) once they are no longer needed.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './defaults.js';

/** Creates `dir` (and parents) and sets it to 0700. */
export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Writes `data` to `path` atomically with mode 0600, creating the folder (0700) if needed. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  mkdirPrivate(dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, PRIVATE_FILE_MODE);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, PRIVATE_FILE_MODE);
  renameSync(tmp, path);
}

/** Overwrites a file with zeros, syncs and removes it; nothing happens when it is absent. */
export function wipeFile(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  const fd = openSync(path, constants.O_WRONLY);
  try {
    if (size > 0) writeSync(fd, Buffer.alloc(size));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
}

/** Removes a folder tree (after its secrets were wiped). */
export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
