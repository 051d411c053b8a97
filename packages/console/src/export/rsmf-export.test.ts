import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExport, type BuiltExport } from './build-export.js';
import {
  ALICE,
  BOB,
  body,
  buildTestArchive,
  CAROL,
  mixedEvents,
  T0,
  type TestArchive,
} from './export-test-support.js';
import { rsmfFileProblems, rsmfManifestProblems } from './rsmf-check.js';

const schema = JSON.parse(
  readFileSync(new URL('./fixtures/rsmf/rsmf_schema_2_0_0.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

interface Ev {
  id: string;
  type: string;
  participant?: string;
  parent?: string;
  deleted?: boolean;
  direction?: string;
  edits?: { previous: string; new: string }[];
  reactions?: { value: string; count: number; participants: string[] }[];
  read_receipts?: { participant: string; action: string }[];
  attachments?: { id: string }[];
  custom?: { name: string; value: string }[];
  body?: string;
}

function rsmfOf(built: BuiltExport): {
  name: string;
  bytes: Uint8Array;
  manifest: { events: Ev[]; conversations: { id: string; type: string; participants: string[] }[] };
  zip: Record<string, Uint8Array>;
}[] {
  return built.files
    .filter((f) => f.path.endsWith('.rsmf'))
    .map((f) => {
      const r = rsmfFileProblems(f.bytes);
      expect(r.problems, f.path).toEqual([]);
      const zipB64 = Buffer.from(f.bytes)
        .toString('utf8')
        .split('filename="rsmf.zip"')[1]!
        .split('\r\n\r\n')[1]!
        .split('--')[0]!;
      const zip = unzipSync(Buffer.from(zipB64.replace(/\s+/g, ''), 'base64'));
      return { name: f.path, bytes: f.bytes, manifest: r.contents!.manifest as never, zip };
    });
}

describe('RSMF export', () => {
  let archive: TestArchive;
  let built: BuiltExport;
  beforeAll(async () => {
    archive = await buildTestArchive(mixedEvents(), 3);
    built = await buildExport(archive.input, { format: 'rsmf' });
  });

  it('writes one file per conversation and day, each valid against the 2.0 schema and the referential checks', () => {
    const files = rsmfOf(built);
    expect(files.map((f) => f.name).sort()).toEqual([
      'rsmf/dm_alice-bob_2026-01-05.rsmf',
      'rsmf/dm_alice-bob_2026-01-06.rsmf',
      'rsmf/g_team_2026-01-05.rsmf',
    ]);
    for (const f of files) {
      const ok = validate(f.manifest);
      expect(validate.errors ?? [], f.name).toEqual([]);
      expect(ok).toBe(true);
      expect(rsmfManifestProblems(f.manifest, new Set(Object.keys(f.zip)))).toEqual([]);
    }
  });

  it('maps edits, deletes, reactions, replies, receipts, attachments and the archive notice', () => {
    const dm = rsmfOf(built).find((f) => f.name.includes('dm_alice-bob_2026-01-05'))!;
    const ev = new Map(dm.manifest.events.map((e) => [e.id, e]));
    expect(dm.manifest.events[0]!.type).toBe('disclaimer');
    expect(dm.manifest.conversations[0]!.type).toBe('direct');
    const m1 = ev.get('m1')!;
    expect(m1.body).toBe('Hello Bob, the Q1 numbers (revised) are attached.');
    expect(m1.edits).toEqual([
      expect.objectContaining({ previous: 'Hello Bob, the Q1 numbers are attached.', new: m1.body }),
    ]);
    expect(m1.reactions).toEqual([{ value: '👍', count: 1, participants: [BOB] }]);
    expect(m1.read_receipts).toEqual([expect.objectContaining({ participant: BOB, action: 'read' })]);
    expect(m1.attachments).toHaveLength(1);
    expect(dm.zip[m1.attachments![0]!.id]).toBeDefined();
    expect(Buffer.from(dm.zip[m1.attachments![0]!.id]!).toString()).toBe('%PDF-1.4 test attachment');
    const m2 = ev.get('m2')!;
    expect(m2.parent).toBe('m1');
    expect(m2.direction).toBe('incoming');
    // archived by Alice's phone and Bob's laptop: one event, both records named
    expect(m2.custom!.find((c) => c.name === 'custos_records')!.value.split(' ')).toHaveLength(2);
    expect(ev.get('m5')!.deleted).toBe(true);
    expect(ev.get('m5')!.body).toBe('Ignore the previous figure.');
    expect(ev.get('m1')!.deleted).toBe(false);
    // modifiers are folded, not separate events
    for (const id of ['m3', 'm4', 'm6', 'm7']) expect(ev.has(id)).toBe(false);
    const text = rsmfFileProblems(dm.bytes).contents!.transcript;
    expect(text).toContain('[DELETED]');
    expect(text).toContain('[EDITED]');
    expect(text).toContain('Alice Adams <acme.alice>');
  });

  it('maps group joins, leaves and renames in a channel conversation', () => {
    const g = rsmfOf(built).find((f) => f.name.includes('g_team'))!;
    expect(g.manifest.conversations[0]!.type).toBe('channel');
    const types = g.manifest.events.map((e) => `${e.type}:${e.participant ?? ''}`);
    expect(types).toEqual([
      'disclaimer:',
      `history:${ALICE}`,
      `join:${ALICE}`,
      `join:${BOB}`,
      `join:${CAROL}`,
      `message:${ALICE}`,
      `leave:${CAROL}`,
      `history:${ALICE}`,
    ]);
    expect(g.manifest.events.at(-1)!.body).toContain(
      'renamed the group from “Deal team” to “Deal team (closed)”',
    );
    expect(g.manifest.events.find((e) => e.type === 'leave')!.body).toBe('left');
  });

  it('puts counts, dates, checkpoint and manifest hash in the X-RSMF headers', () => {
    for (const f of rsmfOf(built)) {
      const h = rsmfFileProblems(f.bytes).contents!.headers;
      expect(h.get('x-rsmf-version')).toBe('2.0.0');
      expect(h.get('x-rsmf-eventcount')).toBe(String(f.manifest.events.length));
      expect(h.get('x-rsmf-custos-manifest-sha256')).toBe(built.manifestSha256);
      expect(h.get('x-rsmf-custos-checkpoint')).toMatch(/^custos\.example\/acme 13 [A-Za-z0-9+/]{43}=$/);
      expect(h.get('x-rsmf-custodian')).toBe('Alice Adams');
    }
  });

  it('the checks fail on a manifest with a dangling reference or a missing file', () => {
    const dm = rsmfOf(built).find((f) => f.name.includes('2026-01-05') && f.name.includes('dm'))!;
    const m = structuredClone(dm.manifest) as { events: Ev[] };
    m.events[1]!.participant = 'acme.nobody';
    expect(rsmfManifestProblems(m, new Set(Object.keys(dm.zip)))).toEqual([
      expect.stringContaining('"acme.nobody" is not a participant'),
    ]);
    expect(rsmfManifestProblems(dm.manifest, new Set(['rsmf_manifest.json']))).toEqual([
      expect.stringContaining('not in the zip'),
    ]);
    const tampered = Buffer.from(dm.bytes)
      .toString('utf8')
      .replace(/X-RSMF-EventCount: \d+/, 'X-RSMF-EventCount: 99');
    expect(rsmfFileProblems(Buffer.from(tampered)).problems).toEqual([
      expect.stringContaining('X-RSMF-EventCount 99'),
    ]);
  });

  it('splits a day at 10,000 events', async () => {
    const events = Array.from({ length: 10_001 }, (_, i) => ({
      device: 'alice-phone',
      body: body({ messageId: `s${i}`, text: `message ${i}`, sentAt: T0 + i }),
    }));
    const big = await buildTestArchive(events, 1_000);
    const out = await buildExport(big.input, { format: 'rsmf' });
    const files = rsmfOf(out);
    expect(files.map((f) => f.name)).toEqual([
      'rsmf/dm_alice-bob_2026-01-05_part1.rsmf',
      'rsmf/dm_alice-bob_2026-01-05_part2.rsmf',
    ]);
    expect(files.map((f) => f.manifest.events.length)).toEqual([10_000, 3]);
    for (const f of files) {
      expect(validate(f.manifest)).toBe(true);
      expect(f.manifest.events[0]!.type).toBe('disclaimer');
    }
    const messages = files.flatMap((f) =>
      f.manifest.events.filter((e) => e.type === 'message').map((e) => e.id),
    );
    expect(new Set(messages).size).toBe(10_001);
  }, 120_000);
});
