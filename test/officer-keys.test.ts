/**
 * End to end, with real processes (docs/officers.md): a `custos server`, the key ceremony
 * (`custos org create`), the first admin, then an officer enrols a device into their
 * officer profile (`custos console enroll`), lists bucket keys (`custos org buckets`),
 * generates them ahead with a quorum's index-secret shares, seals index keys to devices
 * (`custos console grant-index-keys`; a device opens its key and it equals the one derived
 * from the recovered org index secret), and a quorum re-issues the key-manager delegation
 * (`custos org unlock`). Fewer than m shares, a modified share, a wrong passphrase and a
 * too-short delegation each fail with exit 1 and leave the server and the profile as they were.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deriveBucketIndexKeyBytes } from '@custos/core';
import { openIndexKey } from '@custos/client';
import { unlockRoot, type BucketStatus, type OrgFile } from '@custos/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceKeys } from '../packages/server/src/testing/test-app.js';
import {
  enrolDevice,
  http,
  runCustos,
  startServerProcess,
  type CliRun,
  type ServerProcess,
} from './org-create-support.js';

/** The ceremony and every officer command run the full-strength passphrase KDF: slow on a busy machine. */
const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 300_000;
const PASSPHRASES = ['officer one passphrase', 'officer two passphrase', 'officer three passphrase'];
const ADMIN_PASSPHRASE = 'admin profile passphrase';

function json<T>(r: CliRun): T {
  return JSON.parse(r.stdout) as T;
}

