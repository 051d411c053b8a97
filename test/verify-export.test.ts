/**
 * End to end: `custos verify PATH` as a real process on exports written by the console's
 * export library from records made with real core crypto. A good export verifies (pinned
 * and unpinned); one changed byte, a checkpoint signed by another key and a log key other
 * than the pinned one each exit 1 naming what failed. Text binding (custody manifest v2):
 * one changed word in export.json, an RSMF transcript or manifest, or an EML — with every
 * file hash re-listed, as a dishonest exporter would — and swapped record keys each exit 1
 * naming format, file, record and field; a version-1 export verifies with a "not checked" note.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportTesting, writeExport } from '@custos/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custos } from './cli-support.js';

let dir: string;
let archive: exportTesting.TestArchive;
let out: string;

beforeAll(async () => {
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
    expect(j).toMatchObject({
      ok: true,
      format: 'rsmf',
      records: 13,
      logKeyPinned: true,
      rsmfFiles: 3,
      textBinding: 'verified',
      textCompared: ['rsmf'],
    });
    // The root as the signed checkpoint note writes it (base64), in --json and in the text.
    const note = (
      JSON.parse(readFileSync(join(out, 'custody-manifest.json'), 'utf8')) as { checkpoints: string[] }
    ).checkpoints[0]!;
    const [origin, size, root] = note.split('\n');
    expect(j.checkpoints).toEqual([{ origin, treeSize: Number(size), rootHash: root }]);
    const plain = await custos(['verify', out]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain(`Proven against checkpoint ${origin} size ${size} root ${root}.`);
    expect(plain.stdout).toContain('NOT pinned');
    expect(plain.stdout).toContain('the rsmf text is exactly what the sealed records hold');
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

  it('fails naming format, file, record and field when one word of the text changed (hashes re-listed)', async () => {
    const welcome = archive.input.records.find((r) => r.body.text === 'Welcome all')!;
    const hash = Buffer.from(welcome.hash).toString('hex');
    const cases: { format: 'json' | 'rsmf' | 'eml'; edit: (d: string) => string }[] = [
      {
        format: 'json',
        edit: (d) => {
          const f = join(d, 'export.json');
          writeFileSync(f, readFileSync(f, 'utf8').replace('Welcome all', 'Goodbye all'));
          return 'export.json';
        },
      },
      {
        format: 'rsmf',
        edit: (d) => {
          const f = join(d, 'rsmf', 'g_team_2026-01-05.rsmf');
          writeFileSync(
            f,
            exportTesting.editRsmf(readFileSync(f), 'transcript', 'Welcome all', 'Goodbye all'),
          );
          return 'rsmf/g_team_2026-01-05.rsmf';
        },
      },
      {
        format: 'rsmf',
        edit: (d) => {
          const f = join(d, 'rsmf', 'g_team_2026-01-05.rsmf');
          writeFileSync(f, exportTesting.editRsmf(readFileSync(f), 'manifest', 'Welcome all', 'Goodbye all'));
          return 'rsmf/g_team_2026-01-05.rsmf';
        },
      },
      {
        format: 'eml',
        edit: (d) => {
          const rel = readdirSync(join(d, 'eml', 'g_team'))
            .map((n) => `eml/g_team/${n}`)
            .find((p) => readFileSync(join(d, p), 'utf8').includes('Welcome all'))!;
          const f = join(d, rel);
          writeFileSync(f, readFileSync(f, 'utf8').replace('Welcome all', 'Goodbye all'));
          return rel;
        },
      },
    ];
    for (const [i, c] of cases.entries()) {
      const d = join(dir, `tampered-${i}`);
      await writeExport(archive.input, { format: c.format, out: d });
      const file = c.edit(d);
      exportTesting.relistExport(d);
      const r = await custos(['verify', d, '--log-key', archive.verifierKey, '--json']);
      expect(r.status, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        code: 'TEXT_MISMATCH',
        format: c.format,
        file,
        record: hash,
      });
      expect(r.stderr).toContain(`FAILED TEXT_MISMATCH: ${file}`);
    }
  });

  it("fails naming the record when two records' keys are swapped in the manifest", async () => {
    const d = join(dir, 'swapped-keys');
    await writeExport(archive.input, { format: 'json', out: d });
    const f = join(d, 'custody-manifest.json');
    const m = JSON.parse(readFileSync(f, 'utf8')) as { records: { hash: string; recordKey: string }[] };
    const [a, b] = [m.records[1]!, m.records[4]!];
    [a.recordKey, b.recordKey] = [b.recordKey, a.recordKey];
    writeFileSync(f, `${JSON.stringify(m)}\n`);
    exportTesting.relistExport(d);
    const r = await custos(['verify', d, '--json']);
    expect(r.status, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'RECORD_KEY_INVALID', record: a.hash });
  });

  it('still verifies a version-1 manifest and says the text was not checked', async () => {
    const d = join(dir, 'v1');
    await writeExport(archive.input, { format: 'rsmf', out: d, custodyVersion: 1 });
    const r = await custos(['verify', d, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, textBinding: 'not-checked', textCompared: [] });
    const plain = await custos(['verify', d]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain('Text NOT checked: the custody manifest is version 1');
  });

  it('exits 2 on a usage error and 1 on a directory that is not an export', async () => {
    expect((await custos(['verify', out, '--bogus'])).status).toBe(2);
    const r = await custos(['verify', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not a Custos export');
  });
});
