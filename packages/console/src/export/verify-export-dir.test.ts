import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSignerKey, signCheckpoint, parseCheckpoint } from '@custos/core';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport } from './build-export.js';
import { sha256Hex } from './byte-encoding.js';
import { parseCustody, serializeCustody, type CustodyManifest } from './custody-manifest.js';
import {
  buildTestArchive,
  mixedEvents,
  ORIGIN,
  type TestArchive,
  exportFailure,
} from './export-test-support.js';
import { parseFileList, serializeFileList } from './export-files.js';
import { verifyExportDir } from './verify-export-dir.js';
import { resignEnrolments } from './enrolment-evidence-test-support.js';

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

/** Replaces files of an export and re-lists them, so only the checks after the file list can object. */
function replaceFiles(out: string, change: Record<string, Uint8Array>): void {
  const list = parseFileList(readFileSync(join(out, 'export-files.json')));
  for (const [p, b] of Object.entries(change)) writeFileSync(join(out, ...p.split('/')), b);
  const files = list.files.map((f) => ({
    path: f.path,
    bytes: readFileSync(join(out, ...f.path.split('/'))),
  }));
  const manifest = files.find((f) => f.path === 'custody-manifest.json')!.bytes;
  writeFileSync(
    join(out, 'export-files.json'),
    serializeFileList(list.exportFormat, sha256Hex(manifest), files),
  );
}

/** An .rsmf file with its rsmf.zip replaced by `change(zip)`. */
function withZip(rsmf: string, change: (zip: Uint8Array) => Uint8Array): Uint8Array {
  const at = rsmf.indexOf('\r\n\r\n', rsmf.indexOf('filename="rsmf.zip"')) + 4;
  const end = rsmf.indexOf('\r\n--', at);
  const zip = change(Buffer.from(rsmf.slice(at, end).replace(/\s+/g, ''), 'base64'));
  const b64 = Buffer.from(zip).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(rsmf.slice(0, at) + b64 + rsmf.slice(end));
}

/** A zip change that edits the first event of its RSMF manifest. */
const editFirstEvent =
  (edit: (e: Record<string, unknown>) => void) =>
  (zip: Uint8Array): Uint8Array => {
    const files = unzipSync(zip);
    const m = JSON.parse(Buffer.from(files['rsmf_manifest.json']!).toString()) as {
      events: Record<string, unknown>[];
    };
    edit(m.events[0]!);
    files['rsmf_manifest.json'] = Buffer.from(JSON.stringify(m));
    return zipSync(files);
  };

