import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSignerKey, signCheckpoint, parseCheckpoint } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport } from './build-export.js';
import { sha256Hex } from './byte-encoding.js';
import { parseCustody, serializeCustody, type CustodyManifest } from './custody-manifest.js';
import { buildTestArchive, mixedEvents, ORIGIN, type TestArchive } from './export-fixtures.test-data.js';
import { ExportError } from './export-error.js';
import { parseFileList, serializeFileList } from './export-files.js';
import { verifyExportDir } from './verify-export-dir.js';

let archive: TestArchive;
const dirs: string[] = [];
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'custos-export-'));
  dirs.push(d);
  return join(d, 'out');
};

beforeAll(async () => {
  archive = await buildTestArchive(mixedEvents(), 3);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function failure(f: () => unknown): ExportError {
  try {
    f();
  } catch (e) {
    if (e instanceof ExportError) return e;
    throw e;
  }
  throw new Error('expected verification to fail');
}

/** Rewrites a JSON export after changing its custody manifest, so only the custody checks can object. */
function rewriteCustody(
  out: string,
  change: (m: CustodyManifest) => CustodyManifest,
  sealed?: Uint8Array,
): void {
  const m = change(parseCustody(readFileSync(join(out, 'custody-manifest.json'))));
  const files = new Map<string, Uint8Array>();
  const list = parseFileList(readFileSync(join(out, 'export-files.json')));
  for (const f of list.files) files.set(f.path, readFileSync(join(out, ...f.path.split('/'))));
  if (sealed !== undefined) files.set('sealed-records.bin', sealed);
  const fixed = {
    ...m,
    sealedRecords: { ...m.sealedRecords, sha256: sha256Hex(files.get('sealed-records.bin')!) },
  };
  const mb = serializeCustody(fixed);
  files.set('custody-manifest.json', mb);
  const doc = JSON.parse(Buffer.from(files.get('export.json')!).toString()) as Record<string, unknown>;
  doc.custodyManifestSha256 = sha256Hex(mb);
  files.set('export.json', Buffer.from(`${JSON.stringify(doc, null, 1)}\n`));
  for (const [p, b] of files) writeFileSync(join(out, ...p.split('/')), b);
  const all = [...files].map(([path, bytes]) => ({ path, bytes }));
  writeFileSync(join(out, 'export-files.json'), serializeFileList('json', sha256Hex(mb), all));
}

describe('custos verify (library)', () => {
  for (const format of ['rsmf', 'eml', 'mbox', 'json', 'pdf'] as const) {
    it(`verifies a ${format} export, and names the file when any one byte of it changes`, async () => {
      const out = fresh();
      const s = await writeExport(archive.input, { format, out });
      const r = verifyExportDir(out, { pinnedLogKey: archive.verifierKey });
      expect(verifyExportDir(join(out, s.files[0]!)).manifestSha256).toBe(s.manifestSha256);
      expect(r).toMatchObject({ format, records: 13, logKeyPinned: true, manifestSha256: s.manifestSha256 });
      for (const f of s.files.filter((p) => p !== 'export-files.json')) {
        const path = join(out, ...f.split('/'));
        const orig = readFileSync(path);
        const bad = Buffer.from(orig);
        bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0x01;
        writeFileSync(path, bad);
        const e = failure(() => verifyExportDir(out));
        expect([e.code, e.subject.file]).toEqual(['FILE_HASH_MISMATCH', f]);
        writeFileSync(path, orig);
      }
      const listPath = join(out, 'export-files.json');
      const list = readFileSync(listPath);
      writeFileSync(listPath, Buffer.concat([list, Buffer.from(' ')]));
      expect(failure(() => verifyExportDir(out)).code).toBe('EXPORT_MALFORMED');
      writeFileSync(listPath, list);
      writeFileSync(join(out, 'extra.txt'), 'x');
      expect(failure(() => verifyExportDir(out)).code).toBe('FILE_UNLISTED');
    }, 60_000);
  }

  it('names a record whose sealed bytes were changed, even when every file hash was recomputed', async () => {
    const out = fresh();
    await writeExport(archive.input, { format: 'json', out });
    const sealed = Buffer.from(readFileSync(join(out, 'sealed-records.bin')));
    const m = parseCustody(readFileSync(join(out, 'custody-manifest.json')));
    const victim = m.records[4]!;
    sealed[victim.offset + victim.size - 3] = sealed[victim.offset + victim.size - 3]! ^ 0x80;
    rewriteCustody(out, (x) => x, sealed);
    const e = failure(() => verifyExportDir(out));
    expect([e.code, e.subject.record]).toEqual(['RECORD_HASH_MISMATCH', victim.hash]);
  });

  it('fails on a checkpoint signed by another key, and on another log key when one is pinned', async () => {
    const out = fresh();
    await writeExport(archive.input, { format: 'json', out });
    const cp = parseCheckpoint(archive.input.records[0]!.log.checkpoint.split('\n\n')[0]! + '\n');
    const forged = signCheckpoint(cp, parseSignerKey(archive.otherSignerKey));
    rewriteCustody(out, (m) => ({ ...m, checkpoints: [forged] }));
    expect(failure(() => verifyExportDir(out)).code).toBe('CHECKPOINT_INVALID');
    // The forger also swaps the export's log key: only a pinned key catches that.
    rewriteCustody(out, (m) => ({ ...m, log: { origin: ORIGIN, verifierKey: archive.otherVerifierKey } }));
    expect(verifyExportDir(out).logKeyPinned).toBe(false);
    const e = failure(() => verifyExportDir(out, { pinnedLogKey: archive.verifierKey }));
    expect(e.code).toBe('LOG_KEY_MISMATCH');
  });

  it('fails on a bad batch signature, a wrong proof and a broken chain', async () => {
    const cases: [string, (m: CustodyManifest) => CustodyManifest][] = [
      [
        'SIGNATURE_INVALID',
        (m) => ({
          ...m,
          batches: m.batches.map((b, i) =>
            i === 0 ? { ...b, signature: Buffer.alloc(64, 1).toString('base64') } : b,
          ),
        }),
      ],
      [
        'PROOF_INVALID',
        (m) => ({
          ...m,
          records: m.records.map((r, i) => (i === 2 ? { ...r, logIndex: r.logIndex + 1 } : r)),
        }),
      ],
      [
        'PROOF_INVALID',
        (m) => ({
          ...m,
          records: m.records.map((r, i) => (i === 3 ? { ...r, loggedAt: r.loggedAt + 1 } : r)),
        }),
      ],
      [
        'RECORD_HEADER_MISMATCH',
        (m) => ({ ...m, records: m.records.map((r, i) => (i === 1 ? { ...r, seq: r.seq + 1 } : r)) }),
      ],
      [
        'RECORD_NOT_SIGNED',
        (m) => ({
          ...m,
          batches: m.batches.map((b, i) => (i === 0 ? { ...b, firstSeq: b.firstSeq + 1 } : b)),
        }),
      ],
    ];
    for (const [code, change] of cases) {
      const out = fresh();
      await writeExport(archive.input, { format: 'json', out });
      rewriteCustody(out, change);
      expect(failure(() => verifyExportDir(out)).code).toBe(code);
    }
  });

  it('refuses to export a record whose proof does not verify', async () => {
    const [first, ...rest] = archive.input.records;
    const bad = { ...first!, log: { ...first!.log, index: first!.log.index + 1 } };
    await expect(
      writeExport({ ...archive.input, records: [bad, ...rest] }, { format: 'rsmf', out: fresh() }),
    ).rejects.toMatchObject({ code: 'PROOF_INVALID' });
  });
});
