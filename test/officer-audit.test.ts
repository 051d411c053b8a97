/**
 * End to end, with real processes (docs/officers.md "Audit"): admin acts (users, roles,
 * enrolments, a revocation) and officer acts (a search) happen against a `custos server`;
 * `custos console audit` lists each in words, verified against the signed log, filters by
 * --kind and --since, and keeps the last checkpoint in the profile: a later run checks
 * consistency with it, and a tampered state (a forked root) or a different pinned log key
 * stops the command with exit 1 and nothing stored.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopServer } from './client-support.js';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';

const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 300_000;
const ATTEMPTS = 60;

interface Act {
  index: number;
  time: number;
  actor: string;
  kind: string;
  type: string;
  subject: string | null;
  detail: string | null;
  text: string;
  document: boolean;
  officerIndex?: number;
}
interface AuditOut {
  acts: Act[];
  treeSize: number;
  previousTreeSize?: number;
  outcome: string;
}

describe('officer audit (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let officerDir: string;
  let officer: string[];
  let revoked: string;

  const audit = (args: string[] = []) => custosJson<AuditOut>(['console', 'audit', ...args, ...officer]);
  /** Runs the audit until `pred` holds (acts are listed about a second after their checkpoint). */
  const auditUntil = async (pred: (a: AuditOut) => boolean, args: string[] = []): Promise<AuditOut> => {
    let last: AuditOut | undefined;
    for (let i = 0; i < ATTEMPTS; i++) {
      last = await audit(args);
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last!;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-audit-'));
    org = await cliOrg(dir);
    await inviteAndEnrol(org, 'carol', join(dir, 'carol'));
    const pp = join(dir, 'officer.pass');
    writeFileSync(pp, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    officerDir = join(dir, 'org', 'officers', 'officer-1');
    officer = ['--profile', officerDir, '--passphrase-file', pp];
    const inv = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      'officer-one',
      '--role',
      'officer',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', officerDir]);
    // An admin revokes carol's device; an officer searches.
    const devices = await custosJson<{ devices: { deviceId: string; revokedAt: number | null }[] }>([
      'admin',
      'devices',
      '--user',
      'carol',
      '--profile',
      org.adminProfile,
    ]);
    revoked = devices.devices[0]!.deviceId;
    await custosJson(['admin', 'revoke', revoked, '--profile', org.adminProfile]);
    await custos(['console', 'search', 'anything', ...officer]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'lists admin and officer acts in words, each with its document verified',
    async () => {
      const r = await auditUntil((a) => a.acts.some((x) => x.kind === 'archive-search'));
      const kinds = r.acts.map((a) => a.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'org-create',
          'user-create',
          'enrolment-code-create',
          'device-enrolled',
          'device-revoked',
          'bucket-key-published',
          'archive-search',
        ]),
      );
      // Oldest first, strictly by log index.
      const idx = r.acts.map((a) => a.index);
      expect([...idx].sort((a, b) => a - b)).toEqual(idx);
      // The ceremony's transient device revoked itself too; carol's is the one the admin revoked.
      const rev = r.acts.find((a) => a.kind === 'device-revoked' && a.subject === revoked)!;
      expect(rev).toMatchObject({ subject: revoked, document: true, text: `revoked device ${revoked}` });
      const search = r.acts.find((a) => a.kind === 'archive-search')!;
      expect(search.detail).toMatch(/^buckets=[^ ,]+(,[^ ,]+)* tokens=\d+ results=\d+$/);
      expect(search.text).toContain('searched the archive');
      // The officer's first command bound its device to officer 1 (index 0) before searching:
      // the binding is in the log, and the search names the officer behind it.
      const bind = r.acts.find((a) => a.kind === 'officer-bind')!;
      expect(bind).toMatchObject({
        actor: search.actor,
        subject: search.actor,
        document: true,
        officerIndex: 0,
      });
      expect(bind.detail).toMatch(/^officer=0 statement-sha256=[0-9a-f]{64}$/);
      expect(search.officerIndex).toBe(0);
      expect(
        r.acts.find((a) => a.kind === 'device-revoked' && a.subject === revoked)?.officerIndex,
      ).toBeUndefined();
      // Audit events carry their documents; key registrations are described from their entries.
      for (const a of r.acts) if (a.type === 'audit-event') expect(a.document).toBe(true);
      expect(r.outcome).toBe('first-seen');
      // The human table.
      const human = await custos(['console', 'audit', ...officer]);
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).toContain(`revoked device ${revoked}`);
      expect(human.stdout).toMatch(
        /searched the archive \(buckets=[^ ]+ tokens=\d+ results=\d+\) \[officer 1\]/,
      );
      expect(human.stdout).toContain('each proven in the signed log');
      expect(human.stdout).toContain('consistent with the');
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'filters by kind and date, and checks consistency with the last checkpoint seen',
    async () => {
      const only = await audit(['--kind', 'device-revoked,user-create']);
      expect(new Set(only.acts.map((a) => a.kind))).toEqual(new Set(['device-revoked', 'user-create']));
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      expect((await audit(['--since', tomorrow])).acts).toEqual([]);
      const again = await audit();
      expect(again.previousTreeSize).toBeGreaterThan(0);
      expect(['unchanged', 'extended']).toContain(again.outcome);
      for (const bad of [
        ['--since', '2026-02-30'],
        ['--kind', 'Not A Kind'],
      ]) {
        const r = await custos(['console', 'audit', ...bad, ...officer]);
        expect(r.status, r.stderr).toBe(2);
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'a forked history or another log key stops the command and stores nothing',
    async () => {
      const statePath = join(officerDir, 'audit-log-state.json');
      const good = readFileSync(statePath, 'utf8');
      // The same tree size with another root: the log forked (or the state was tampered with).
      const state = JSON.parse(good) as { rootHash: string; treeSize: number };
      const forged = { ...state, rootHash: Buffer.alloc(32, 1).toString('base64url') };
      writeFileSync(statePath, JSON.stringify(forged, null, 2));
      const forked = await custos(['console', 'audit', ...officer]);
      expect(forked.status).toBe(1);
      expect(forked.stderr).toMatch(/the log forked/);
      expect(JSON.parse(readFileSync(statePath, 'utf8'))).toEqual(forged);
      writeFileSync(statePath, good);
      // A profile that pinned another log key refuses the server's.
      const pinPath = join(officerDir, 'search-log-key.json');
      const pin = readFileSync(pinPath, 'utf8');
      const p = JSON.parse(pin) as { origin: string; verifierKey: string };
      writeFileSync(
        pinPath,
        JSON.stringify({
          ...p,
          verifierKey: `${p.origin}+00000000+${Buffer.alloc(33, 1).toString('base64')}`,
        }),
      );
      const other = await custos(['console', 'audit', ...officer]);
      expect(other.status).toBe(1);
      expect(other.stderr).toContain('the server presents another log key');
      writeFileSync(pinPath, pin);
      // A profile that pinned the log and lost its state says so before it trusts afresh.
      rmSync(statePath);
      const lost = await custos(['console', 'audit', ...officer]);
      expect(lost.status).toBe(0);
      expect(lost.stderr).toMatch(/warning: .*audit-log-state\.json is missing although this profile pinned/);
      const restarted = JSON.parse(readFileSync(statePath, 'utf8')) as { treeSize: number };
      expect(restarted.treeSize).toBeGreaterThanOrEqual(state.treeSize);
    },
    STEP_TIMEOUT_MS,
  );
});
