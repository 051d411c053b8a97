/**
 * Text binding (custody manifest v2): every format's rendering, built from real sealed
 * records, passes; one changed word in export.json, an RSMF transcript or manifest, an EML
 * or an MBOX message fails naming format, file, record and field; swapped record keys fail
 * naming the record; a version-1 manifest is reported as not checked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExport, type BuiltExport } from './build-export.js';
import { toBase64Url, toHex } from './byte-encoding.js';
import { parseCustody, serializeCustody, type CustodyManifest } from './custody-manifest.js';
import { editRsmf } from './export-tamper-support.js';
import { buildTestArchive, mixedEvents, type TestArchive, exportFailure } from './export-test-support.js';
import type { ExportFormat } from './export-types.js';
import { checkExportText } from './text-check.js';

let archive: TestArchive;
const built = new Map<ExportFormat, BuiltExport>();

beforeAll(async () => {
  archive = await buildTestArchive(mixedEvents(), 3);
  for (const format of ['rsmf', 'eml', 'mbox', 'json', 'pdf'] as const)
    built.set(format, await buildExport(archive.input, { format }));
});

function parts(format: ExportFormat): {
  m: CustodyManifest;
  sealed: Uint8Array;
  sha: string;
  files: Map<string, Uint8Array>;
} {
  const b = built.get(format)!;
  const files = new Map(b.files.map((f) => [f.path, f.bytes]));
  return {
    m: parseCustody(files.get('custody-manifest.json')!),
    sealed: files.get('sealed-records.bin')!,
    sha: b.manifestSha256,
    files,
  };
}

const replaceIn = (b: Uint8Array, from: string, to: string): Uint8Array => {
  const s = Buffer.from(b).toString('utf8');
  expect(s).toContain(from);
  return Buffer.from(s.replace(from, to), 'utf8');
};

const hashOf = (text: string): string => {
  const r = archive.input.records.find((x) => x.body.text === text)!;
  return toHex(r.hash);
};

describe('text binding of a version-2 export', () => {
  it('passes for every format; PDF records are opened but its text is not compared', () => {
    for (const format of ['rsmf', 'eml', 'mbox', 'json'] as const) {
      const p = parts(format);
      // Version 3 (the default) carries the record keys as version 2 does, and gap declarations.
      expect(p.m.version).toBe(3);
      expect(p.m.records.every((r) => typeof r.recordKey === 'string')).toBe(true);
      expect(checkExportText(p.m, p.sealed, p.sha, p.files)).toEqual({
        textBinding: 'verified',
        textCompared: [format],
      });
    }
    const pdf = parts('pdf');
    expect(checkExportText(pdf.m, pdf.sealed, pdf.sha, pdf.files).textBinding).toBe('records-opened');
  });

  it('names the record and field when one word of export.json changes', () => {
    const p = parts('json');
    p.files.set('export.json', replaceIn(p.files.get('export.json')!, 'Welcome all', 'Goodbye all'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.code).toBe('TEXT_MISMATCH');
    expect(e.subject).toMatchObject({ format: 'json', file: 'export.json', record: hashOf('Welcome all') });
    expect(e.subject.field).toMatch(/^records\[\d+\]\.body\.text$/);
  });

  it('names the event in the conversations part of export.json', () => {
    const p = parts('json');
    const s = Buffer.from(p.files.get('export.json')!).toString('utf8');
    // The second occurrence is the conversation event's body (the first is the record's).
    const at = s.indexOf('"Welcome all"', s.indexOf('"Welcome all"') + 1);
    p.files.set('export.json', Buffer.from(`${s.slice(0, at)}"Welcome ALL"${s.slice(at + 13)}`, 'utf8'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject.field).toMatch(/^conversations\[\d+\]\.events\[\d+\]\.body$/);
    expect(e.subject.record).toBe(hashOf('Welcome all'));
  });

  it('names the transcript line and event when an RSMF transcript changes', () => {
    const p = parts('rsmf');
    const file = [...p.files.keys()].find((f) => f.startsWith('rsmf/g_team'))!;
    p.files.set(file, editRsmf(p.files.get(file)!, 'transcript', 'Welcome all', 'Goodbye all'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.code).toBe('TEXT_MISMATCH');
    expect(e.subject).toMatchObject({ format: 'rsmf', file, record: hashOf('Welcome all') });
    expect(e.subject.field).toMatch(/^transcript line \d+$/);
  });

  it('names the manifest field when an RSMF manifest event body changes', () => {
    const p = parts('rsmf');
    const file = [...p.files.keys()].find((f) => f.startsWith('rsmf/g_team'))!;
    p.files.set(file, editRsmf(p.files.get(file)!, 'manifest', 'Welcome all', 'Goodbye all'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject).toMatchObject({ format: 'rsmf', file, record: hashOf('Welcome all') });
    expect(e.subject.field).toMatch(/^rsmf_manifest\.json events\[\d+\]\.body$/);
  });

  it('names an edit’s own record when an RSMF edit’s previous text changes', () => {
    const p = parts('rsmf');
    const file = [...p.files.keys()].find((f) => f.startsWith('rsmf/dm'))!;
    p.files.set(
      file,
      editRsmf(p.files.get(file)!, 'manifest', '"previous":"Hello Bob', '"previous":"Hi Bob'),
    );
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject.field).toMatch(/events\[\d+\]\.edits\[0\]\.previous$/);
    expect(e.subject.record).toBe(hashOf('Hello Bob, the Q1 numbers (revised) are attached.'));
  });

  it('fails when an RSMF file names an event the records do not produce, or a file is missing', () => {
    const p = parts('rsmf');
    const file = [...p.files.keys()].find((f) => f.startsWith('rsmf/g_team'))!;
    const orig = p.files.get(file)!;
    p.files.set(file, editRsmf(orig, 'manifest', '"id":"g2"', '"id":"g2x"'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject).toMatchObject({ format: 'rsmf', file });
    expect(e.message).toContain('event g2x is not one the records produce');
    p.files.delete(file);
    const gone = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(gone.code).toBe('TEXT_MISMATCH');
    expect(gone.message).toMatch(/is in no RSMF file/);
  });

  it('names the EML message and text line when one word of an EML changes', () => {
    const p = parts('eml');
    const [file, bytes] = [...p.files].find(
      ([f, b]) => f.endsWith('.eml') && Buffer.from(b).includes('Welcome all'),
    )!;
    p.files.set(file, replaceIn(bytes, 'Welcome all', 'Goodbye all'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject).toMatchObject({
      format: 'eml',
      file,
      record: hashOf('Welcome all'),
      field: 'text line 1',
    });
  });

  it('names a changed EML header and a missing EML file', () => {
    const p = parts('eml');
    const [file, bytes] = [...p.files].find(
      ([f, b]) => f.endsWith('.eml') && Buffer.from(b).includes('Welcome all'),
    )!;
    p.files.set(file, replaceIn(bytes, '+0000', '+0100'));
    expect(exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files)).subject.field).toBe(
      'header date',
    );
    p.files.delete(file);
    expect(exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files)).subject).toMatchObject({
      field: 'file',
      file,
    });
  });

  it('names the MBOX message when one word changes', () => {
    const p = parts('mbox');
    const [file, bytes] = [...p.files].find(
      ([f, b]) => f.endsWith('.mbox') && Buffer.from(b).includes('Welcome all'),
    )!;
    p.files.set(file, replaceIn(bytes, 'Welcome all', 'Goodbye all'));
    const e = exportFailure(() => checkExportText(p.m, p.sealed, p.sha, p.files));
    expect(e.subject).toMatchObject({ format: 'mbox', record: hashOf('Welcome all'), field: 'text line 1' });
    expect(e.subject.file).toMatch(new RegExp(`^${file} message \\d+$`));
  });

  it('fails naming the record when two records’ keys are swapped, or one is wrong', () => {
    const p = parts('json');
    const recs = [...p.m.records];
    const [a, b] = [recs[2]!, recs[5]!];
    recs[2] = { ...a, recordKey: b.recordKey! };
    recs[5] = { ...b, recordKey: a.recordKey! };
    const swapped: CustodyManifest = { ...p.m, records: recs };
    const e = exportFailure(() => checkExportText(swapped, p.sealed, p.sha, p.files));
    expect(e.code).toBe('RECORD_KEY_INVALID');
    expect(e.subject.record).toBe(a.hash);
    recs[2] = { ...a, recordKey: toBase64Url(new Uint8Array(32)) };
    recs[5] = b;
    expect(
      exportFailure(() => checkExportText({ ...p.m, records: recs }, p.sealed, p.sha, p.files)).code,
    ).toBe('RECORD_KEY_INVALID');
  });

  it('fails when the manifest names another message id than the sealed body', () => {
    const p = parts('json');
    const recs = [...p.m.records];
    recs[0] = { ...recs[0]!, messageId: 'forged' };
    const e = exportFailure(() => checkExportText({ ...p.m, records: recs }, p.sealed, p.sha, p.files));
    expect(e.subject).toMatchObject({
      format: 'custody',
      field: 'records[].messageId',
      record: recs[0].hash,
    });
  });
});

describe('manifest versions', () => {
  it('writes version 1 on request, which is reported as not checked', async () => {
    const b = await buildExport(archive.input, { format: 'json', custodyVersion: 1 });
    const files = new Map(b.files.map((f) => [f.path, f.bytes]));
    const m = parseCustody(files.get('custody-manifest.json')!);
    expect(m.version).toBe(1);
    expect(m.records.some((r) => 'recordKey' in r)).toBe(false);
    expect(checkExportText(m, files.get('sealed-records.bin')!, b.manifestSha256, files)).toEqual({
      textBinding: 'not-checked',
      textCompared: [],
    });
  });

  it('refuses a version-2 export of a record without its key, and a malformed key in a manifest', async () => {
    const records = archive.input.records.map((r, i) => {
      if (i !== 1) return r;
      const { recordKey: _dropped, ...rest } = r;
      return rest;
    });
    await expect(buildExport({ ...archive.input, records }, { format: 'json' })).rejects.toMatchObject({
      code: 'EXPORT_INVALID_INPUT',
    });
    const p = parts('json');
    const bad = serializeCustody({ ...p.m, records: p.m.records.map((r) => ({ ...r, recordKey: 'AAAA' })) });
    expect(() => parseCustody(bad)).toThrow(/recordKey is not base64url of 32 bytes/);
    const v1 = serializeCustody({ ...p.m, version: 1 });
    expect(() => parseCustody(v1)).toThrow(/version-1 manifest has no/);
  });

  it('refuses to build an export whose record key does not open its record', async () => {
    const records = [...archive.input.records];
    records[0] = { ...records[0]!, recordKey: records[1]!.recordKey! };
    await expect(buildExport({ ...archive.input, records }, { format: 'rsmf' })).rejects.toMatchObject({
      code: 'RECORD_KEY_INVALID',
    });
  });
});
