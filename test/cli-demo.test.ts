/**
 * `custos demo` end to end: the built command runs the whole scenario in a temporary folder
 * (embedded server, two ceremonies, three people) and every device ends with verified
 * receipts and an empty queue; then the officer act (search, hold, RSMF export, offline verify,
 * completeness) shows each command's real result. Spawns the built command: run `npx tsc -b` first.
 */
import { describe, expect, it } from 'vitest';
import { custos } from './cli-support.js';

interface DemoOut {
  folder: string | null;
  devices: {
    name: string;
    org: string;
    address: string;
    events: {
      kind: string;
      text?: string;
      attachments?: unknown[];
      direction: string;
      archivedBy: { org: string; name: string } | null;
    }[];
    archive: { receipts: number; queued: number; waiting: number; refusedBuckets: unknown[] };
  }[];
  officer: {
    search: { matches: number; first: { text: string | null; proof: string; signature: string } | null };
    hold: { holdId: string; matter: string; custodian: string };
    export: { records: number; files: number; manifestSha256: string };
    verify: {
      ok: boolean;
      records: number;
      rsmfFiles: number;
      manifestSha256: string;
      logKeyPinned: boolean;
    };
    completeness: { complete: boolean; findings: unknown[]; devices: number; recordsChecked: number };
  };
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

    // The officer act: each step is the real command's result.
    const o = out.officer;
    expect(o.search.matches).toBeGreaterThan(0);
    expect(o.search.first?.text ?? '').toMatch(/briefing/i);
    expect(o.search.first).toMatchObject({ proof: 'verified', signature: 'verified' });
    expect(o.hold.holdId).toMatch(/^[A-Za-z0-9_-]{10,}$/);
    expect(o.hold.matter).toBe('DEMO-2026-001');
    const alice = out.devices[0]!.address;
    expect(o.hold.custodian).toBe(alice);
    expect(o.export.records).toBeGreaterThan(0);
    expect(o.verify).toMatchObject({
      ok: true,
      records: o.export.records,
      manifestSha256: o.export.manifestSha256,
      logKeyPinned: true,
    });
    expect(o.verify.rsmfFiles).toBeGreaterThan(0);
    expect(o.completeness).toMatchObject({ complete: true, findings: [] });
    expect(o.completeness.recordsChecked).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/custos verify .*: ok/);
    // F17 across organisations: each side is told who archives what it received.
    const noticesAt = (i: number) =>
      new Set(
        out.devices[i]!.events.filter((e) => e.direction === 'received').map((e) => e.archivedBy?.name),
      );
    expect(noticesAt(2)).toContain('Example Agency');
    expect(noticesAt(0)).toContain('Partner Agency');
    expect(noticesAt(0)).not.toContain(undefined);
  }, 900_000);
});
