/**
 * Blob content as files in the data folder: `blobs/<2 hex>/<2 hex>/<64 hex>`. A write goes to
 * a temporary file in the same directory, is fsynced, renamed over the final name and the
 * directory fsynced, so a crash leaves either no file or the whole file under its hash.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobId } from '../messaging-records.js';
import type { BlobContentStore } from '../messaging-stores.js';

const BLOB_ID = /^[0-9a-f]{64}$/;

/** BlobContentStore on the local file system. */
export class FsBlobContentStore implements BlobContentStore {
  /** `dir` is the blob folder (created on first write with mode 0700). */
  constructor(private readonly dir: string) {}

  private path(blobId: BlobId): { dir: string; file: string } {
    // The id is checked again here because it becomes a path: no `..`, no separators.
    if (!BLOB_ID.test(blobId)) throw new RangeError('blob id is not 64 lowercase hex digits');
    const dir = join(this.dir, blobId.slice(0, 2), blobId.slice(2, 4));
    return { dir, file: join(dir, blobId) };
  }

  async put(blobId: BlobId, content: Buffer): Promise<void> {
    const { dir, file } = this.path(blobId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await syncDir(dir);
  }

  async get(blobId: BlobId): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(blobId).file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async hold(blobId: BlobId): Promise<boolean> {
    // No lock needed: SQLite runs one transaction at a time, and the sweep removes files
    // only inside one.
    try {
      await access(this.path(blobId).file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async remove(blobId: BlobId): Promise<void> {
    const { dir, file } = this.path(blobId);
    await rm(file, { force: true });
    await syncDir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}

/** Makes a directory's entries (a rename or an unlink in it) durable. */
async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
