/**
 * publishExport: the destination appears only after the hook succeeded, complete; a failing
 * hook or file leaves no destination and no staging folder; occupied destinations are refused.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isExportError } from './export-error.js';
import { checkExportDestination, publishExport } from './export-publish.js';

const FILES = [
  { path: 'custody-manifest.json', bytes: new TextEncoder().encode('{}\n') },
  { path: 'rsmf/a_2026-01-05.rsmf', bytes: new Uint8Array([1, 2, 3]) },
];

describe('publishExport', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-publish-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every file, runs the hook before the destination exists, then renames', async () => {
    const out = join(dir, 'export');
    let seenAtHook: string[] | undefined;
    await publishExport(FILES, out, () => {
      seenAtHook = readdirSync(dir);
      return Promise.resolve();
    });
    expect(seenAtHook).toHaveLength(1);
    expect(seenAtHook![0]).toMatch(/^\.custos-export-export-[0-9a-f]{12}$/);
    expect(readdirSync(dir)).toEqual(['export']);
    expect(readFileSync(join(out, 'rsmf', 'a_2026-01-05.rsmf'))).toEqual(Buffer.from([1, 2, 3]));
  });

  it('leaves nothing readable by others: folders 0700, files 0600, whatever the umask', async () => {
    // Files were written with the process umask (0644 under the usual 022): the records' text
    // and, in the custody manifest, each record's own key, readable by every local user.
    const out = join(dir, 'export');
    const before = process.umask(0o022);
    try {
      await publishExport(FILES, out, () => Promise.resolve());
    } finally {
      process.umask(before);
    }
    const mode = (p: string): number => statSync(p).mode & 0o777;
    expect([mode(out), mode(join(out, 'rsmf'))]).toEqual([0o700, 0o700]);
    expect([mode(join(out, 'custody-manifest.json')), mode(join(out, 'rsmf', 'a_2026-01-05.rsmf'))]).toEqual([
      0o600, 0o600,
    ]);
  });

  it('fills an empty destination folder', async () => {
    const out = join(dir, 'empty');
    mkdirSync(out);
    await publishExport(FILES, out, () => Promise.resolve());
    expect(readdirSync(out).sort()).toEqual(['custody-manifest.json', 'rsmf']);
  });

  it('makes missing parent folders of the destination (a guide’s exports/2026-017-rsmf)', async () => {
    const out = join(dir, 'exports', 'matter', 'export');
    expect(() => checkExportDestination(out)).not.toThrow();
    await publishExport(FILES, out, () => Promise.resolve());
    expect(readdirSync(join(dir, 'exports', 'matter'))).toEqual(['export']);
    expect(readdirSync(out).sort()).toEqual(['custody-manifest.json', 'rsmf']);
  });

  it('leaves nothing behind when the hook fails (e.g. the audit entry is refused)', async () => {
    const out = join(dir, 'export');
    await expect(publishExport(FILES, out, () => Promise.reject(new Error('refused')))).rejects.toThrow(
      'refused',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses unsafe file names and occupied destinations', async () => {
    const out = join(dir, 'export');
    const bad = [{ path: '../escape', bytes: new Uint8Array(1) }];
    await expect(publishExport(bad, out, () => Promise.resolve())).rejects.toSatisfy((e) =>
      isExportError(e, 'EXPORT_INVALID_INPUT'),
    );
    expect(readdirSync(dir)).toEqual([]);
    mkdirSync(out);
    writeFileSync(join(out, 'x'), 'x');
    expect(() => checkExportDestination(out)).toThrow(/not an empty folder/);
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => checkExportDestination(join(dir, 'file'))).toThrow(/not an empty folder/);
    expect(() => checkExportDestination(join(dir, 'file', 'export'))).toThrow(/file is not a folder/);
    await expect(publishExport(FILES, out, () => Promise.resolve())).rejects.toSatisfy((e) =>
      isExportError(e, 'EXPORT_INVALID_INPUT'),
    );
  });
});