describe('custos verify (library)', () => {
  for (const format of ['rsmf', 'eml', 'mbox', 'json', 'pdf'] as const) {
    it(`verifies a ${format} export, and names the file when any one byte of it changes`, async () => {
      const out = fresh();
      const s = await writeExport(archive.input, { format, out });
      const r = verifyExportDir(out, { pinnedLogKey: archive.verifierKey });
      expect(verifyExportDir(join(out, s.files[0]!)).manifestSha256).toBe(s.manifestSha256);
      expect(r).toMatchObject({ format, records: 13, logKeyPinned: true, manifestSha256: s.manifestSha256 });
      // Each root as the signed checkpoint note writes it (standard base64) and as the export
      // printed it, so an auditor compares it with the note's text as it stands.
      const notes = parseCustody(readFileSync(join(out, 'custody-manifest.json'))).checkpoints;
      expect(r.checkpoints.map((c) => `${c.origin}\n${c.treeSize}\n${c.rootHash}`)).toEqual(
        notes.map((n) => n.split('\n\n')[0]),
      );
      expect(r.checkpoints.map((c) => `${c.origin} ${c.treeSize} ${c.rootHash}`)).toEqual(s.checkpoints);
      for (const f of s.files.filter((p) => p !== 'export-files.json')) {
        const path = join(out, ...f.split('/'));
        const orig = readFileSync(path);
        const bad = Buffer.from(orig);
        bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0x01;
        writeFileSync(path, bad);
        const e = exportFailure(() => verifyExportDir(out));
        expect([e.code, e.subject.file]).toEqual(['FILE_HASH_MISMATCH', f]);
        writeFileSync(path, orig);
      }
      const listPath = join(out, 'export-files.json');
      const list = readFileSync(listPath);
      writeFileSync(listPath, Buffer.concat([list, Buffer.from(' ')]));
      expect(exportFailure(() => verifyExportDir(out)).code).toBe('EXPORT_MALFORMED');
      writeFileSync(listPath, list);
      writeFileSync(join(out, 'extra.txt'), 'x');
      expect(exportFailure(() => verifyExportDir(out)).code).toBe('FILE_UNLISTED');
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
    const e = exportFailure(() => verifyExportDir(out));
    expect([e.code, e.subject.record]).toEqual(['RECORD_HASH_MISMATCH', victim.hash]);
  });

  it('fails on a checkpoint signed by another key, and on another log key when one is pinned', async () => {
    const out = fresh();
    await writeExport(archive.input, { format: 'json', out });
    const cp = parseCheckpoint(archive.input.records[0]!.log.checkpoint.split('\n\n')[0]! + '\n');
    const forged = signCheckpoint(cp, parseSignerKey(archive.otherSignerKey));
    rewriteCustody(out, (m) => ({ ...m, checkpoints: [forged] }));
    expect(exportFailure(() => verifyExportDir(out)).code).toBe('CHECKPOINT_INVALID');
    // The forger also swaps the export's log key (and re-signs the enrolment evidence's
    // checkpoints with theirs): only a pinned key catches that.
    rewriteCustody(out, (m) => ({ ...m, log: { origin: ORIGIN, verifierKey: archive.otherVerifierKey } }));
    replaceFiles(out, {
      'device-enrolments.json': resignEnrolments(
        readFileSync(join(out, 'device-enrolments.json')),
        archive.otherSignerKey,
      ),
    });
    expect(verifyExportDir(out).logKeyPinned).toBe(false);
    const e = exportFailure(() => verifyExportDir(out, { pinnedLogKey: archive.verifierKey }));
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
      expect(exportFailure(() => verifyExportDir(out)).code).toBe(code);
    }
  });

  it('names the malformed file of an export re-listed with matching hashes (no crash)', async () => {
    const first = (out: string, dir: string, ext: string): string =>
      `${dir}/${readdirSync(join(out, dir), { recursive: true })
        .map(String)
        .find((f) => f.endsWith(ext))!}`;
    type Case = readonly [
      'json' | 'rsmf' | 'eml',
      (out: string) => Record<string, Uint8Array>,
      string,
      RegExp,
    ];
    const cases: Case[] = [
      [
        'json',
        () => ({ 'export.json': Buffer.from('{"custodyManifestSha256":') }),
        'EXPORT_MALFORMED',
        /export\.json is not JSON/,
      ],
      [
        'json',
        () => ({ 'export.json': Buffer.from('null\n') }),
        'MANIFEST_HASH_MISMATCH',
        /export\.json: custodyManifestSha256/,
      ],
      [
        'json',
        (o) => ({ 'custody-manifest.json': readFileSync(join(o, 'custody-manifest.json')).subarray(0, 99) }),
        'EXPORT_MALFORMED',
        /custody manifest is not JSON/,
      ],
      [
        'eml',
        (o) => ({ [first(o, 'eml', '.eml')]: Buffer.from('not a message') }),
        'EXPORT_MALFORMED',
        /\.eml is not a MIME message/,
      ],
      [
        'rsmf',
        (o) => {
          const f = first(o, 'rsmf', '.rsmf');
          const b = readFileSync(join(o, ...f.split('/')));
          return { [f]: b.subarray(0, b.length >> 1) };
        },
        'RSMF_INVALID',
        /\.rsmf: message: multipart body is not closed/,
      ],
      [
        'rsmf',
        (o) => {
          const f = first(o, 'rsmf', '.rsmf');
          return {
            [f]: withZip(readFileSync(join(o, ...f.split('/')), 'utf8'), (z) => z.subarray(0, z.length >> 1)),
          };
        },
        'RSMF_INVALID',
        /rsmf\.zip is not a readable zip/,
      ],
      ...[5, [null], [{ name: 'custos_records', value: 7 }]].map(
        (custom) =>
          [
            'rsmf',
            (o: string) => {
              const f = first(o, 'rsmf', '.rsmf');
              const rsmf = readFileSync(join(o, ...f.split('/')), 'utf8');
              return {
                [f]: withZip(
                  rsmf,
                  editFirstEvent((e) => (e.custom = custom)),
                ),
              };
            },
            'RSMF_INVALID',
            /events\[0\].* custom is not a list of name\/value strings/,
          ] as const satisfies Case,
      ),
    ];
    for (const [format, change, code, message] of cases) {
      const out = fresh();
      await writeExport(archive.input, { format, out });
      replaceFiles(out, change(out));
      const e = exportFailure(() => verifyExportDir(out));
      expect([e.code, e.message]).toEqual([code, expect.stringMatching(message)]);
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
