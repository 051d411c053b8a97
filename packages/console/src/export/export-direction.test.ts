/**
 * A message's direction in a production (docs/exports.md §2) does not depend on which
 * device's record of it the log holds first. Alice's message is archived by her phone
 * (`sent`), by her laptop as a sync copy (`received`: what the laptop did) and by Bob's phone
 * (`received`); Bob's reply by his phone (`sent`) and by Alice's two devices. With a custodian
 * who took part, a message is outgoing iff the custodian sent it; without one, iff one of its
 * records was archived by a device the log enrols for its sender. RSMF and export.json (the
 * formats that carry a direction) agree, in either record order, and `custos verify`'s text
 * binding re-renders the same files from the sealed records.
 */
import { describe, expect, it } from 'vitest';
import { buildExport } from './build-export.js';
import { parseCustody } from './custody-manifest.js';
import { ALICE, BOB, body, buildTestArchive, CAROL, T0, type TestEvent } from './export-test-support.js';
import { rsmfFileProblems } from './rsmf-check.js';
import { checkExportText } from './text-check.js';

const ORG_CUSTODIAN = 'acme (organisation)';
const m1 = { messageId: 'm1', text: 'Draft attached', sentAt: T0 };
const m2 = { messageId: 'm2', sender: BOB, text: 'Got it', replyTo: 'm1', sentAt: T0 + 60_000 };
const received = { direction: 'received' as const };

/** Every record of m1 and m2, in log order `order` (device names: user-device). */
function events(order: 'sender-first' | 'recipient-first', devices?: readonly string[]): TestEvent[] {
  const of1: TestEvent[] = [
    { device: 'alice-phone', body: body(m1) },
    { device: 'alice-laptop', body: body({ ...m1, ...received }) }, // a sync copy
    { device: 'bob-phone', body: body({ ...m1, ...received }) },
  ];
  const of2: TestEvent[] = [
    { device: 'bob-phone', body: body(m2) },
    { device: 'alice-laptop', body: body({ ...m2, ...received }) },
    { device: 'alice-phone', body: body({ ...m2, ...received }) },
  ];
  const all = order === 'sender-first' ? [...of1, ...of2] : [...of1.reverse(), ...of2.reverse()];
  return devices === undefined ? all : all.filter((e) => devices.includes(e.device));
}

/** m1's and m2's direction in the RSMF and in export.json of the export for `custodian`; checks the text binding. */
async function directions(evs: TestEvent[], custodian: string): Promise<Record<string, string[]>> {
  const archive = await buildTestArchive(evs);
  const input = { ...archive.input, custodian };
  const out: Record<string, string[]> = { m1: [], m2: [] };
  for (const format of ['rsmf', 'json'] as const) {
    const built = await buildExport(input, { format });
    const files = new Map(built.files.map((f) => [f.path, f.bytes]));
    // `custos verify` renders the same files from the sealed records and the export's evidence.
    const m = parseCustody(files.get('custody-manifest.json')!);
    expect(
      checkExportText(m, files.get('sealed-records.bin')!, built.manifestSha256, files).textBinding,
    ).toBe('verified');
    const evsOut: { id: string; direction?: string }[] = [];
    if (format === 'rsmf') {
      for (const [path, bytes] of files)
        if (path.endsWith('.rsmf')) {
          const r = rsmfFileProblems(bytes);
          expect(r.problems).toEqual([]);
          evsOut.push(...(r.contents!.manifest as { events: { id: string; direction?: string }[] }).events);
        }
    } else {
      const doc = JSON.parse(Buffer.from(files.get('export.json')!).toString('utf8')) as {
        conversations: { events: { id: string; direction?: string }[] }[];
      };
      for (const c of doc.conversations) evsOut.push(...c.events);
    }
    for (const id of ['m1', 'm2'] as const) {
      const e = evsOut.filter((x) => x.id === id);
      expect(e, `${format} ${id}`).toHaveLength(1);
      out[id]!.push(`${format}:${e[0]!.direction ?? 'none'}`);
    }
  }
  return out;
}

const both = (d: string): string[] => [`rsmf:${d}`, `json:${d}`];

describe('message direction in an export', () => {
  for (const order of ['sender-first', 'recipient-first'] as const) {
    it(`is relative to the custodian who took part (${order})`, async () => {
      const evs = events(order);
      expect(await directions(evs, ALICE)).toEqual({ m1: both('outgoing'), m2: both('incoming') });
      expect(await directions(evs, BOB)).toEqual({ m1: both('incoming'), m2: both('outgoing') });
    });

    it(`without a custodian in the conversation, follows the archiving devices' users (${order})`, async () => {
      // Every device: each message was archived by a device of its sender.
      expect(await directions(events(order), ORG_CUSTODIAN)).toEqual({
        m1: both('outgoing'),
        m2: both('outgoing'),
      });
      // Alice's laptop's sync copy (`received`) is still Alice's own device; Bob's reply is not.
      expect(await directions(events(order, ['alice-laptop']), CAROL)).toEqual({
        m1: both('outgoing'),
        m2: both('incoming'),
      });
      // Bob's phone alone: Alice's message reached it, Bob's reply left it.
      expect(await directions(events(order, ['bob-phone']), ORG_CUSTODIAN)).toEqual({
        m1: both('incoming'),
        m2: both('outgoing'),
      });
    });
  }
});
