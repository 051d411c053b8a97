import { unzlibSync } from 'fflate';
import { PDFDocument } from 'pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExport } from './build-export.js';
import { buildTestArchive, mixedEvents, type TestArchive } from './export-test-support.js';
import { header, multipartParts, parseMessage, partBytes, partFileName } from './mime.js';
import { winAnsiSafe } from './pdf-export.js';

let archive: TestArchive;
beforeAll(async () => {
  archive = await buildTestArchive(mixedEvents(), 5);
});

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('EML export', () => {
  it('writes one message per event, threaded by conversation and reply', async () => {
    const built = await buildExport(archive.input, { format: 'eml' });
    const emls = built.files.filter((f) => f.path.endsWith('.eml'));
    const dm = emls
      .filter((f) => f.path.startsWith('eml/dm_alice-bob/'))
      .map((f) => parseMessage(text(f.bytes)));
    // m1, m2, m5 on day one and d2 on day two (edits, reactions, receipts, deletes are folded)
    expect(dm.map((m) => header(m, 'x-custos-event'))).toEqual([
      'message m1',
      'message m2',
      'message m5',
      'message d2',
    ]);
    const [m1, m2, m5] = dm as [
      ReturnType<typeof parseMessage>,
      ReturnType<typeof parseMessage>,
      ReturnType<typeof parseMessage>,
    ];
    const id1 = header(m1, 'message-id')!;
    expect(id1).toMatch(/^<[0-9a-f]{40}@custos\.invalid>$/);
    expect(header(m1, 'in-reply-to')).toBeUndefined();
    expect(header(m2, 'in-reply-to')).toBe(id1); // m2 replies to m1
    expect(header(m2, 'references')).toBe(id1);
    expect(header(m5, 'in-reply-to')).toBe(id1); // thread root
    expect(header(m5, 'x-custos-deleted')).toBeDefined();
    expect(header(m1, 'x-custos-edited')).toBe('1');
    expect(header(m1, 'x-custos-manifest-sha256')).toBe(built.manifestSha256);
    expect(header(m1, 'from')).toBe('"Alice Adams" <acme.alice@custos.invalid>');
    const parts = multipartParts(m1);
    expect(text(partBytes(parts[0]!))).toContain(
      'edited at 09:02:00Z by Alice Adams; before: Hello Bob, the Q1 numbers are attached.',
    );
    expect(partFileName(parts[1]!)).toMatch(/report\.pdf$/);
    expect(text(partBytes(parts[1]!))).toBe('%PDF-1.4 test attachment');
    expect(
      text(
        partBytes(
          parseMessage(text(emls.find((f) => f.path.endsWith('000004.eml') && f.path.includes('dm'))!.bytes)),
        ),
      ),
    ).toContain('日本語');
    // every message of the group thread references the group's first message
    const g = emls.filter((f) => f.path.startsWith('eml/g_team/')).map((f) => parseMessage(text(f.bytes)));
    const root = header(g[0]!, 'message-id');
    for (const m of g.slice(1)) expect(header(m, 'references')).toBe(root);
  });

  it('MBOX holds the same messages, one file per conversation', async () => {
    const built = await buildExport(archive.input, { format: 'mbox' });
    const dm = text(built.files.find((f) => f.path === 'mbox/dm_alice-bob.mbox')!.bytes);
    expect(dm.match(/^From /gm)).toHaveLength(4);
    expect(dm).not.toContain('\r\n');
  });
});

describe('PDF transcript', () => {
  it('is a paginated PDF with the custodian, range and checkpoint, non-Latin text marked', async () => {
    const built = await buildExport(archive.input, { format: 'pdf' });
    const pdf = built.files.find((f) => f.path === 'transcript.pdf')!.bytes;
    expect(text(pdf.subarray(0, 5))).toBe('%PDF-');
    const doc = await PDFDocument.load(pdf);
    expect(doc.getPageCount()).toBeGreaterThanOrEqual(1);
    expect(doc.getTitle()).toBe('Custos archive export - Alice Adams <acme.alice>');
    // The drawn text: inflate every content stream and decode its hex strings (WinAnsi ≈ latin1).
    const raw = Buffer.from(pdf).toString('latin1');
    let shown = '';
    for (const m of raw.matchAll(/stream\r?\n([\s\S]*?)endstream/g)) {
      let ops: string;
      try {
        ops = Buffer.from(unzlibSync(Buffer.from(m[1]!, 'latin1'))).toString('latin1');
      } catch {
        continue;
      }
      for (const h of ops.matchAll(/<([0-9A-Fa-f]*)> Tj/g))
        shown += `${Buffer.from(h[1]!, 'hex').toString('latin1')}\n`;
    }
    expect(shown).toContain('Custodian: Alice Adams <acme.alice>');
    expect(shown).toContain('Log checkpoint: custos.example/acme 13 ');
    expect(shown).toContain('[DELETED]');
    expect(shown).toContain('[EDITED]');
    expect(shown).toContain('[U+65E5][U+672C][U+8A9E]');
    expect(shown).toMatch(/Page 1 of \d+/);
  });

  it('replaces characters outside WinAnsi with a visible code point marker', () => {
    const supported = new Set([...'Hello Ünï'].map((c) => c.codePointAt(0)!));
    expect(winAnsiSafe('Hello 日本 Ünï 👍', supported)).toEqual({
      text: 'Hello [U+65E5][U+672C] Ünï [U+1F44D]',
      replaced: 3,
    });
  });
});
