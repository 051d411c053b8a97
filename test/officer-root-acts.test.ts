/**
 * End to end, with real processes (docs/officers.md §5, docs/keys.md §5): the root acts a
 * quorum performs with `custos org unlock`. Rotating the key-manager key: too few shares
 * change nothing; a rotation the org key did not sign is refused by the server; a quorum
 * rotates, generates buckets ahead under the new key (the current month too), an enrolled
 * device picks up the new delegation at its next sync and seals its next records to a bucket
 * signed by the new key, and the officer's console still opens and verifies the records
 * sealed before and after the rotation. Adding an officer (`custos org officers add`): too few
 * shares, a wrong passphrase or a tampered share change nothing; a quorum adds officer 3, who
 * enrols, searches, and unlocks with the new shares. Removing officer 2 (`… remove --user`):
 * the removed officer's profile is then refused by the server. Rotating the root archive key
 * (`custos org unlock --rotate-root`, docs/keys.md §6.1): too few shares, a wrong passphrase or
 * a tampered share change nothing; a run interrupted after writing the new shares resumes; the
 * old shares then open no root wrap the server holds while the new ones open all; old records
 * still search, export and verify; another officer adopts the new root; new buckets wrap to it.
 *
 * Standing criteria (docs/officers.md "Legal holds", "Lexicon rules"): a lexicon rule and a
 * query hold made before the rotation are extended by `custos org buckets --ahead` to the new
 * key's buckets, so the message sealed to a new bucket is queued for review and held. Officer
 * lists (§5): after another officer's `org officers add|remove`, an officer's next command
 * adopts the newer signed list into its org.json; a list that does not verify is refused, and
 * so is an older list the server serves while the log's last officers-change act names the newer.
 * The rule and hold predate officer 3, so they hold no seal for them: officer 3's `org buckets
 * --ahead` cannot extend them and says to run `custos console reseal`; a rule whose signature
 * fails stops that step; after officer 1's reseal, officer 3's `grant-index-keys` extends both
 * to the buckets officer 3 made.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealKeyManagerDelegation } from '@custos/core';
import Database from 'better-sqlite3';
import { CustosClient } from '@custos/client';
import {
  isConsoleError,
  openOfficerSession,
  rotateRootKey,
  SigningKey,
  unlockRoot,
  unwrapKeyManagerKey,
  unwrapWithRoot,
} from '@custos/console';
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
import { editJson, startLyingRelay, type LyingRelay } from './lying-relay.js';

/** The ceremony and officer commands run the full-strength passphrase KDF: slow on a busy machine. */
const SETUP_TIMEOUT_MS = 900_000;
/** A hang guard only: the add and remove steps each run several commands that open and seal ~20
 * full-strength KDF share files (about 2 minutes each on a loaded 2-core machine). */
const STEP_TIMEOUT_MS = 600_000;
/** Attempts while waiting for the indexer (a record is searchable about a second after its checkpoint). */
const INDEX_ATTEMPTS = 60;

interface Match {
  text?: string;
  deviceId: string;
  logIndex: number;
  proof: string;
  signature: string;
}

