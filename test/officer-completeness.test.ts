/**
 * End to end, with real processes (docs/officers.md, "Completeness and alerts"): a
 * `custos server`, the key ceremony, two users who message each other, and an officer who
 * sets a zero receipt grace (so every relay receipt must already be matched by both
 * devices' archive records) and runs `custos console completeness`: complete, exit 0.
 * Then one archived record row is deleted from the server's SQLite file: the report names
 * the device and the missing sequence number, exits 1, and `custos console alerts` lists
 * the same gap. An officer binding whose signed statement is altered in the server's table is
 * a finding naming its officer-bind act.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosClient } from '@custos/client';
import { requestPath, stopServer } from './client-support.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, type CliOrg } from './cli-support.js';
import { enrolOfficer, type Officer } from './security/officer-support.js';

const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 300_000;
/** How long the report is re-run while the devices' archive uploads arrive (a cap, not an assertion). */
const POLL_CAP_MS = 150_000;
/** How far ahead the officer's clock runs in the silent-device test: past the 3-day policy set below. */
const SILENT_AHEAD_MS = 4 * 86_400_000;

interface Finding {
  id: string;
  kind: string;
  deviceId: string;
  from?: number;
  to?: number;
  evidence?: string[];
}
interface Acknowledged extends Finding {
  acknowledgement: {
    findingId: string;
    reason: string;
    officerIndex: number;
    deviceId: string;
    logIndex: number;
  };
}
interface Report {
  complete: boolean;
  findings: Finding[];
  acknowledged: Acknowledged[];
  acknowledgementProblems: string[];
  policy: { silentAfterMs: number; receiptGraceMs: number; source: string };
  devices: {
    deviceId: string;
    records: number;
    maxSeq: number | null;
    receipts: number;
    recordsWithoutTokens: number;
  }[];
  recordsChecked: number;
  recordsWithoutTokens: number;
}

