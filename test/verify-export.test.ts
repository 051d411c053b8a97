/**
 * End to end: `custos verify PATH` as a real process on exports written by the console's
 * export library from records made with real core crypto. A good export verifies (pinned
 * and unpinned); one changed byte, a checkpoint signed by another key and a log key other
 * than the pinned one each exit 1 naming what failed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportTesting, writeExport } from '@custos/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custos } from './cli-support.js';
import { buildCli } from './server-process.js';

let dir: string;
let archive: exportTesting.TestArchive;
let out: string;

beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'custos-verify-export-'));
  archive = await exportTesting.buildTestArchive(exportTesting.mixedEvents(), 4);
  out = join(dir, 'rsmf-export');
  await writeExport(archive.input, { format: 'rsmf', out });
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('custos verify PATH', () => {
  it('verifies an RSMF export against the pinned log key', async () => {
    const r = await custos(['verify', out, '--log-key', archive.verifierKey, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: true, format: 'rsmf', records: 13, logKeyPinned: true, rsmfFiles: 3 });
    const plain = await custos(['verify', out]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain('NOT pinned');
  });

  it('names the file when one byte of the export changed', async () => {
    const f = join(out, 'rsmf', 'g_team_2026-01-05.rsmf');
    const orig = readFileSync(f);
    const bad = Buffer.from(orig);
    bad[200] = bad[200]! ^ 0x20;
    writeFileSync(f, bad);
    try {
      const r = await custos(['verify', out, '--log-key', archive.verifierKey, '--json']);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        code: 'FILE_HASH_MISMATCH',
        file: 'rsmf/g_team_2026-01-05.rsmf',
      });
      expect(r.stderr).toContain('rsmf/g_team_2026-01-05.rsmf does not match its SHA-256');
    } finally {
      writeFileSync(f, orig);
    }
  });

  it('refuses an export proven by a checkpoint of another log key', async () => {
    const other = join(dir, 'other-key');
    await writeExport(
      { ...archive.input, log: { ...archive.input.log, verifierKey: archive.otherVerifierKey } },
      { format: 'json', out: other },
    ).then(
      () => expect.unreachable('the export library checks the checkpoint before writing'),
      (e: { code?: string }) => expect(e.code).toBe('CHECKPOINT_INVALID'),
    );
    const wrongPin = await custos(['verify', out, '--log-key', archive.otherVerifierKey]);
    expect(wrongPin.status).toBe(1);
    expect(wrongPin.stderr).toContain('LOG_KEY_MISMATCH');
  });

  it('exits 2 on a usage error and 1 on a directory that is not an export', async () => {
    expect((await custos(['verify', out, '--bogus'])).status).toBe(2);
    const r = await custos(['verify', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not a Custos export');
  });
});