describe('root acts: key-manager rotation, adding and removing officers (processes)', () => {
  let dir: string;
  let org: CliOrg;
  /** The server's public address, through which it can lie (lying-relay.ts). */
  let relay: LyingRelay;
  let alice: string;
  let bob: string;
  let officer: string[];
  let officerDir: string;
  let sharesArgs: string[];
  let officerTwoUser: string;
  /** The lexicon rule and query hold made before the rotation (and before officer 3). */
  let ruleId: string;
  let holdId: string;
  let n = 0;
  const passFile = (lines: readonly string[]): string => {
    const p = join(dir, `pass-${++n}.txt`);
    writeFileSync(p, `${lines.join('\n')}\n`, { mode: 0o600 });
    return p;
  };
  const serverOfficers = (): number[] =>
    serverDb((db) =>
      (
        db.prepare('SELECT officer_index AS i FROM org_officers ORDER BY officer_index').all() as {
          i: number;
        }[]
      ).map((r) => r.i),
    );
  const enrolOfficer = async (name: string, profile: string): Promise<string> => {
    const inv = await custosJson<{ enrolmentCode: string; address: string }>([
      'admin',
      'invite',
      '--user',
      name,
      '--role',
      'officer',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', profile]);
    return inv.address.split('@')[0]!;
  };

  const serverDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(join(org.server.dataDir, 'custos.sqlite'), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const serverDelegation = (): Buffer =>
    serverDb((db) => (db.prepare('SELECT key_manager_delegation AS d FROM orgs').get() as { d: Buffer }).d);
  const bucketOf = (logIndex: number): string =>
    serverDb(
      (db) =>
        (
          db.prepare('SELECT bucket_id AS b FROM archive_records WHERE log_index = ?').get(logIndex) as {
            b: string;
          }
        ).b,
    );
  const searchUntil = async (query: string, want: number): Promise<Match[]> => {
    let last: Match[] = [];
    for (let i = 0; i < INDEX_ATTEMPTS; i++) {
      last = (await custosJson<{ matches: Match[] }>(['console', 'search', query, ...officer])).matches;
      if (last.length >= want) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  };
  const refresh = async (profiles: readonly string[]): Promise<void> => {
    for (const p of profiles) {
      const c = CustosClient.open(p);
      try {
        await c.refreshKeys();
      } finally {
        await c.close();
      }
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-root-acts-'));
    relay = await startLyingRelay();
    org = await cliOrg(dir, undefined, {}, relay);
    alice = join(dir, 'alice');
    bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    const pp = join(dir, 'officer.pass');
    writeFileSync(pp, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    const shp = join(dir, 'shares.pass');
    writeFileSync(shp, `${OFFICER_PASSPHRASE}\n${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    officerDir = join(dir, 'org', 'officers', 'officer-1');
    officer = ['--profile', officerDir, '--passphrase-file', pp];
    sharesArgs = [
      '--shares',
      [join(dir, 'org', 'shares', 'officer-1'), join(dir, 'org', 'shares', 'officer-2')].join(','),
      '--share-passphrase-file',
      shp,
    ];
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
    officerTwoUser = await enrolOfficer('officer-two', join(dir, 'org', 'officers', 'officer-2'));
    await custosJson(['console', 'grant-index-keys', ...officer]);
    await refresh([alice, bob]);
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    await custosJson(['contacts', 'add', 'alice', aliceAddress, '--profile', bob]);
    await custosJson(['send', '--to', 'bob', 'budget before the rotation', '--profile', alice]);
    await custosJson(['sync', '--profile', bob]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    await relay?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'refuses a rotation with too few shares, and one the org key did not sign; nothing changes',
    async () => {
      const before = serverDelegation();
      const one = await custos([
        'org',
        'unlock',
        '--rotate-key-manager',
        ...officer,
        '--shares',
        join(dir, 'org', 'shares', 'officer-1'),
        '--share-passphrase-file',
        join(dir, 'officer.pass'),
      ]);
      expect(one.status, one.stderr).toBe(1);
      expect(one.stderr).toMatch(/1 share\(s\) given, 2 of 2 needed/);
      // A forged rotation sent straight to the route by an officer device.
      const session = await openOfficerSession(officerDir, OFFICER_PASSPHRASE);
      try {
        const forger = SigningKey.generate();
        const now = Date.now();
        const forged = sealKeyManagerDelegation(
          { key: SigningKey.generate().publicKey, notBefore: now - 60_000, notAfter: now + 90 * 86_400_000 },
          forger,
        );
        const err = await session
          .call('POST', `/v1/orgs/${org.orgId}/key-manager/rotations`, {
            delegation: Buffer.from(forged).toString('base64url'),
            wraps: [
              { recipient: 'root', blob: 'AA' },
              { recipient: '0', blob: 'AA' },
              { recipient: '1', blob: 'AA' },
            ],
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(isConsoleError(err) ? err.serverCode : err).toBe('KEY_MANAGER_INVALID');
      } finally {
        session.close();
      }
      expect(serverDelegation()).toEqual(before);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'rotates; new buckets are signed by the new key; a device moves to them; the console opens old and new records',
    async () => {
      // A lexicon rule and a query hold, made before the new key's buckets exist.
      const rule = await custosJson<{ ruleId: string; buckets: string[] }>([
        'console',
        'lexicon',
        'add',
        'budget',
        '--name',
        'R-ROT',
        ...officer,
      ]);
      const held = await custosJson<{ hold: { holdId: string; buckets: string[] } }>([
        'console',
        'hold',
        'create',
        '--query',
        'budget',
        '--matter',
        'M-ROT',
        ...officer,
      ]);
      expect(held.hold.buckets).toHaveLength(6);
      ruleId = rule.ruleId;
      holdId = held.hold.holdId;
      const before = serverDelegation();
      const r = await custosJson<{
        operation: string;
        keyManagerFingerprint: string;
        previousFingerprint: string;
      }>(['org', 'unlock', '--rotate-key-manager', ...officer, ...sharesArgs]);
      expect(r.operation).toBe('rotate-key-manager');
      expect(r.keyManagerFingerprint).not.toBe(r.previousFingerprint);
      expect(serverDelegation()).not.toEqual(before);

      const ahead = await custosJson<{
        ahead: { created: string[] };
        criteria: {
          rules: { ruleId: string; buckets: string[] }[];
          holds: { holdId: string; buckets: string[] }[];
          skipped: unknown[];
        };
      }>(['org', 'buckets', ...officer, '--ahead', '1', ...sharesArgs]);
      // Every class, this month and next: the ceremony's ids are taken, so the new key's carry a suffix.
      expect(ahead.ahead.created).toHaveLength(6);
      const suffix = `.k${r.keyManagerFingerprint.slice(0, 8)}`;
      expect(ahead.ahead.created.every((id) => id.endsWith(suffix))).toBe(true);
      // The rule and the hold now cover the new buckets too (before any device holds their index keys).
      const created = [...ahead.ahead.created].sort();
      const sorted = <T extends { buckets: string[] }>(xs: T[]) =>
        xs.map((x) => ({ ...x, buckets: [...x.buckets].sort() }));
      expect(sorted(ahead.criteria.rules)).toEqual([{ ruleId: rule.ruleId, buckets: created }]);
      expect(sorted(ahead.criteria.holds)).toEqual([{ holdId: held.hold.holdId, buckets: created }]);
      expect(ahead.criteria.skipped).toEqual([]);
      const grant = await custosJson<{ criteria: { rules: unknown[]; holds: unknown[] } }>([
        'console',
        'grant-index-keys',
        ...officer,
      ]);
      // Nothing left to extend: idempotent.
      expect([grant.criteria.rules, grant.criteria.holds]).toEqual([[], []]);

      // The device picks the rotation up at its next sync and seals to the new key's bucket.
      await custosJson(['sync', '--profile', alice]);
      await custosJson(['send', '--to', 'bob', 'budget after the rotation', '--profile', alice]);
      await custosJson(['sync', '--profile', bob]);
      await custosJson(['sync', '--profile', alice]);

      const matches = await searchUntil('budget', 4);
      expect(matches.map((m) => m.text).sort()).toEqual([
        'budget after the rotation',
        'budget after the rotation',
        'budget before the rotation',
        'budget before the rotation',
      ]);
      for (const m of matches) {
        expect(m.proof).toBe('verified');
        expect(m.signature).toBe('verified');
      }
      const aliceDevice = CustosClient.open(alice);
      const aliceId = aliceDevice.profile.deviceId;
      await aliceDevice.close();
      const aliceBuckets = matches
        .filter((m) => m.deviceId === aliceId)
        .map((m) => ({ text: m.text, bucket: bucketOf(m.logIndex) }));
      expect(aliceBuckets.find((m) => m.text === 'budget after the rotation')?.bucket).toMatch(
        new RegExp(`^standard-\\d{4}-\\d{2}${suffix.replace('.', '\\.')}$`),
      );
      expect(aliceBuckets.find((m) => m.text === 'budget before the rotation')?.bucket).toMatch(
        /^standard-\d{4}-\d{2}$/,
      );
      // Every record in a new-key bucket was queued by the rule made before that bucket existed …
      const after = matches.filter((m) => bucketOf(m.logIndex).endsWith(suffix)).map((m) => m.logIndex);
      expect(after.length).toBeGreaterThan(0);
      const queued = (): Map<number, string> =>
        serverDb(
          (db) =>
            new Map(
              (
                db.prepare('SELECT log_index AS i, rule_ids AS r FROM review_items').all() as {
                  i: number;
                  r: string;
                }[]
              ).map((x) => [x.i, x.r]),
            ),
        );
      for (let i = 0; i < INDEX_ATTEMPTS && !after.every((x) => queued().has(x)); i++)
        await new Promise((res) => setTimeout(res, 500));
      for (const x of after) expect(queued().get(x)).toContain(rule.ruleId);
      // … and no disposition reaches it: a plan far ahead leaves every new-key bucket out, as
      // devices still seal records to them (the hold reaches them: `ahead.criteria.holds` above).
      const plan = await custosJson<{ notYetDisposable: { bucketId: string }[] }>([
        'console',
        'dispose',
        '--dry-run',
        '--as-of',
        '2100-01-01',
        ...officer,
      ]);
      const waitingNew = plan.notYetDisposable.map((w) => w.bucketId).filter((id) => id.endsWith(suffix));
      expect(waitingNew.sort()).toEqual(created.filter((id) => !id.startsWith('permanent-')));
      expect(waitingNew).toContain(bucketOf(after[0]!));
      // Listing verifies every bucket under the chain: the ceremony's and the new key's.
      const list = await custosJson<{ buckets: { bucketId: string }[] }>(['org', 'buckets', ...officer]);
      expect(list.buckets).toHaveLength(12);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses to add an officer with too few shares, a wrong passphrase or a tampered share; nothing changes',
    async () => {
      const share = (k: number): string => join(dir, 'org', 'shares', `officer-${k}`);
      const tampered = join(dir, 'tampered-shares');
      cpSync(share(2), tampered, { recursive: true });
      const file = join(tampered, 'org-signing-key.share.json');
      const t = JSON.parse(readFileSync(file, 'utf8')) as { ciphertext: string };
      const ct = Buffer.from(t.ciphertext, 'base64');
      ct[0]! ^= 1;
      writeFileSync(file, JSON.stringify({ ...t, ciphertext: ct.toString('base64') }));
      const out = join(dir, 'refused');
      const add = (shares: string[], passphrases: string[]) =>
        custos([
          'org',
          'officers',
          'add',
          '--name',
          'Mallory',
          '--out',
          out,
          ...officer,
          '--shares',
          shares.join(','),
          '--share-passphrase-file',
          passFile(passphrases),
          '--new-passphrase-file',
          passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
        ]);
      const cases: [() => ReturnType<typeof custos>, RegExp][] = [
        [() => add([share(1)], [OFFICER_PASSPHRASE]), /1 share\(s\) given, 2 of 2 needed/],
        [() => add([share(1), share(2)], [OFFICER_PASSPHRASE, 'a wrong passphrase']), /wrong passphrase/],
        [() => add([share(1), tampered], [OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]), /was modified/],
      ];
      for (const [run, message] of cases) {
        const r = await run();
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(r.stdout + r.stderr).not.toContain(OFFICER_PASSPHRASE);
        expect(serverOfficers()).toEqual([0, 1]);
        expect(existsSync(out)).toBe(false);
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'adds an officer who enrols, searches and unlocks with the new shares',
    async () => {
      const out = join(dir, 'change-1');
      const r = await custosJson<{ added: number; officers: number[]; threshold: number; wrapped: string[] }>(
        [
          'org',
          'officers',
          'add',
          '--name',
          'Carol',
          '--out',
          out,
          ...officer,
          ...sharesArgs,
          '--new-passphrase-file',
          passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
        ],
      );
      expect(r).toMatchObject({ added: 2, officers: [0, 1, 2], threshold: 2 });
      expect(r.wrapped).toHaveLength(12);
      expect(serverOfficers()).toEqual([0, 1, 2]);
      // The new officer's org.json keeps the ceremony's list: certificates executed before this
      // change are checked against it (docs/officers.md "Which officers' approvals count").
      const carolOrg = JSON.parse(readFileSync(join(out, 'officers', 'officer-3', 'org.json'), 'utf8')) as {
        ceremonyOfficerList?: { quorum: number; officers: { index: number }[] };
      };
      expect(carolOrg.ceremonyOfficerList?.quorum).toBe(2);
      expect(carolOrg.ceremonyOfficerList?.officers.map((o) => o.index)).toEqual([0, 1]);
      // Officer 2's org.json predates the change: their next command adopts the signed list.
      const twoDir = join(dir, 'org', 'officers', 'officer-2');
      const asTwo = ['--profile', twoDir, '--passphrase-file', passFile([OFFICER_PASSPHRASE])];
      const orgOf = (d: string) =>
        JSON.parse(readFileSync(join(d, 'org.json'), 'utf8')) as {
          officers: { index: number }[];
          officerQuorum: number;
          officerListIssuedAt?: number;
        };
      expect(orgOf(twoDir).officers.map((o) => o.index)).toEqual([0, 1]);
      // A list whose signature does not verify is refused, and nothing is adopted.
      const signed = serverDb(
        (db) =>
          db.prepare('SELECT seq, document FROM officer_list_changes ORDER BY seq DESC').get() as {
            seq: number;
            document: Buffer;
          },
      );
      const forged = Buffer.from(signed.document);
      forged[forged.length - 1]! ^= 1;
      const setDocument = (doc: Buffer) => {
        const db = new Database(join(org.server.dataDir, 'custos.sqlite'), { fileMustExist: true });
        try {
          db.prepare('UPDATE officer_list_changes SET document = ? WHERE seq = ?').run(doc, signed.seq);
        } finally {
          db.close();
        }
      };
      setDocument(forged);
      const refused = await custos(['org', 'buckets', ...asTwo]);
      setDocument(signed.document);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/officer list does not verify/);
      expect(orgOf(twoDir).officers.map((o) => o.index)).toEqual([0, 1]);
      const adopt = await custos(['org', 'buckets', ...asTwo, '--json']);
      expect(adopt.status, adopt.stderr).toBe(0);
      expect(adopt.stderr).toMatch(/adopted the officer list .*officers 1, 2, 3, quorum 2; added 3/);
      expect(orgOf(twoDir)).toMatchObject({
        officerQuorum: 2,
        officers: [{ index: 0 }, { index: 1 }, { index: 2 }],
      });
      const again = await custos(['org', 'buckets', ...asTwo, '--json']);
      expect(again.stderr).not.toMatch(/adopted/);
      const carol = join(out, 'officers', 'officer-3');
      await enrolOfficer('officer-three', carol);
      const asCarol = ['--profile', carol, '--passphrase-file', passFile([OFFICER_PASSPHRASE])];
      const found = await custosJson<{ matches: Match[] }>(['console', 'search', 'budget', ...asCarol]);
      expect(found.matches.map((m) => m.text).sort()).toEqual([
        'budget after the rotation',
        'budget after the rotation',
        'budget before the rotation',
        'budget before the rotation',
      ]);
      // The new officer's share combines with another officer's new share: officer 3 makes
      // the buckets of the month after next. The rule and the hold predate officer 3, who holds
      // no seal of their criteria: they are not extended, and the message names the step.
      const newShares = [
        '--shares',
        [join(out, 'shares', 'officer-1'), join(out, 'shares', 'officer-3')].join(','),
        '--share-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
      ];
      type Criteria = {
        rules: { ruleId: string; buckets: string[] }[];
        holds: { holdId: string; buckets: string[] }[];
        resealed: { id: string; kind: string; to: number[] }[];
        skipped: { id: string; why: string; reseal?: boolean }[];
      };
      const ahead = await custos(['org', 'buckets', ...asCarol, '--ahead', '2', ...newShares, '--json']);
      expect(ahead.status, ahead.stderr).toBe(1);
      const made = JSON.parse(ahead.stdout) as { ahead: { created: string[] }; criteria: Criteria };
      expect(made.ahead.created).toHaveLength(3);
      expect(made.criteria.rules).toEqual([]);
      expect(made.criteria.holds).toEqual([]);
      expect(made.criteria.skipped.map((x) => [x.id, x.reseal]).sort()).toEqual(
        [
          [ruleId, true],
          [holdId, true],
        ].sort(),
      );
      for (const x of made.criteria.skipped)
        expect(x.why).toMatch(/not sealed to you.*custos console reseal/);
      // A criterion whose signature does not verify is not trusted: the reseal stops.
      const sealedRule = serverDb(
        (db) =>
          (db.prepare('SELECT sealed FROM review_rules WHERE rule_id = ?').get(ruleId) as { sealed: Buffer })
            .sealed,
      );
      const setSealed = (blob: Buffer) => {
        const db = new Database(join(org.server.dataDir, 'custos.sqlite'), { fileMustExist: true });
        try {
          db.prepare('UPDATE review_rules SET sealed = ? WHERE rule_id = ?').run(blob, ruleId);
        } finally {
          db.close();
        }
      };
      const forgedRule = Buffer.from(sealedRule);
      forgedRule[forgedRule.length - 1]! ^= 1;
      setSealed(forgedRule);
      const refusedReseal = await custos(['console', 'reseal', ...officer, '--json']);
      setSealed(sealedRule);
      expect(refusedReseal.status).toBe(1);
      expect(refusedReseal.stderr).toMatch(/does not verify with the signing key of the officer it names/);
      // Officer 1 re-seals both to officer 3 (and a rerun has nothing to do) …
      const resealed = await custosJson<{ resealed: { id: string; kind: string; to: number[] }[] }>([
        'console',
        'reseal',
        ...officer,
      ]);
      expect(resealed.resealed.map((x) => [x.id, x.kind, x.to]).sort()).toEqual(
        [
          [ruleId, 'rule', [2]],
          [holdId, 'hold', [2]],
        ].sort(),
      );
      expect((await custosJson<{ resealed: unknown[] }>(['console', 'reseal', ...officer])).resealed).toEqual(
        [],
      );
      // … and officer 3 now extends them to the buckets they made.
      const grant = await custosJson<{ criteria: Criteria }>(['console', 'grant-index-keys', ...asCarol]);
      const created = [...made.ahead.created].sort();
      expect(grant.criteria.skipped).toEqual([]);
      expect(grant.criteria.rules.map((r) => ({ ...r, buckets: [...r.buckets].sort() }))).toEqual([
        { ruleId, buckets: created },
      ]);
      expect(grant.criteria.holds.map((h) => ({ ...h, buckets: [...h.buckets].sort() }))).toEqual([
        { holdId, buckets: created },
      ]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "removes an officer: the removed officer's profile is refused by the server",
    async () => {
      const officerTwo = [
        '--profile',
        join(dir, 'org', 'officers', 'officer-2'),
        '--passphrase-file',
        passFile([OFFICER_PASSPHRASE]),
      ];
      const before = await custos(['org', 'buckets', ...officerTwo, '--json']);
      expect(before.status, before.stderr).toBe(0);
      const out = join(dir, 'change-2');
      const r = await custosJson<{ removed: number; officers: number[]; demoted: string[] }>([
        'org',
        'officers',
        'remove',
        '--officer',
        '2',
        '--user',
        officerTwoUser,
        '--out',
        out,
        ...officer,
        '--shares',
        [join(dir, 'change-1', 'shares', 'officer-1'), join(dir, 'change-1', 'shares', 'officer-3')].join(
          ',',
        ),
        '--share-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
        '--new-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
      ]);
      expect(r).toMatchObject({ removed: 1, officers: [0, 2], demoted: [officerTwoUser] });
      expect(serverOfficers()).toEqual([0, 2]);
      // Officer 3's org.json (from the add) still lists officer 2: their next command drops them.
      const carol = join(dir, 'change-1', 'officers', 'officer-3');
      const officersIn = (d: string) =>
        (
          JSON.parse(readFileSync(join(d, 'org.json'), 'utf8')) as { officers: { index: number }[] }
        ).officers.map((o) => o.index);
      // A server that withholds the newer list: it serves officer 3 the list of the add
      // (validly signed; the one their org.json holds) while the log's last officers-change act
      // names the removal's list. The command stops, naming the problem; nothing is adopted.
      const lists = serverDb(
        (db) =>
          db.prepare('SELECT document FROM officer_list_changes ORDER BY seq').all() as {
            document: Buffer;
          }[],
      );
      expect(lists).toHaveLength(2);
      relay.lie = (a) =>
        a.method === 'GET' && a.path === `/v1/orgs/${org.orgId}` && a.status === 200
          ? editJson<{ officerList?: string }>(a.body, (json) => {
              json.officerList = lists[0]!.document.toString('base64url');
            })
          : undefined;
      try {
        const withheld = await custos([
          ...['console', 'hold', 'list', '--profile', carol],
          ...['--passphrase-file', passFile([OFFICER_PASSPHRASE]), '--json'],
        ]);
        expect(withheld.status).toBe(1);
        expect(withheld.stderr).toMatch(
          /log records an officer change at log index \d+ .*the server is withholding the current officer list/,
        );
        expect(officersIn(carol)).toEqual([0, 1, 2]);
      } finally {
        relay.lie = undefined;
      }
      const adopt = await custos([
        'console',
        'hold',
        'list',
        '--profile',
        carol,
        '--passphrase-file',
        passFile([OFFICER_PASSPHRASE]),
        '--json',
      ]);
      expect(adopt.status, adopt.stderr).toBe(0);
      expect(adopt.stderr).toMatch(/adopted the officer list .*officers 1, 3, quorum 2; removed 2/);
      const carolOrg = JSON.parse(readFileSync(join(carol, 'org.json'), 'utf8')) as {
        officers: { index: number }[];
      };
      expect(carolOrg.officers.map((o) => o.index)).toEqual([0, 2]);
      const after = await custos(['org', 'buckets', ...officerTwo]);
      expect(after.status).toBe(1);
      expect(after.stderr).toMatch(/ROLE_FORBIDDEN|role/);
    },
    STEP_TIMEOUT_MS,
  );
  it(
    'rotates the root: bad input changes nothing, an interrupted run resumes, old shares open nothing on the server, records still open and verify, new buckets wrap to the new root',
    async () => {
      // Officers 1 and 3 after the removal; their shares come from change-2.
      const share = (k: number): string => join(dir, 'change-2', 'shares', `officer-${k}`);
      const rootFiles = (base: string) =>
        [1, 3].map((k) => join(base, 'shares', `officer-${k}`, 'org-root-archive-key.share.json'));
      const serverRoot = (): Buffer =>
        serverDb(
          (db) => (db.prepare('SELECT root_archive_public_key AS k FROM orgs').get() as { k: Buffer }).k,
        );
      const serverRootWraps = (): { bucket: string; blob: Buffer }[] =>
        serverDb(
          (db) =>
            db
              .prepare(
                "SELECT bucket_id AS bucket, blob FROM bucket_key_blobs WHERE kind = 'officer-wrap' AND recipient = 'root' ORDER BY bucket_id",
              )
              .all() as { bucket: string; blob: Buffer }[],
        );
      const out = join(dir, 'rotate-root');
      const rotate = (shares: string[], passphrases: string[]) =>
        custos([
          'org',
          'unlock',
          '--rotate-root',
          '--out',
          out,
          ...officer,
          '--shares',
          shares.join(','),
          '--share-passphrase-file',
          passFile(passphrases),
          '--new-passphrase-file',
          passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
          '--json',
        ]);
      const tampered = join(dir, 'tampered-root-shares');
      cpSync(share(3), tampered, { recursive: true });
      const file = join(tampered, 'org-root-archive-key.share.json');
      const t = JSON.parse(readFileSync(file, 'utf8')) as { ciphertext: string };
      const ct = Buffer.from(t.ciphertext, 'base64');
      ct[0]! ^= 1;
      writeFileSync(file, JSON.stringify({ ...t, ciphertext: ct.toString('base64') }));
      const before = serverRoot();
      const wrapsBefore = serverRootWraps();
      const cases: [() => ReturnType<typeof custos>, RegExp][] = [
        [() => rotate([share(1)], [OFFICER_PASSPHRASE]), /1 share\(s\) given, 2 of 2 needed/],
        [() => rotate([share(1), share(3)], [OFFICER_PASSPHRASE, 'a wrong passphrase']), /wrong passphrase/],
        [() => rotate([share(1), tampered], [OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]), /was modified/],
      ];
      for (const [run, message] of cases) {
        const r = await run();
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(serverRoot()).toEqual(before);
        expect(existsSync(out)).toBe(false);
      }
      expect(serverRootWraps()).toEqual(wrapsBefore);

      // Interrupted after the new shares were written: nothing reached the server.
      const old = await unlockRoot(
        rootFiles(join(dir, 'change-2')).concat(
          [1, 3].map((k) => join(share(k), 'org-signing-key.share.json')),
        ),
        [OFFICER_PASSPHRASE, OFFICER_PASSPHRASE, OFFICER_PASSPHRASE, OFFICER_PASSPHRASE],
      );
      const session = await openOfficerSession(officerDir, OFFICER_PASSPHRASE);
      try {
        const part = await rotateRootKey(session, old, {
          out,
          passphrases: () =>
            Promise.resolve(
              new Map([
                [0, OFFICER_PASSPHRASE],
                [2, OFFICER_PASSPHRASE],
              ]),
            ),
          now: Date.now(),
          stopAfter: 'shares',
        });
        expect(part).toMatchObject({ resumed: false, rewrapped: [] });
      } finally {
        session.close();
      }
      expect(serverRoot()).toEqual(before);
      expect(existsSync(join(out, 'root-rotation.pending.json'))).toBe(true);

      // The rerun resumes with the same new key and finishes.
      const r = await rotate([share(1), share(3)], [OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]);
      expect(r.status, r.stderr).toBe(0);
      const done = JSON.parse(r.stdout) as {
        operation: string;
        resumed: boolean;
        rewrapped: string[];
        keyManagerRewrapped: boolean;
        rootArchiveKeyFingerprint: string;
      };
      expect(done).toMatchObject({ operation: 'rotate-root', resumed: true, keyManagerRewrapped: true });
      const live = serverDb((db) =>
        (
          db
            .prepare(
              'SELECT bucket_id AS b FROM buckets WHERE bucket_id NOT IN (SELECT bucket_id FROM disposed_buckets) ORDER BY bucket_id',
            )
            .all() as { b: string }[]
        ).map((x) => x.b),
      );
      expect(live.length).toBeGreaterThanOrEqual(12);
      expect([...done.rewrapped].sort()).toEqual(live);
      expect(r.stderr).toMatch(/new root shares were written by the interrupted run/);
      expect(existsSync(join(out, 'root-rotation.pending.json'))).toBe(false);
      expect(serverRoot()).not.toEqual(before);
      const officerOrg = JSON.parse(readFileSync(join(officerDir, 'org.json'), 'utf8')) as {
        rootArchiveKeyFingerprint: string;
      };
      expect(officerOrg.rootArchiveKeyFingerprint).toBe(done.rootArchiveKeyFingerprint);

      // Old shares open no root wrap the server holds (buckets and key manager); the new ones open every one.
      const wraps = serverRootWraps();
      expect(wraps.map((w) => w.bucket)).toEqual(live);
      const kmRoot = serverDb(
        (db) =>
          db.prepare("SELECT blob FROM key_manager_wraps WHERE recipient = 'root'").all() as {
            blob: Buffer;
          }[],
      );
      expect(kmRoot).toHaveLength(1);
      const fresh = await unlockRoot(rootFiles(out), [OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]);
      try {
        for (const w of wraps) {
          await expect(unwrapWithRoot(old, w.blob)).rejects.toThrow();
          expect((await unwrapWithRoot(fresh, w.blob)).bucket).toBe(w.bucket);
        }
        await expect(
          unwrapKeyManagerKey(kmRoot[0]!.blob, old.rootArchiveKey!, {
            org: org.orgId,
            to: 'root',
            publicKey: new Uint8Array(32),
          }),
        ).rejects.toThrow(/does not open/);
      } finally {
        old.destroy();
      }
      // A rotation with the old shares again is refused: they no longer recover the current root.
      const stale = await custos([
        'org',
        'unlock',
        '--rotate-root',
        '--out',
        join(dir, 'rotate-root-again'),
        ...officer,
        '--shares',
        [share(1), share(3)].join(','),
        '--share-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
        '--new-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
      ]);
      expect(stale.status).toBe(1);
      expect(stale.stderr).toMatch(/another root archive key than the current one/);
      expect(existsSync(join(dir, 'rotate-root-again'))).toBe(false);

      // Records sealed before still open and verify; officer 3 adopts the new root on their next command.
      const matches = await searchUntil('budget', 4);
      expect(matches).toHaveLength(4);
      for (const m of matches) expect([m.proof, m.signature]).toEqual(['verified', 'verified']);
      const carol = join(dir, 'change-1', 'officers', 'officer-3');
      const asCarol = ['--profile', carol, '--passphrase-file', passFile([OFFICER_PASSPHRASE])];
      const exported = join(dir, 'after-root-rotation.json');
      const ex = await custos([
        'console',
        'export',
        'budget',
        '--format',
        'json',
        '--out',
        exported,
        ...asCarol,
      ]);
      expect(ex.status, ex.stderr).toBe(0);
      expect(ex.stderr).toMatch(/adopted the root archive key rotated/);
      const verified = await custos(['verify', exported, '--json']);
      expect(verified.status, verified.stderr).toBe(0);

      // New buckets (months later than any made so far) are wrapped to the new root only.
      const ahead = await custosJson<{ ahead: { created: string[] } }>([
        'org',
        'buckets',
        ...officer,
        '--ahead',
        '4',
        '--shares',
        [share(1), share(3)].join(','),
        '--share-passphrase-file',
        passFile([OFFICER_PASSPHRASE, OFFICER_PASSPHRASE]),
      ]);
      expect(ahead.ahead.created.length).toBeGreaterThan(0);
      try {
        const made = serverRootWraps().filter((x) => ahead.ahead.created.includes(x.bucket));
        expect(made).toHaveLength(ahead.ahead.created.length);
        for (const w of made) expect((await unwrapWithRoot(fresh, w.blob)).bucket).toBe(w.bucket);
      } finally {
        fresh.destroy();
      }
    },
    STEP_TIMEOUT_MS,
  );
});