describe('officer keys (processes)', () => {
  let dir: string;
  let server: ServerProcess;
  let acme: string;
  let officer1: string;
  let orgId: string;
  const file = (name: string, lines: readonly string[]): string => {
    const p = join(dir, name);
    writeFileSync(p, `${lines.join('\n')}\n`, { mode: 0o600 });
    return p;
  };
  const officerFlags = (k: number): string[] => [
    '--profile',
    join(acme, 'officers', `officer-${k}`),
    '--passphrase-file',
    file(`officer-${k}.txt`, [PASSPHRASES[k - 1]!]),
  ];
  const admin = (args: string[]): Promise<CliRun> =>
    runCustos([
      ...args,
      '--profile',
      join(dir, 'admin'),
      '--passphrase-file',
      file('admin.txt', [ADMIN_PASSPHRASE]),
    ]);
  const invite = async (name: string, role: string, retention = 'standard'): Promise<string> => {
    const r = await admin([
      'admin',
      'invite',
      '--user',
      name,
      '--role',
      role,
      '--retention',
      retention,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    return json<{ enrolmentCode: string }>(r).enrolmentCode;
  };
  /** The delegation the server holds, read from its database (read-only). */
  const serverDelegation = (): Buffer => {
    const db = new Database(join(server.dataDir, 'custos.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT key_manager_delegation AS d FROM orgs').get() as { d: Buffer }).d;
    } finally {
      db.close();
    }
  };
  const localDelegation = (): string =>
    (JSON.parse(readFileSync(join(officer1, 'org.json'), 'utf8')) as OrgFile).keyManager.delegation;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-keys-'));
    server = await startServerProcess(dir);
    acme = join(dir, 'acme');
    officer1 = join(acme, 'officers', 'officer-1');
    const created = await runCustos([
      'org',
      'create',
      '--server',
      server.url,
      '--bootstrap',
      server.bootstrapToken,
      '--name',
      'Acme Records Agency',
      '--officers',
      '3',
      '--threshold',
      '2',
      '--out',
      acme,
      '--passphrase-file',
      file('ceremony.txt', PASSPHRASES),
      '--json',
    ]);
    expect(created.status, created.stderr).toBe(0);
    orgId = json<{ orgId: string }>(created).orgId;
    const enrolled = await runCustos([
      'enroll',
      '--admin-profile',
      join(acme, 'admin', 'profile.json'),
      '--profile',
      join(dir, 'admin'),
      '--passphrase-file',
      file('admin.txt', [ADMIN_PASSPHRASE]),
    ]);
    expect(enrolled.status, enrolled.stderr).toBe(0);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'prints help and refuses bad command lines with exit 2',
    async () => {
      for (const cmd of [
        ['console', 'enroll'],
        ['console', 'grant-index-keys'],
        ['org', 'unlock'],
        ['org', 'buckets'],
      ]) {
        const h = await runCustos([...cmd, '--help']);
        expect(h.status, cmd.join(' ')).toBe(0);
        expect(h.stdout).toMatch(/^Usage: custos /);
      }
      expect((await runCustos(['org', 'unlock', ...officerFlags(1)])).stderr).toMatch(
        /choose one operation: .*--rotate-root/,
      );
      const noShares = await runCustos(['org', 'buckets', '--ahead', '1', ...officerFlags(1)]);
      expect(noShares.status).toBe(2);
      expect(noShares.stderr).toMatch(/--ahead needs --shares/);
      expect((await runCustos(['console', 'enroll', 'ce1.nope', '--profile', officer1])).status).toBe(2);
      expect((await runCustos(['console', 'nope'])).status).toBe(2);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses officer work before the officer enrols a device',
    async () => {
      const r = await runCustos(['org', 'buckets', ...officerFlags(1)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/no officer device: enrol one with 'custos console enroll CODE/);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'enrols an officer device only with an officer code, once',
    async () => {
      const memberCode = await invite('not-an-officer', 'member');
      const wrongRole = await runCustos(['console', 'enroll', memberCode, '--profile', officer1, '--json']);
      expect(wrongRole.status).toBe(1);
      expect(wrongRole.stderr).toMatch(/role member/);
      expect(existsSync(join(officer1, 'officer-device.json'))).toBe(false);

      const code = await invite('officer-one', 'officer');
      const r = await runCustos(['console', 'enroll', code, '--profile', officer1, '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(json<{ orgId: string; officerIndex: number }>(r)).toMatchObject({ orgId, officerIndex: 0 });
      const device = readFileSync(join(officer1, 'officer-device.json'), 'utf8');
      expect(device).toMatch(/"format": "custos-officer-device"/);
      // Without --json, an officer's invite prints the console enroll line to run (not `custos enroll`).
      const human = await admin(['admin', 'invite', '--user', 'officer-one-b', '--role', 'officer']);
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).not.toMatch(/custos enroll /);
      const printed = /^ {2}custos (console enroll ce1\.\S+) --profile officers\/officer-K$/m.exec(
        human.stdout,
      );
      expect(printed, human.stdout).not.toBeNull();
      const again = await runCustos([...printed![1]!.split(' '), '--profile', officer1]);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/already has an officer device/);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses a wrong officer passphrase',
    async () => {
      const r = await runCustos([
        'org',
        'buckets',
        '--profile',
        officer1,
        '--passphrase-file',
        file('bad.txt', ['not the passphrase']),
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/wrong passphrase/i);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'lists the ceremony buckets with their windows and the officer wraps',
    async () => {
      const r = await runCustos(['org', 'buckets', ...officerFlags(1), '--json']);
      expect(r.status, r.stderr).toBe(0);
      const { buckets } = json<{ buckets: BucketStatus[] }>(r);
      expect(buckets).toHaveLength(6);
      expect(new Set(buckets.map((b) => b.retentionClass))).toEqual(
        new Set(['transitory', 'standard', 'permanent']),
      );
      for (const b of buckets) {
        expect(b).toMatchObject({ officerWrap: 'profile', rootWrap: true });
        expect(b.notBefore).toBeLessThan(b.notAfter);
        expect(b.bucketId).toBe(`${b.retentionClass}-${b.period}`);
      }
      expect(buckets.filter((b) => b.state === 'current')).toHaveLength(3);
      const human = await runCustos(['org', 'buckets', ...officerFlags(1)]);
      expect(human.stdout).toMatch(/^BUCKET\s+CLASS\s+PERIOD\s+WINDOW \(UTC\)/);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'generates bucket keys ahead with a quorum, idempotently',
    async () => {
      const shares = [join(acme, 'shares', 'officer-1'), join(acme, 'shares', 'officer-3')].join(',');
      const pp = file('shares-13.txt', [PASSPHRASES[0]!, PASSPHRASES[2]!]);
      const args = [
        'org',
        'buckets',
        ...officerFlags(1),
        '--ahead',
        '2',
        '--shares',
        shares,
        '--share-passphrase-file',
        pp,
        '--json',
      ];
      const r = await runCustos(args);
      expect(r.status, r.stderr).toBe(0);
      const out = json<{ ahead: { created: string[]; existing: string[] }; buckets: BucketStatus[] }>(r);
      expect(out.ahead.created).toHaveLength(3);
      expect(out.ahead.existing).toHaveLength(6);
      expect(out.buckets).toHaveLength(9);
      expect(out.buckets.every((b) => b.officerWrap === 'profile' && b.rootWrap)).toBe(true);
      expect(r.stderr).toMatch(/wrapped to the root and 3 officers, registered/);
      const again = await runCustos(args);
      expect(again.status, again.stderr).toBe(0);
      expect(json<{ ahead: { created: string[] }; buckets: unknown[] }>(again)).toMatchObject({
        ahead: { created: [] },
        buckets: { length: 9 },
      });
      const org = JSON.parse(readFileSync(join(officer1, 'org.json'), 'utf8')) as OrgFile;
      expect(org.buckets).toHaveLength(9);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'seals index keys to devices that lack them; the device opens the derived key',
    async () => {
      // A transitory member's device, enrolled over HTTP so the test holds its identity key.
      const code = await invite('transitory-member', 'member', 'transitory');
      const keys = deviceKeys(1, 1);
      const headers = await enrolDevice(server.url, orgId, code, keys);
      const deviceId = headers['custos-device']!;

      const r = await runCustos(['console', 'grant-index-keys', ...officerFlags(1), '--json']);
      expect(r.status, r.stderr).toBe(0);
      const grants = json<{ granted: { bucketId: string; deviceId: string }[]; buckets: string[] }>(r);
      const mine = grants.granted.filter((g) => g.deviceId === deviceId).map((g) => g.bucketId);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(mine.every((b) => b.startsWith('transitory-'))).toBe(true);

      const got = await http(server.url, 'GET', '/v1/index-keys', undefined, headers);
      const items = got.json.items as { bucketId: string; blob: string }[];
      expect(items.map((i) => i.bucketId).sort()).toEqual([...mine].sort());
      const root = await unlockRoot(
        [
          join(acme, 'shares', 'officer-2', 'org-index-secret.share.json'),
          join(acme, 'shares', 'officer-3', 'org-index-secret.share.json'),
        ],
        [PASSPHRASES[1]!, PASSPHRASES[2]!],
      );
      for (const it of items) {
        const opened = openIndexKey(
          keys.identity,
          orgId,
          it.bucketId,
          deviceId,
          Buffer.from(it.blob, 'base64url'),
        );
        expect(Buffer.from(opened)).toEqual(
          Buffer.from(deriveBucketIndexKeyBytes(root.indexSecret!, it.bucketId)),
        );
      }
      root.destroy();

      const again = await runCustos(['console', 'grant-index-keys', ...officerFlags(1), '--json']);
      expect(again.status, again.stderr).toBe(0);
      expect(json<{ granted: unknown[]; alreadySealed: number }>(again)).toMatchObject({ granted: [] });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'assigns retention per role: followers move with the role, own classes override, index keys follow, acts logged',
    async () => {
      type RoleRow = { role: string; retentionClass: string; setAt: number | null };
      type UserRow = { name: string | null; retentionClass: string; retentionSource: string };
      // The many admin commands below run as a second admin whose profile needs no passphrase:
      // each command on the first admin's passphrase profile runs the full-strength KDF, and
      // opening a passphrase profile is covered above (the enrolment, the invites) and in
      // cli-messaging. Retention is the same whichever admin sets it.
      const unattended = join(dir, 'retention-admin');
      const enrolled = await runCustos([
        ...['enroll', await invite('retention-admin', 'admin'), '--server', server.url],
        ...['--profile', unattended, '--name', 'retention-admin', '--unattended'],
      ]);
      expect(enrolled.status, enrolled.stderr).toBe(0);
      const admin = (args: string[]): Promise<CliRun> => runCustos([...args, '--profile', unattended]);
      const ok = async <T>(args: string[]): Promise<T> => {
        const r = await admin([...args, '--json']);
        expect(r.status, r.stderr).toBe(0);
        return json<T>(r);
      };
      const roles = async () => (await ok<{ roles: RoleRow[] }>(['admin', 'roles'])).roles;
      const userRow = async (name: string) =>
        (await ok<{ users: UserRow[] }>(['admin', 'users'])).users.find((u) => u.name === name)!;
      expect(await roles()).toEqual(
        ['member', 'admin', 'officer', 'auditor'].map((role) => ({
          role,
          retentionClass: 'standard',
          setAt: null,
        })),
      );

      const set = await ok<{ usersFollowing: number }>([
        'admin',
        'roles',
        'set-retention',
        'member',
        'transitory',
      ]);
      // Every member so far was invited with their own --retention.
      expect(set).toMatchObject({ role: 'member', retentionClass: 'transitory', usersFollowing: 0 });
      const follower = await ok<{ enrolmentCode: string; retentionClass: string; retentionSource: string }>([
        'admin',
        'invite',
        '--user',
        'role-member',
      ]);
      expect(follower).toMatchObject({ retentionClass: 'transitory', retentionSource: 'role' });
      // Invited by this admin: user names live in the inviting admin's profile.
      await ok(['admin', 'invite', '--user', 'own-member', '--role', 'member', '--retention', 'permanent']);
      expect(await userRow('role-member')).toMatchObject({
        retentionClass: 'transitory',
        retentionSource: 'role',
      });
      expect(await userRow('own-member')).toMatchObject({
        retentionClass: 'permanent',
        retentionSource: 'user',
      });
      const listed = await admin(['admin', 'users']);
      expect(listed.stdout).toMatch(/ member +transitory \(role\) +role-member/);
      expect(listed.stdout).toMatch(/ member +permanent +own-member/);

      // The follower's device: its session names the role's class, and it gets only that class's index keys.
      const headers = await enrolDevice(server.url, orgId, follower.enrolmentCode, deviceKeys(1, 1));
      const session = async () => (await http(server.url, 'GET', '/v1/session', undefined, headers)).json;
      const grantedTo = async () => {
        const r = await runCustos(['console', 'grant-index-keys', ...officerFlags(1), '--json']);
        expect(r.status, r.stderr).toBe(0);
        const items = (await http(server.url, 'GET', '/v1/index-keys', undefined, headers)).json.items as {
          bucketId: string;
        }[];
        return items.map((i) => i.bucketId.replace(/-.*/, ''));
      };
      expect(await session()).toMatchObject({ retentionClass: 'transitory' });
      const first = await grantedTo();
      expect(first.length).toBeGreaterThanOrEqual(2);
      expect(new Set(first)).toEqual(new Set(['transitory']));

      // The role's class changes: the follower moves (and gets the new class's keys), the own class stays.
      expect(await ok(['admin', 'roles', 'set-retention', 'member', 'permanent'])).toMatchObject({
        usersFollowing: 1,
      });
      expect(await session()).toMatchObject({ retentionClass: 'permanent' });
      expect(new Set(await grantedTo())).toEqual(new Set(['transitory', 'permanent']));
      expect(await userRow('own-member')).toMatchObject({
        retentionClass: 'permanent',
        retentionSource: 'user',
      });

      // The user's own class overrides the role's; 'role' makes them follow it again.
      expect(await ok(['admin', 'set-retention', 'role-member', 'standard'])).toMatchObject({
        retentionClass: 'standard',
        retentionSource: 'user',
      });
      expect(await session()).toMatchObject({ retentionClass: 'standard' });
      expect(await ok(['admin', 'set-retention', 'role-member', 'role'])).toMatchObject({
        retentionClass: 'permanent',
        retentionSource: 'role',
      });

      // Bad input: a clear error, exit 2 (1 for another org), nothing changed.
      const before = await roles();
      for (const [args, message] of [
        [
          ['admin', 'roles', 'set-retention', 'janitor', 'standard'],
          /ROLE must be one of member, admin, officer, auditor \(not 'janitor'\)/,
        ],
        [
          ['admin', 'roles', 'set-retention', 'member', 'forever'],
          /CLASS must be one of transitory, standard, permanent \(not 'forever'\)/,
        ],
        [['admin', 'roles', 'set-retention', 'member'], /takes a ROLE and a CLASS/],
        [
          ['admin', 'set-retention', 'role-member', 'forever'],
          /CLASS must be one of transitory, standard, permanent, role/,
        ],
      ] as const) {
        const r = await admin([...args]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      const foreignUser = await admin([
        'admin',
        'set-retention',
        `${'a'.repeat(22)}@${'b'.repeat(22)}`,
        'standard',
      ]);
      expect(foreignUser.status).toBe(1);
      expect(foreignUser.stderr).toMatch(/another organisation/);
      // Another org's role, over HTTP with an admin's token: refused by the server.
      const adminHeaders = await enrolDevice(
        server.url,
        orgId,
        await invite('http-admin', 'admin'),
        deviceKeys(1, 1),
      );
      const foreign = await fetch(`${server.url}/v1/orgs/${'c'.repeat(22)}/roles/member/retention`, {
        method: 'PUT',
        headers: { ...adminHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ retentionClass: 'transitory' }),
      });
      expect(foreign.status).toBe(403);
      expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('WRONG_ORG');
      expect(await roles()).toEqual(before);

      // Each change is an audit act in the log, verified by an officer.
      let acts: { kind: string; text: string }[] = [];
      for (let n = 0; n < 60 && acts.length < 4; n++) {
        if (n > 0) await new Promise((r) => setTimeout(r, 500));
        const r = await runCustos([
          'console',
          'audit',
          '--kind',
          'role-retention,user-retention',
          ...officerFlags(1),
          '--json',
        ]);
        expect(r.status, r.stderr).toBe(0);
        acts = json<{ acts: { kind: string; text: string }[] }>(r).acts;
      }
      expect(acts.map((a) => a.kind)).toEqual([
        'role-retention',
        'role-retention',
        'user-retention',
        'user-retention',
      ]);
      expect(acts[0]!.text).toMatch(/retention class of role member to transitory/);
      expect(acts[3]!.text).toMatch(/to permanent \(role\)/);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses fewer than m shares, a modified share, a wrong passphrase and a short delegation; changes nothing',
    async () => {
      const signing = (k: number): string =>
        join(acme, 'shares', `officer-${k}`, 'org-signing-key.share.json');
      const tampered = join(dir, 'tampered.share.json');
      copyFileSync(signing(2), tampered);
      const t = JSON.parse(readFileSync(tampered, 'utf8')) as { ciphertext: string };
      const ct = Buffer.from(t.ciphertext, 'base64');
      ct[0]! ^= 1;
      writeFileSync(tampered, JSON.stringify({ ...t, ciphertext: ct.toString('base64') }));
      const before = { server: serverDelegation(), local: localDelegation() };
      let n = 0;
      const unlock = (shares: string[], passphrases: string[], days = '500') =>
        runCustos([
          'org',
          'unlock',
          ...officerFlags(1),
          '--reissue-delegation',
          '--days',
          days,
          '--shares',
          shares.join(','),
          '--share-passphrase-file',
          file(`unlock-${++n}.txt`, passphrases),
        ]);
      // One at a time: each run derives several full-strength scrypt keys.
      const cases: [() => Promise<CliRun>, RegExp][] = [
        [() => unlock([signing(1)], [PASSPHRASES[0]!]), /1 share\(s\) given, 2 of 3 needed/],
        [
          () => unlock([signing(1), tampered], [PASSPHRASES[0]!, PASSPHRASES[1]!]),
          /tampered\.share\.json: share file was modified/,
        ],
        [
          () => unlock([signing(1), signing(2)], [PASSPHRASES[0]!, 'a wrong passphrase']),
          /officer-2\/org-signing-key\.share\.json: wrong passphrase/,
        ],
        [
          () => unlock([signing(1), signing(2)], [PASSPHRASES[0]!, PASSPHRASES[1]!], '1'),
          /would not extend it/,
        ],
      ];
      for (const [run, message] of cases) {
        const r = await run();
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toMatch(message);
        // MUST NOT echo a passphrase or share ciphertext, whatever failed.
        for (const secret of [...PASSPHRASES, 'a wrong passphrase', t.ciphertext.slice(0, 24)])
          expect(r.stdout + r.stderr).not.toContain(secret);
        expect(serverDelegation()).toEqual(before.server);
        expect(localDelegation()).toBe(before.local);
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    're-issues the key-manager delegation with a quorum',
    async () => {
      const before = serverDelegation();
      const r = await runCustos([
        'org',
        'unlock',
        ...officerFlags(1),
        '--reissue-delegation',
        '--days',
        '600',
        '--shares',
        [join(acme, 'shares', 'officer-2'), join(acme, 'shares', 'officer-3')].join(','),
        '--share-passphrase-file',
        file('shares-23.txt', [PASSPHRASES[1]!, PASSPHRASES[2]!]),
        '--json',
      ]);
      expect(r.status, r.stderr).toBe(0);
      const out = json<{ changed: boolean; notAfter: number }>(r);
      expect(out.changed).toBe(true);
      expect(out.notAfter).toBeGreaterThan(Date.now() + 590 * 86_400_000);
      const after = serverDelegation();
      expect(after).not.toEqual(before);
      expect(localDelegation()).toBe(after.toString('base64url'));
      // The buckets registered under the old delegation still verify under the new one.
      const list = await runCustos(['org', 'buckets', ...officerFlags(1), '--json']);
      expect(list.status, list.stderr).toBe(0);
      expect(json<{ buckets: unknown[] }>(list).buckets).toHaveLength(9);
    },
    STEP_TIMEOUT_MS,
  );
});
