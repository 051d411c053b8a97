/**
 * `custos demo` end to end: the built command runs the whole scenario in a temporary folder
 * (embedded server, two ceremonies, three people) and every device ends with verified
 * receipts and an empty queue. Spawns the built command: run `npx tsc -b` first.
 */
import { describe, expect, it } from 'vitest';
import { custos } from './cli-support.js';

interface DemoOut {
  folder: string | null;
  devices: {
    name: string;
    org: string;
    events: { kind: string; text?: string; attachments?: unknown[] }[];
    archive: { receipts: number; queued: number; waiting: number; refusedBuckets: unknown[] };
  }[];
}

describe('custos demo', () => {
  it('plays the scenario and every device shows verified receipts', async () => {
    const r = await custos(['demo', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/carol's copy of briefing\.txt matches \(digest checked\)/);
    expect(r.stderr).toMatch(/removed from the devices .*: yes; the archive keeps it/);
    const out = JSON.parse(r.stdout) as DemoOut;
    expect(out.folder).toBeNull();
    expect(out.devices.map((d) => `${d.name}@${d.org}`)).toEqual([
      'alice@Example Agency',
      'bob@Example Agency',
      'carol@Partner Agency',
    ]);
    for (const d of out.devices) {
      expect(d.archive.receipts, d.name).toBeGreaterThan(0);
      expect(d.archive.queued, d.name).toBe(0);
      expect(d.archive.waiting, d.name).toBe(0);
      expect(d.archive.refusedBuckets).toEqual([]);
    }
    const kinds = new Set(out.devices.flatMap((d) => d.events.map((e) => e.kind)));
    for (const k of ['message', 'edit', 'delete', 'reaction', 'timer', 'group-update'])
      expect(kinds).toContain(k);
    expect(out.devices[2]!.events.some((e) => (e.attachments?.length ?? 0) > 0)).toBe(true);
  }, 900_000);
});