describe('officer completeness and alerts (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let officer: Officer;
  let alice: string;
  let bob: string;
  let bobAddress: string;
  /** When the dropped-uploads test began (its receipts are the only findings from then on). */
  let droppedAt = 0;
  /** The archive_records row the deleted-row test removes, kept to restore it later (as from a backup). */
  let deletedRow: Record<string, unknown> | undefined;

  const completeness = async (extra: string[] = []) => {
    const r = await custos(['console', 'completeness', ...extra, '--json', ...officer.args]);
    return { code: r.status, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };
  /** Runs `fn` on the server's SQLite file behind its back (waiting out the server's writes). */
  const withServerDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(join(org.server.dataDir, 'custos.sqlite'));
    try {
      db.pragma('busy_timeout = 10000');
      return fn(db);
    } finally {
      db.close();
    }
  };
  /** Deletes record `seq` of `deviceId` from the server's store, as a lost write would; the row it deleted. */
  const deleteRecordRow = (deviceId: string, seq: number): Record<string, unknown> =>
    withServerDb((db) => {
      const where = 'FROM archive_records WHERE org_id = ? AND device_id = ? AND seq = ?';
      const row = db.prepare(`SELECT * ${where}`).get(org.orgId, deviceId, seq) as Record<string, unknown>;
      expect(db.prepare(`DELETE ${where}`).run(org.orgId, deviceId, seq).changes).toBe(1);
      return row;
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-completeness-'));
    org = await cliOrg(dir);
    alice = join(dir, 'alice');
    bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    bobAddress = await inviteAndEnrol(org, 'bob', bob);
    officer = await enrolOfficer(org, dir, [alice, bob]);
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    await custosJson(['contacts', 'add', 'alice', aliceAddress, '--profile', bob]);
    for (const t of ['first', 'second', 'third'])
      await custosJson(['send', '--to', 'bob', t, '--profile', alice]);
    await custosJson(['sync', '--profile', bob]);
    await custosJson(['send', '--to', 'alice', 'reply', '--profile', bob]);
    await custosJson(['sync', '--profile', alice]);
    await custosJson(['sync', '--profile', bob]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'sets the policy (checked against its log entry) and reports a complete archive with exit 0',
    async () => {
      const shown = await custosJson<{ source: string; silentAfterMs: number }>([
        'console',
        'completeness',
        'policy',
        ...officer.args,
      ]);
      expect(shown).toMatchObject({ source: 'default', silentAfterMs: 7 * 86_400_000 });
      const set = await custosJson<{ source: string; receiptGraceMs: number; silentAfterMs: number }>([
        'console',
        'completeness',
        'policy',
        '--silent-after',
        '3d',
        '--grace',
        '0s',
        ...officer.args,
      ]);
      expect(set).toMatchObject({ source: 'log', receiptGraceMs: 0, silentAfterMs: 3 * 86_400_000 });

      let last: Awaited<ReturnType<typeof completeness>> | undefined;
      for (const end = Date.now() + POLL_CAP_MS; Date.now() < end;) {
        last = await completeness();
        if (last.code === 0) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(last!.report.findings).toEqual([]);
      expect(last!.code).toBe(0);
      expect(last!.report.complete).toBe(true);
      expect(last!.report.policy).toMatchObject({ receiptGraceMs: 0, source: 'log' });
      // Alice and Bob each archived their sent and received messages, every receipt matched.
      const archiving = last!.report.devices.filter((d) => d.records > 0);
      expect(archiving.length).toBeGreaterThanOrEqual(2);
      for (const d of archiving) expect(d.receipts).toBeGreaterThan(0);
      expect(last!.report.recordsChecked).toBe(archiving.reduce((n, d) => n + d.records, 0));

      const alerts = await custos(['console', 'alerts', '--json', ...officer.args]);
      expect(alerts.status).toBe(0);
      expect((JSON.parse(alerts.stdout) as { alerts: unknown[] }).alerts).toEqual([]);

      // Daily volume: the checks above read every record through the officer's device; with a
      // daily limit on record reads below that, the device's day is a volume alert, its count
      // summed from the read acts the console verified in the log.
      const strict = await custos(['console', 'alerts', '--daily-reads', '1', '--json', ...officer.args]);
      expect(strict.status).toBe(1);
      const volume = (JSON.parse(strict.stdout) as { alerts: Record<string, unknown>[] }).alerts;
      expect(volume).toEqual([
        expect.objectContaining({
          source: 'volume',
          deviceId: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
          day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
          measure: 'records-read',
          limit: 1,
          uncounted: 0,
        }),
      ]);
      expect(volume[0]!.count).toBeGreaterThanOrEqual(last!.report.recordsChecked);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'a deleted record row: the report names the device and the missing sequence number, exit 1; alerts shows it',
    async () => {
      const before = await completeness();
      const victim = before.report.devices.find((d) => d.records >= 3)!;
      expect(victim).toBeDefined();
      deletedRow = deleteRecordRow(victim.deviceId, 1);

      const after = await completeness();
      expect(after.code).toBe(1);
      expect(after.report.complete).toBe(false);
      const gaps = after.report.findings.filter((f) => f.kind === 'gap');
      const gapId = `gap/${org.orgId}/${victim.deviceId}/1-1`;
      const gap = {
        id: gapId,
        kind: 'gap',
        deviceId: victim.deviceId,
        from: 1,
        to: 1,
        evidence: ['not-served', 'server-report'],
      };
      expect(gaps).toEqual([gap]);
      // Receipts whose only record was the deleted one are unarchived now too; nothing else is named.
      for (const f of after.report.findings) expect(f.deviceId).toBe(victim.deviceId);

      const human = await custos(['console', 'completeness', ...officer.args]);
      expect(human.status).toBe(1);
      expect(human.stdout).toContain(
        `GAP       device ${victim.deviceId}: sequence 1 missing (not-served, server-report) [${gapId}]`,
      );
      expect(human.stdout).toMatch(/INCOMPLETE: \d+ finding\(s\)/);

      const alerts = await custos(['console', 'alerts', '--json', ...officer.args]);
      expect(alerts.status).toBe(1);
      const listed = (JSON.parse(alerts.stdout) as { alerts: (Finding & { source: string })[] }).alerts;
      expect(listed).toContainEqual({ source: 'completeness', ...gap });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'a device whose archive uploads are dropped: the relay receipt of its message is unarchived for that device only',
    async () => {
      // Alice's client, in this process, loses every archive upload (the server never sees them).
      const dropping: typeof fetch = async (input, init) => {
        if (init?.method === 'POST' && requestPath(input) === '/v1/archive/batches') {
          return new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'test: dropped' } }), {
            status: 503,
            headers: { 'content-type': 'application/json' },
          });
        }
        return fetch(input, init);
      };
      const t0 = Date.now();
      droppedAt = t0;
      const c = CustosClient.open(alice, { api: { fetch: dropping } });
      const aliceDevice = c.profile.deviceId;
      const [userId, orgId] = bobAddress.split('@') as [string, string];
      try {
        await c.sendText({ orgId, userId }, 'alice never archives this').catch(() => undefined);
      } finally {
        await c.close().catch(() => undefined);
      }
      await custosJson(['sync', '--profile', bob]);
      const fresh = (r: Report) =>
        r.findings.filter(
          (f): f is Finding & { time: number; sender: string; recipient: string } =>
            f.kind === 'unmatched-receipt' && (f as { time?: number }).time! >= t0,
        );
      // Bob archives the message he received; only Alice's side stays unarchived.
      let last: Awaited<ReturnType<typeof completeness>> | undefined;
      for (const end = Date.now() + POLL_CAP_MS; Date.now() < end;) {
        last = await completeness();
        if (fresh(last.report).every((f) => f.deviceId === aliceDevice)) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(last!.code).toBe(1);
      const found = fresh(last!.report);
      expect(found.every((f) => f.deviceId === aliceDevice)).toBe(true);
      expect(found.some((f) => f.sender === aliceDevice && f.recipient !== aliceDevice)).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'with --since, reports only what happened from then on',
    async () => {
      const all = await completeness();
      expect(all.code).toBe(1);
      expect(all.report.findings.some((f) => f.kind === 'gap')).toBe(true);
      // From the moment the uploads were dropped: that test's unarchived receipts, none of the
      // earlier ones (receipts are cut at --since exactly; gaps by record, with a 10-minute slack).
      const since = new Date(droppedAt).toISOString();
      const recent = await completeness(['--since', since]);
      type Timed = Finding & { time?: number };
      const receipts = (r: Report, keep: (t: number) => boolean) =>
        r.findings.filter((f: Timed) => f.kind === 'unmatched-receipt' && keep(f.time!));
      expect(receipts(all.report, (t) => t < droppedAt).length).toBeGreaterThan(0);
      expect(receipts(recent.report, (t) => t < droppedAt)).toEqual([]);
      const later = receipts(all.report, (t) => t >= droppedAt);
      expect(later.length).toBeGreaterThan(0);
      expect(receipts(recent.report, (t) => t >= droppedAt)).toEqual(later);
      expect(recent.code).toBe(1);
      expect(recent.report.findings.length).toBeLessThan(all.report.findings.length);
      expect(recent.report).toMatchObject({ since: droppedAt });
      // From tomorrow (UTC): no receipt, and no gap the log or the served records show; only the
      // server's own report of the deleted row stays (it carries no time, so --since keeps it).
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const none = await completeness(['--since', tomorrow]);
      const gaps = all.report.findings.filter((f) => f.kind === 'gap');
      expect(gaps.length).toBeGreaterThan(0);
      expect(none.report.findings).toEqual(gaps.map((g) => ({ ...g, evidence: ['server-report'] })));
      expect(none.code).toBe(1);
      expect(none.report).toMatchObject({ since: Date.parse(`${tomorrow}T00:00:00Z`) });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'devices silent beyond the policy: completeness and alerts name them, exit 1',
    async () => {
      // Nobody archives for longer than the 3-day policy: the officer's process runs 4 days
      // ahead (a Node preload in this test, not a setting of the CLI); server and log are untouched.
      const ahead = `const n=Date.now;Date.now=()=>n()+${SILENT_AHEAD_MS};`;
      const env = { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(ahead)}` };
      const now = await completeness();
      expect(now.report.findings.filter((f) => f.kind === 'silent-device')).toEqual([]);

      const r = await custos(['console', 'completeness', '--json', ...officer.args], env);
      expect(r.status, r.stderr).toBe(1);
      const later = JSON.parse(r.stdout) as Report & { checkedAt: number };
      expect(later.checkedAt).toBeGreaterThanOrEqual(Date.now() + SILENT_AHEAD_MS - 600_000);
      const silent = later.findings.filter((f) => f.kind === 'silent-device') as (Finding & {
        silentForMs: number;
        lastRecordAt: number | null;
      })[];
      // Exactly the devices that took part (Alice's and Bob's records and receipts); the officer's never did.
      const archived = later.devices.filter((d) => d.records > 0 || d.receipts > 0).map((d) => d.deviceId);
      expect(archived.length).toBeGreaterThanOrEqual(2);
      expect(silent.map((f) => f.deviceId).sort()).toEqual([...archived].sort());
      for (const f of silent) expect(f.silentForMs).toBeGreaterThan(3 * 86_400_000);
      const human = await custos(['console', 'completeness', ...officer.args], env);
      expect(human.status).toBe(1);
      expect(human.stdout).toMatch(/SILENT {4}device \S+: no archive record for \d+[dhms] \(last /);

      const alerts = await custos(['console', 'alerts', '--json', ...officer.args], env);
      expect(alerts.status).toBe(1);
      const listed = (JSON.parse(alerts.stdout) as { alerts: (Finding & { source: string })[] }).alerts;
      expect(
        listed
          .filter((a) => a.kind === 'silent-device')
          .map((a) => a.deviceId)
          .sort(),
      ).toEqual([...archived].sort());
    },
    STEP_TIMEOUT_MS,
  );

  it('refuses a bad command line with exit 2', async () => {
    expect((await custos(['console', 'completeness', '--since', 'yesterday', ...officer.args])).status).toBe(
      2,
    );
    expect(
      (
        await custos([
          'console',
          'completeness',
          'policy',
          '--grace',
          '5x',
          '--silent-after',
          '1d',
          ...officer.args,
        ])
      ).status,
    ).toBe(2);
    expect((await custos(['console', 'completeness', '--grace', '1h', ...officer.args])).status).toBe(2);
  });

  it(
    'counts the records no search reaches: a device enrolled after the last grant archives without tokens',
    async () => {
      // Every device so far got its index key before it archived anything.
      const before = await completeness();
      expect(before.report.recordsWithoutTokens).toBe(0);
      expect((await custos(['console', 'completeness', ...officer.args])).stdout).not.toContain(
        'NOT SEARCHABLE',
      );

      const carol = join(dir, 'carol');
      const carolAddress = await inviteAndEnrol(org, 'carol', carol);
      const carolDevice = (
        await custosJson<{ devices: { deviceId: string; thisDevice: boolean }[] }>([
          'devices',
          'list',
          '--profile',
          carol,
        ])
      ).devices.find((d) => d.thisDevice)!.deviceId;
      await custosJson(['contacts', 'add', 'carol', carolAddress, '--profile', alice]);
      await custosJson(['send', '--to', 'carol', 'before any grant', '--profile', alice]);
      await custosJson(['sync', '--profile', carol]);
      let last: Awaited<ReturnType<typeof completeness>> | undefined;
      for (const end = Date.now() + POLL_CAP_MS; Date.now() < end;) {
        last = await completeness();
        if ((last.report.devices.find((d) => d.deviceId === carolDevice)?.recordsWithoutTokens ?? 0) > 0)
          break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const carolCount = last!.report.devices.find((d) => d.deviceId === carolDevice)!.recordsWithoutTokens;
      expect(carolCount).toBeGreaterThan(0);
      // Alice holds her key: her copy of the same message is searchable.
      expect(last!.report.recordsWithoutTokens).toBe(carolCount);
      const human = await custos(['console', 'completeness', ...officer.args]);
      expect(human.stdout).toContain(
        `NOT SEARCHABLE: ${carolCount} record(s) of 1 device(s) (${carolDevice} ${carolCount}) carry no search tokens`,
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'acknowledged findings: refused bad input changes nothing; a lost record cannot be acknowledged, only restored; once the rest are acknowledged, exit 0; a new gap fails',
    async () => {
      const before = await completeness();
      expect(before.code).toBe(1);
      expect(before.report.acknowledged).toEqual([]);
      const ids = before.report.findings.map((f) => f.id);
      const gap = before.report.findings.find((f) => f.kind === 'gap' && f.evidence?.includes('not-served'))!;
      expect(gap).toBeDefined();
      const explainable = ids.filter((id) => id !== gap.id);
      expect(explainable.length).toBeGreaterThan(0);
      const first = explainable[0]!;
      const acknowledge = (list: string, reason: string) =>
        custos([
          'console',
          'completeness',
          '--acknowledge',
          list,
          '--reason',
          reason,
          '--json',
          ...officer.args,
        ]);
      const errorOf = (r: { stdout: string }) =>
        (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;

      // Bad input: another org's finding, an empty reason, an unknown id beside a good one. Nothing
      // is sent: the acknowledgement below is the first (a second is refused).
      const foreign = await acknowledge(`gap/SomeOtherOrgId0000000/${gap.deviceId}/1-1`, 'Explained.');
      expect([foreign.status, errorOf(foreign).code]).toEqual([1, 'FINDING_NOT_FOUND']);
      expect(errorOf(foreign).message).toContain('belongs to organisation SomeOtherOrgId0000000');
      const empty = await acknowledge(first, '  ');
      expect([empty.status, errorOf(empty).code]).toEqual([2, 'USAGE']);
      const mixed = await acknowledge(`${first},gap/${org.orgId}/${gap.deviceId}/900-901`, 'Explained.');
      expect([mixed.status, errorOf(mixed).code]).toEqual([1, 'FINDING_NOT_FOUND']);
      expect(errorOf(mixed).message).toContain(
        `no current finding has the id gap/${org.orgId}/${gap.deviceId}/900-901`,
      );
      // The deleted row: the log proves it was archived, so no single officer may explain it away.
      const lost = await acknowledge(gap.id, 'Explained.');
      expect([lost.status, errorOf(lost).code]).toEqual([1, 'FINDING_NOT_ACKNOWLEDGEABLE']);

      // One explained finding; then acknowledging it again is refused.
      const reason = 'Uploads dropped by the test harness; incident T-1 closed.';
      const one = await custosJson<{
        acknowledged: { findingId: string; officerIndex: number; logIndex: number }[];
      }>(['console', 'completeness', '--acknowledge', first, '--reason', reason, ...officer.args]);
      expect(one.acknowledged).toMatchObject([{ findingId: first, officerIndex: 0 }]);
      const again = await acknowledge(first, 'Again.');
      expect([again.status, errorOf(again).code]).toEqual([1, 'FINDING_ACKNOWLEDGED']);
      const partly = await completeness();
      expect(partly.code).toBe(1);
      expect(partly.report.acknowledged.map((f) => f.id)).toEqual([first]);
      expect(partly.report.acknowledged[0]!.acknowledgement).toMatchObject({
        reason,
        officerIndex: 0,
        logIndex: one.acknowledged[0]!.logIndex,
      });
      expect(partly.report.findings.map((f) => f.id)).toEqual(ids.filter((id) => id !== first));

      // Everything else explainable at once: only the lost record still fails.
      const rest = explainable.slice(1);
      if (rest.length > 0)
        expect((await acknowledge(rest.join(','), 'Uploads dropped by the test.')).status).toBe(0);
      const lostOnly = await completeness();
      expect([lostOnly.code, lostOnly.report.findings.map((f) => f.id)]).toEqual([1, [gap.id]]);

      // The record restored (as from a backup): the daily check passes, listing the rest apart.
      expect(deletedRow).toBeDefined();
      withServerDb((db) => {
        const columns = Object.keys(deletedRow!);
        db.prepare(
          `INSERT INTO archive_records (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
        ).run(deletedRow);
      });
      const passing = await completeness();
      expect([passing.code, passing.report.complete, passing.report.findings]).toEqual([0, true, []]);
      // Receipts the restored record answers are no findings any more; the rest stay acknowledged.
      const still = passing.report.acknowledged.map((f) => f.id);
      expect(still.length).toBeGreaterThan(0);
      for (const id of still) expect(explainable).toContain(id);
      expect(passing.report.acknowledgementProblems).toEqual([]);
      const human = await custos(['console', 'completeness', ...officer.args]);
      expect(human.status).toBe(0);
      expect(human.stdout).toContain(`[${still[0]}] — by officer 1 (device `);
      expect(human.stdout).toContain(`Complete but for ${still.length} acknowledged finding(s)`);

      // A new gap: its own finding, covered by no earlier acknowledgement.
      const device = passing.report.devices.find((d) => d.deviceId === gap.deviceId)!;
      deleteRecordRow(gap.deviceId, device.maxSeq!);
      const after = await completeness();
      expect(after.code).toBe(1);
      const fresh = after.report.findings.filter((f) => f.kind === 'gap' && f.deviceId === gap.deviceId);
      expect(fresh.length).toBeGreaterThan(0);
      for (const f of after.report.findings) expect(ids).not.toContain(f.id);
      expect(after.report.findings.some((f) => f.to === device.maxSeq)).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'an officer binding whose signed statement the server alters is a finding naming the act, never acknowledgeable; restored, it is gone',
    async () => {
      const before = await completeness();
      expect(before.report.findings.filter((f) => f.kind === 'officer-binding')).toEqual([]);
      // The officer's device was bound at its first officer command: its statement is in the
      // server's table, and the log's officer-bind act commits to it.
      const bound = withServerDb(
        (db) =>
          db.prepare('SELECT device_id, statement FROM officer_bindings WHERE org_id = ?').all(org.orgId) as {
            device_id: string;
            statement: Buffer;
          }[],
      );
      expect(bound).toHaveLength(1);
      const { device_id: deviceId, statement } = bound[0]!;
      const setStatement = (bytes: Buffer) =>
        withServerDb((db) =>
          db
            .prepare('UPDATE officer_bindings SET statement = ? WHERE org_id = ? AND device_id = ?')
            .run(bytes, org.orgId, deviceId),
        );
      // One byte of the officer's signature changed behind the server's back (the device still
      // acts: the server checks the binding's officer and key, not its statement, per request).
      const altered = Buffer.from(statement);
      altered[altered.length - 1]! ^= 1;
      setStatement(altered);
      try {
        const after = await completeness();
        expect(after.code).toBe(1);
        const found = after.report.findings.filter((f) => f.kind === 'officer-binding') as (Finding & {
          logIndex: number;
          aspect: string;
          problem: string;
        })[];
        expect(found).toEqual([
          expect.objectContaining({
            id: expect.stringMatching(new RegExp(`^officer-binding/${org.orgId}/${deviceId}/\\d+$`)),
            deviceId,
            aspect: 'altered',
            problem: expect.stringContaining('not the one its act commits to'),
          }),
        ]);
        // Nothing else changed.
        expect(after.report.findings.filter((f) => f.kind !== 'officer-binding')).toEqual(
          before.report.findings,
        );
        const human = await custos(['console', 'completeness', ...officer.args]);
        expect(human.status).toBe(1);
        expect(human.stdout).toContain(
          `BINDING   device ${deviceId} (officer-bind act, log ${found[0]!.logIndex}, altered): `,
        );
        const ack = await custos([
          'console',
          'completeness',
          '--acknowledge',
          found[0]!.id,
          '--reason',
          'Looked fine to me.',
          '--json',
          ...officer.args,
        ]);
        expect([ack.status, (JSON.parse(ack.stdout) as { error: { code: string } }).error.code]).toEqual([
          1,
          'FINDING_NOT_ACKNOWLEDGEABLE',
        ]);
      } finally {
        setStatement(statement);
      }
      const restored = await completeness();
      expect(restored.report.findings).toEqual(before.report.findings);
    },
    STEP_TIMEOUT_MS,
  );
});
