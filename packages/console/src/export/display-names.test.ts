/**
 * Officer-supplied display names are untrusted text: in every format a name with CR/LF,
 * quotes, non-ASCII, an encoded-word lookalike or great length shows as itself (controls as
 * U+FFFD), starts no header or transcript line of its own, and the export still verifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExport, writeExport } from './build-export.js';
import { displayOf } from './event-model.js';
import { ALICE, BOB, buildTestArchive, CAROL, mixedEvents, type TestArchive } from './export-test-support.js';
import { header, multipartParts, parseMessage, partBytes, type MimePart } from './mime.js';
import { assertRsmfFile } from './rsmf-check.js';
import { verifyExportDir } from './verify-export-dir.js';

const HOSTILE = new Map([
  [ALICE, 'Alice "Al" \\ Adams\r\nBcc: evil@example.com'],
  [BOB, 'Bób Ørsted, Jr.'],
  [CAROL, `=?UTF-8?B?QWRtaW4=?= ${'C'.repeat(300)}`],
]);
/** How each name must read once decoded: controls shown as U+FFFD, nothing else changed. */
const SHOWN = {
  alice: 'Alice "Al" \\ Adams\ufffd\ufffdBcc: evil@example.com',
  bob: 'Bób Ørsted, Jr.',
  carol: HOSTILE.get(CAROL)!,
};

let archive: TestArchive;
const dirs: string[] = [];
beforeAll(async () => {
  const a = await buildTestArchive(mixedEvents(), 5);
  archive = { ...a, input: { ...a.input, displayNames: HOSTILE } };
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
/** Header text with its RFC 2047 encoded words decoded (adjacent words joined, as RFC 2047 §6.2 says). */
const decoded = (v: string): string =>
  v
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g, (_, b: string) =>
      Buffer.from(b, 'base64').toString('utf8'),
    );
/** What a message's header lines and transcript may never show: a line a name started. */
function expectNoInjectedLines(raw: string, msg: MimePart): void {
  expect(msg.headers.map(([k]) => k)).not.toContain('bcc');
  for (const line of raw.split(/\r?\n/)) {
    expect(line.length).toBeLessThanOrEqual(998);
    expect(line.startsWith('Bcc:')).toBe(false);
  }
}

describe('display names in exports', () => {
  it('shows controls in a name as U+FFFD and leaves other names as they are', () => {
    expect(displayOf(HOSTILE, ALICE)).toBe(SHOWN.alice);
    expect(displayOf(HOSTILE, BOB)).toBe(SHOWN.bob);
    expect(displayOf(HOSTILE, 'acme.nobody')).toBe('acme.nobody');
  });

  it('RSMF: names are encoded in the headers, exact in the manifest, and every file passes the checker', async () => {
    const built = await buildExport(archive.input, { format: 'rsmf' });
    const rsmfs = built.files.filter((f) => f.path.endsWith('.rsmf'));
    const dm = rsmfs.find((f) => f.path.includes('dm_alice-bob'))!;
    for (const f of rsmfs) {
      assertRsmfFile(f.bytes, f.path);
      expectNoInjectedLines(text(f.bytes), parseMessage(text(f.bytes)));
    }
    const msg = parseMessage(text(dm.bytes));
    expect(decoded(header(msg, 'x-rsmf-custodian')!)).toBe(SHOWN.alice);
    // Commas in a name become spaces: the header's list stays one name per comma.
    expect(decoded(header(msg, 'x-rsmf-participants')!)).toBe(`${SHOWN.alice}, Bób Ørsted  Jr.`);
    // A name that looks like an encoded word is itself encoded, so a reader cannot decode it into another name.
    const group = parseMessage(text(rsmfs.find((f) => f.path.includes('g_team'))!.bytes));
    expect(decoded(header(group, 'x-rsmf-participants')!)).toContain(SHOWN.carol);
    const zipPart = multipartParts(msg).find((p) => header(p, 'content-disposition')?.includes('rsmf.zip'))!;
    const manifest = JSON.parse(text(unzipSync(partBytes(zipPart))['rsmf_manifest.json']!)) as {
      participants: { id: string; display: string }[];
    };
    expect(manifest.participants.map((p) => [p.id, p.display])).toEqual([
      [ALICE, SHOWN.alice],
      [BOB, SHOWN.bob],
    ]);
    // The transcript names the sender on the event's own line.
    const transcript = text(partBytes(multipartParts(msg)[0]!));
    expect(transcript).toContain(`] ${SHOWN.alice} <acme.alice> [EDITED]: Hello Bob`);
    for (const line of transcript.split(/\r?\n/)) expect(line.startsWith('Bcc:')).toBe(false);
  });

  it('EML and MBOX: a name is the From display part (quoted or RFC 2047), the address stays id-based', async () => {
    const eml = await buildExport(archive.input, { format: 'eml' });
    const froms = new Set<string>();
    for (const f of eml.files.filter((x) => x.path.endsWith('.eml'))) {
      const msg = parseMessage(text(f.bytes));
      expectNoInjectedLines(text(f.bytes), msg);
      froms.add(header(msg, 'from')!);
    }
    const from = [...froms];
    // Alice's name has controls, so it is encoded; Bob's is non-ASCII; Carol's looks like an
    // encoded word, so it is quoted rather than left for a mail reader to decode.
    const alice = from.find((v) => v.endsWith('<acme.alice@custos.invalid>'))!;
    expect(alice).toMatch(/^=\?UTF-8\?B\?/);
    expect(decoded(alice)).toBe(`${SHOWN.alice} <acme.alice@custos.invalid>`);
    const bob = from.find((v) => v.endsWith('<acme.bob@custos.invalid>'))!;
    expect(decoded(bob)).toBe(`${SHOWN.bob} <acme.bob@custos.invalid>`);
    const carol = from.find((v) => v.endsWith('<acme.carol@custos.invalid>'))!;
    expect(carol.startsWith(`"=?UTF-8?B?QWRtaW4=?= CCC`)).toBe(true);
    const mbox = await buildExport(archive.input, { format: 'mbox' });
    for (const f of mbox.files.filter((x) => x.path.endsWith('.mbox')))
      for (const line of text(f.bytes).split('\n')) expect(line.startsWith('Bcc:')).toBe(false);
  });

  it('JSON keeps the exact names; the PDF shows them with controls marked and long ones wrapped', async () => {
    const json = await buildExport(archive.input, { format: 'json' });
    const doc = JSON.parse(text(json.files.find((f) => f.path === 'export.json')!.bytes)) as {
      displayNames: Record<string, string>;
    };
    expect(doc.displayNames[ALICE]).toBe(HOSTILE.get(ALICE));
    const pdf = await buildExport(archive.input, { format: 'pdf' });
    const loaded = await PDFDocument.load(pdf.files.find((f) => f.path === 'transcript.pdf')!.bytes);
    expect(loaded.getTitle()).toBe(`Custos archive export - ${SHOWN.alice} <${ALICE}>`);
  });

  it('every format with these names still verifies: names are rendering context, not signed content', async () => {
    for (const format of ['rsmf', 'eml', 'mbox', 'json', 'pdf'] as const) {
      const d = mkdtempSync(join(tmpdir(), 'custos-names-export-'));
      dirs.push(d);
      const out = join(d, 'out');
      const s = await writeExport(archive.input, { format, out });
      expect(verifyExportDir(out, { pinnedLogKey: archive.verifierKey }).manifestSha256).toBe(
        s.manifestSha256,
      );
    }
  });
});
