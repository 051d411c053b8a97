/**
 * The kept-descriptor WAL sync: it syncs the file at the path as it is now — a missing file
 * fails the sync (the store is then poisoned, never silently "durable"), a replaced one is
 * reopened.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeptFileSync } from './wal-sync.js';

describe('KeptFileSync', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('syncs the file at the path as it is now: fails while it is missing, reopens a replaced one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-walsync-'));
    const path = join(dir, 'x-wal');
    const kept = new KeptFileSync();
    await expect(kept.sync(path)).rejects.toThrow(/ENOENT/);
    writeFileSync(path, 'a');
    await kept.sync(path);
    await kept.sync(path);
    rmSync(path);
    await expect(kept.sync(path)).rejects.toThrow(/ENOENT/);
    writeFileSync(path, 'b');
    await kept.sync(path);
    kept.close();
    // Closing twice, or with nothing open, is harmless.
    kept.close();
  });
});
