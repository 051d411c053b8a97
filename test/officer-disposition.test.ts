/**
 * End to end, with real processes (docs/officers.md "Retention and disposition"): a
 * `custos server`, the key ceremony (two officers, threshold 2), two users who exchange a
 * message, and both officers running `custos console dispose`. While devices can still seal
 * records to this month's buckets, a dry run with an as-of date far in the future makes no
 * plan and lists them as not yet disposable, with the date. The server is then restarted with
 * its clock past this month's late-upload grace (test/server-clock.ts): the same dry run lists
 * the buckets holding that message and, apart, next month's (still accepting records);
 * execution is refused until two officers approved, then destroys it — search no longer finds
 * it, the server no longer stores it — while a second message under a legal hold is still
 * stored, the log keeps growing consistently (the auditor's witness still verifies) and
 * carries the certificate.
 *
 * Key destruction end to end: the plan's leaf span and leaf hash are those of the records in
 * the server's database; the certificate says which buckets lost their keys (those with no
 * record left) and the server's database no longer holds any wrap or index key of them; each
 * officer's `--execute` deletes that profile's local wraps of them. After every command,
 * neither officer's profile folder holds an opened bucket or officer private key in any form.
 *
 * Then the server's clock goes back to the machine's: a device's records sealed to a bucket
 * whose keys were destroyed are refused (BUCKET_DISPOSED) and not stored; the device stops
 * sealing to that bucket, declares those records lost (gap reason `bucket-disposed`) instead
 * of sending them again — keeping them queued while the declaration's log entry is not
 * proven: a sync does not wait on an entry withheld long after the acceptance, and one a
 * round finds withheld an hour after is reported overdue (not before such a round, whatever
 * the device's clock says) — and, the server's clock forward again, in next month's window, a
 * later record archives with a verified receipt, once its batch, withheld the same way, has
 * not held up a sync and has been reported overdue.
 *
 * The archive copy (`custos console archive-copy`) records each destroyed bucket with its proof
 * on the run that first verifies it; when the server later withholds the certificate and serves
 * a wrap of the bucket again, the next run keeps the bucket destroyed, changes nothing of it and
 * names it (exit 1).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  bucketExpiry,
  decodeDispositionPlan,
  decodeEntryBundle,
  decodeLogEntry,
  dispositionPlanHash,
  encodeDispositionPlan,
  entryBundlePath,
  type PlannedBucket,
} from '@custos/core';
import {
  CustosClient,
  GAP_PROOF_OVERDUE_MS,
  GAP_PROOF_WAIT_MS,
  LocalStore,
  loadProfile,
} from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestPath, restartServer, stopServer, until } from './client-support.js';
import { captureSealed } from './client-records.js';
import {
  cliOrg,
  custos,
  custosJson,
  enrolCeremonyOfficers,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';
import { keysInFolder, officerPrivateKeys } from './officer-support.js';
import {
  afterThisMonthsGrace,
  cliClockAt,
  LATE_UPLOAD_GRACE_MS,
  OFFICERS_IN_2100,
  serverClockAt,
} from './server-clock.js';
import { flushAndVerify, PROOF_WAIT_MS } from '../packages/cli/src/commands/sync.js';

const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 1_200_000;
/** How long the completeness check is re-run while the certificate's act reaches the log (a cap, not an assertion). */
const POLL_CAP_MS = 60_000;
const ATTEMPTS = 60;
const CANARY = 'disposal canary quarterly';
/** A second message, placed under a legal hold before the plan: it must survive disposition. */
const HELD = 'disposal canary under counsel hold';

interface Waiting {
  bucketId: string;
  recordsAcceptedUntil: number;
  disposableFrom: number;
}
interface PlanOut {
  planId: string;
  state: string;
  approvedBy: number[];
  buckets: { bucketId: string; retentionClass: string; records: number; held: number }[];
  notYetDisposable: Waiting[];
}
interface PlanBucket {
  bucketId: string;
  retentionClass: string;
  records: number;
  held: number;
  span: [number, number] | null;
  leaves: string;
}
interface ExecOut extends Omit<PlanOut, 'buckets'> {
  certificateLogIndex: number | null;
  certificateHash: string;
  approvers: number[];
  buckets: { bucketId: string; records: number; held: number; keysDestroyed: boolean }[];
  forgotten: { wraps: number; rootWraps: number };
}
interface CompletenessOut {
  complete: boolean;
  findings: { kind: string; deviceId?: string; from?: number; to?: number; evidence?: string[] }[];
  devices: { deviceId: string; records: number; recordsDisposed: number }[];
  dispositions: {
    certificateHash: string;
    logIndex: number;
    planId: string | null;
    approvers: number[];
    records: number;
    problem: string | null;
  }[];
  recordsDisposed: number;
}
/** An officer profile's local wraps: bucket ids in bucket-keys.json, and in org.json with a root wrap. */
interface LocalWraps {
  officer: string[];
  root: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's answer for a log entry it has not logged (or withholds): 404 LOG_NOT_FOUND. */
function logNotFound(): Response {
  const body = { error: { code: 'LOG_NOT_FOUND', message: 'no such entry' } };
  return new Response(JSON.stringify(body), { status: 404, headers: { 'content-type': 'application/json' } });
}

describe('officer disposition (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let officers: string[][];
  let officerDirs: string[];

  /** Approving and executing plans as of 2100 happens in 2100 (the console refuses a plan as of its future). */
  const dispose = (k: number, args: string[], json = true) =>
    custos(
      ['console', 'dispose', ...args, ...officers[k]!, ...(json ? ['--json'] : [])],
      args[0] === '--dry-run' ? {} : cliClockAt(OFFICERS_IN_2100),
    );
  /** The log indexes search finds for a word (search opens every hit and checks its proof). */
  const searchIndexes = async (word = 'canary'): Promise<number[]> =>
    (
      await custosJson<{ matches: { logIndex: number }[] }>(['console', 'search', word, ...officers[0]!])
    ).matches
      .map((m) => m.logIndex)
      .sort((a, b) => a - b);
  const searchCount = async (word = 'canary'): Promise<number> => (await searchIndexes(word)).length;
  /** The log indexes of the given records still stored by the server (its own database, read-only). */
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
  /** Writes the server's database behind its back (a forged plan: what a malicious server could serve). */
  const serverDbWrite = (fn: (db: Database.Database) => void): void => {
    const db = new Database(join(org.server.dataDir, 'custos.sqlite'), { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      fn(db);
    } finally {
      db.close();
    }
  };
  const planBytesOf = (db: Database.Database, planId: string): Uint8Array =>
    (db.prepare('SELECT plan FROM disposition_plans WHERE plan_id = ?').get(planId) as { plan: Buffer }).plan;
  const storedOf = (indexes: readonly number[]): number[] =>
    serverDb((db) =>
      (db.prepare('SELECT log_index AS i FROM archive_records ORDER BY log_index').all() as { i: number }[])
        .map((r) => r.i)
        .filter((i) => indexes.includes(i)),
    );
  /** Log indexes of a bucket's records as the server stores them. */
  const recordsOf = (bucketId: string): number[] =>
    serverDb((db) =>
      (
        db
          .prepare('SELECT log_index AS i FROM archive_records WHERE bucket_id = ? ORDER BY log_index')
          .all(bucketId) as { i: number }[]
      ).map((r) => r.i),
    );
  /** Officer wraps (root included) and sealed index keys the server stores per bucket. */
  const keyBlobsOf = (bucketId: string): { officerWraps: number; indexKeys: number } =>
    serverDb((db) => {
      const count = (kind: string) =>
        (
          db
            .prepare('SELECT COUNT(*) AS n FROM bucket_key_blobs WHERE bucket_id = ? AND kind = ?')
            .get(bucketId, kind) as { n: number }
        ).n;
      return { officerWraps: count('officer-wrap'), indexKeys: count('index-key') };
    });
  const localWraps = (profile: string): LocalWraps => {
    const wraps = JSON.parse(readFileSync(join(profile, 'bucket-keys.json'), 'utf8')) as {
      wraps: { bucketId: string }[];
    };
    const orgFile = JSON.parse(readFileSync(join(profile, 'org.json'), 'utf8')) as {
      buckets: { bucketId: string; rootWrap?: string }[];
    };
    return {
      officer: wraps.wraps.map((w) => w.bucketId),
      root: orgFile.buckets.filter((b) => typeof b.rootWrap === 'string').map((b) => b.bucketId),
    };
  };
  /** SHA-256 of log indexes as uint64 big-endian, ascending (the plan's `leaves`). */
  const leavesHash = (indexes: readonly number[]): string => {
    const h = createHash('sha256');
    for (const i of [...indexes].sort((a, b) => a - b)) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(i));
      h.update(b);
    }
    return h.digest('hex');
  };
  /** Buckets not disposed and not permanent that still take records at `now` (the server's rule), by id. */
  const acceptingAt = (now: number): string[] =>
    serverDb((db) =>
      (
        db
          .prepare(
            `SELECT bucket_id AS b FROM buckets WHERE retention_class != 'permanent' AND not_after + ? >= ?
               AND bucket_id NOT IN (SELECT bucket_id FROM disposed_buckets) ORDER BY bucket_id`,
          )
          .all(LATE_UPLOAD_GRACE_MS, now) as { b: string }[]
      ).map((r) => r.b),
    );
  /** `custos console completeness --json` as officer 1: exit code and report. */
  const completeness = async (): Promise<{ code: number | null; report: CompletenessOut }> => {
    const r = await custos(['console', 'completeness', ...officers[0]!, '--json']);
    return { code: r.status, report: JSON.parse(r.stdout) as CompletenessOut };
  };
  const treeSize = async (): Promise<number> =>
    ((await (await fetch(`${org.server.url}/v1/orgs/${org.orgId}/log`)).json()) as { treeSize: number })
      .treeSize;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-dispose-'));
    org = await cliOrg(dir);
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    // A transitory user who sends nothing: this month's transitory bucket then holds her device's
    // index key on the server and no record, so disposition destroys keys the server stored.
    const carol = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      'carol',
      '--retention',
      'transitory',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson([
      'enroll',
      carol.enrolmentCode,
      '--server',
      org.server.url,
      '--profile',
      join(dir, 'carol'),
      '--name',
      'carol',
      '--unattended',
    ]);
    officers = await enrolCeremonyOfficers(org, dir);
    officerDirs = [1, 2].map((k) => join(dir, 'org', 'officers', `officer-${k}`));
    for (const p of [alice, bob]) {
      const c = CustosClient.open(p);
      try {
        await c.refreshKeys();
      } finally {
        await c.close();
      }
    }
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    await custosJson(['contacts', 'add', 'alice', aliceAddress, '--profile', bob]);
    await custosJson(['send', '--to', 'bob', CANARY, '--profile', alice]);
    await custosJson(['send', '--to', 'bob', HELD, '--profile', alice]);
    await custosJson(['sync', '--profile', bob]);
    // Alice archives what Bob's device sent back too, so every relay receipt has its records.
    await custosJson(['sync', '--profile', alice]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'plans, needs two approvals, destroys the records, keeps the log provable and logs the certificate',
    async () => {
      let found = 0;
      // Each message is archived by alice's device and by bob's: four records.
      for (let i = 0; i < ATTEMPTS && found < 4; i++) {
        found = await searchCount();
        if (found < 4) await sleep(500);
      }
      expect(found).toBe(4);
      const held = await custos([
        'console',
        'hold',
        'create',
        '--query',
        '"counsel hold"',
        '--matter',
        'M-DISPOSE-1',
        ...officers[0]!,
        '--json',
      ]);
      expect(held.status, held.stderr).toBe(0);
      const heldIndexes = await searchIndexes('counsel');
      const unheldIndexes = await searchIndexes('quarterly');
      expect([heldIndexes.length, unheldIndexes.length]).toEqual([2, 2]);
      const state = join(dir, 'witness.json');
      const witness = () =>
        custos(['verify', 'log', '--server', org.server.url, '--org', org.orgId, '--state', state, '--json']);
      expect((await witness()).status).toBe(0);

      // Nothing has expired today: the dry run says so and makes no plan.
      const today = await dispose(0, ['--dry-run']);
      expect(today.status, today.stderr).toBe(0);
      const none = JSON.parse(today.stdout) as { planId: string | null; buckets: unknown[] };
      expect([none.planId, none.buckets]).toEqual([null, []]);
      const todayText = await dispose(0, ['--dry-run'], false);
      expect(todayText.stdout).toContain('Nothing to dispose');
      expect(todayText.stdout).not.toContain('Plan ');

      // Far ahead, while devices still seal records to this month's buckets (and next month's):
      // the server plans none of them, whatever the as-of date, and names each with its dates.
      // (A plan of them once destroyed keys that records sealed afterwards needed.)
      const early = JSON.parse((await dispose(0, ['--dry-run', '--as-of', '2100-01-01'])).stdout) as PlanOut;
      expect([early.planId, early.buckets]).toEqual([null, []]);
      const openNow = acceptingAt(Date.now());
      expect(early.notYetDisposable.map((w) => w.bucketId).sort()).toEqual(openNow);
      expect(openNow.some((id) => recordsOf(id).length > 0)).toBe(true);
      for (const w of early.notYetDisposable) {
        expect(w.disposableFrom).toBe(w.recordsAcceptedUntil + 1);
        expect(w.recordsAcceptedUntil).toBeGreaterThanOrEqual(Date.now());
      }
      const earlyText = await dispose(0, ['--dry-run', '--as-of', '2100-01-01'], false);
      expect(earlyText.stdout).toContain('every expired bucket still accepts records; no plan made');
      expect(earlyText.stdout).toMatch(
        /not yet disposable \(still accepting records until \d{4}-\d{2}-\d{2};/,
      );

      // The server's clock moves past this month's late-upload grace (a restart on the same
      // data and address): this month's buckets take no more records, next month's still do.
      const serverNow = afterThisMonthsGrace();
      await stopServer(org.server);
      org = { ...org, server: await restartServer(org.server, serverClockAt(serverNow)) };
      const dry = await dispose(0, ['--dry-run', '--as-of', '2100-01-01']);
      expect(dry.status, dry.stderr).toBe(0);
      const plan = JSON.parse(dry.stdout) as PlanOut;
      expect(plan.state).toBe('proposed');
      const stillOpen = acceptingAt(serverNow);
      expect(stillOpen.length).toBeGreaterThan(0);
      expect(plan.notYetDisposable.map((w) => w.bucketId).sort()).toEqual(stillOpen);
      expect(plan.buckets.filter((b) => stillOpen.includes(b.bucketId))).toEqual([]);
      expect(plan.buckets.every((b) => b.retentionClass !== 'permanent')).toBe(true);
      expect(plan.buckets.reduce((n, b) => n + b.records, 0)).toBeGreaterThanOrEqual(2);
      // The held message's two records are listed as exceptions, not as records to destroy.
      expect(plan.buckets.reduce((n, b) => n + b.held, 0)).toBe(2);
      // Each bucket's leaf span and leaf hash are those of its records in the server's database.
      const planned = (JSON.parse(dry.stdout) as { buckets: PlanBucket[] }).buckets;
      for (const b of planned) {
        const stored = recordsOf(b.bucketId);
        expect(b.span).toEqual(stored.length === 0 ? null : [stored[0], stored[stored.length - 1]]);
        expect(b.leaves).toBe(leavesHash(stored.filter((i) => !heldIndexes.includes(i))));
      }
      expect(planned.some((b) => b.records > 0 && b.span !== null)).toBe(true);
      // What the server stores per planned bucket before execution (ceremony buckets' officer
      // wraps live in the profiles; devices' sealed index keys are on the server).
      const blobsBefore = new Map(planned.map((b) => [b.bucketId, keyBlobsOf(b.bucketId)]));
      // The officers' opened keys, held by the test only: the profile folders are searched for them.
      // Both officers hold each bucket key: one entry per key name.
      const opened = [
        ...(await officerPrivateKeys(officerDirs[0]!, OFFICER_PASSPHRASE)),
        ...(await officerPrivateKeys(officerDirs[1]!, OFFICER_PASSPHRASE)).map((k) =>
          k.name.startsWith('bucket ') ? k : { ...k, name: `${k.name} (officer 2)` },
        ),
      ];
      const keys = [...new Map(opened.map((k) => [k.name, k])).values()];
      expect(keys.filter((k) => k.name.startsWith('bucket ')).length).toBeGreaterThanOrEqual(planned.length);

      // Plans the server (or whoever writes its database) forged from the real one. Neither
      // officer signs or runs one: the console checks each bucket against its org-signed
      // document and the verified log first (PLAN_INVALID), and nothing reaches the server.
      const real = decodeDispositionPlan(serverDb((db) => planBytesOf(db, plan.planId)));
      const forge = (buckets: PlannedBucket[]): string => {
        const bytes = encodeDispositionPlan({ ...real, buckets });
        const id = Buffer.from(dispositionPlanHash(bytes)).toString('hex');
        serverDbWrite((db) =>
          db
            .prepare(
              `INSERT INTO disposition_plans (org_id, plan_id, plan, state, created_by, created_at)
                 SELECT org_id, ?, ?, 'proposed', created_by, created_at FROM disposition_plans WHERE plan_id = ?`,
            )
            .run(id, bytes, plan.planId),
        );
        // The real plan's held leaves, which a forger would serve too.
        serverDbWrite((db) =>
          db
            .prepare(
              `INSERT INTO disposition_held (org_id, plan_id, bucket_id, leaves)
                 SELECT org_id, ?, bucket_id, leaves FROM disposition_held WHERE plan_id = ?`,
            )
            .run(id, plan.planId),
        );
        return id;
      };
      const refused = async (step: string, id: string, message: string): Promise<void> => {
        const r = await dispose(0, [step, id]);
        expect(r.status).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'PLAN_INVALID' } });
        expect(r.stderr).toContain(message);
      };
      // This month's permanent bucket added, labelled standard.
      const permanent = serverDb(
        (db) =>
          db
            .prepare(
              `SELECT bucket_id AS b, not_after AS naf FROM buckets WHERE retention_class = 'permanent'
                 AND not_after + ? < ? ORDER BY not_after DESC LIMIT 1`,
            )
            .get(LATE_UPLOAD_GRACE_MS, serverNow) as { b: string; naf: number },
      );
      const relabelled = forge([
        ...real.buckets,
        {
          ...real.buckets[0]!,
          bucketId: permanent.b,
          retentionClass: 'standard',
          expiresAt: bucketExpiry({ retentionClass: 'standard', notAfter: permanent.naf })!,
        },
      ]);
      for (const step of ['--approve', '--execute']) {
        await refused(
          step,
          relabelled,
          `bucket ${permanent.b} in the server's disposition plan: the plan says class standard, its signed document says permanent`,
        );
      }
      // One record more to dispose of than the bucket has in the log.
      const counted = real.buckets.find((b) => b.records > 0)!;
      const inflated = forge(real.buckets.map((b) => (b === counted ? { ...b, records: b.records + 1 } : b)));
      await refused(
        '--approve',
        inflated,
        `bucket ${counted.bucketId} in the server's disposition plan: the plan counts ${counted.records + 1} record(s)`,
      );
      // The right counts, but a digest over one held record in place of an unheld one: signed,
      // the server could destroy the held record and call it disposed (it keeps the other).
      const withHeld = real.buckets.find((b) => b.held > 0 && b.records > 0)!;
      const inBucket = recordsOf(withHeld.bucketId);
      const unheld = inBucket.filter((i) => !heldIndexes.includes(i));
      const swapped = [...unheld.slice(1), inBucket.find((i) => heldIndexes.includes(i))!];
      const hidden = forge(
        real.buckets.map((b) =>
          b === withHeld ? { ...b, leaves: Buffer.from(leavesHash(swapped), 'hex') } : b,
        ),
      );
      await refused(
        '--approve',
        hidden,
        `bucket ${withHeld.bucketId} in the server's disposition plan: the log's records of the bucket in the plan's span, less those held, do not hash`,
      );
      expect(
        serverDb((db) =>
          db
            .prepare('SELECT COUNT(*) AS n FROM disposition_approvals WHERE plan_id IN (?, ?, ?)')
            .get(relabelled, inflated, hidden),
        ),
      ).toEqual({ n: 0 });

      // The plan is for 2100, and the officers' clocks say so; the server's does not: no planned
      // bucket's retention has run out at its time, so it destroys nothing (a plan's date never
      // brings a destruction forward, whoever's clock is wrong), naming each bucket's date.
      const notDue = await dispose(0, ['--execute', plan.planId]);
      expect([notDue.status, notDue.stderr]).toEqual([1, expect.stringMatching(/DISPOSITION_NOT_DUE/)]);
      expect(notDue.stderr).toMatch(/runs out only at \d{4}-/);
      expect(await searchCount()).toBe(4);
      // The server's clock reaches the plan's date too (a restart on the same data and address).
      await stopServer(org.server);
      org = { ...org, server: await restartServer(org.server, serverClockAt(OFFICERS_IN_2100)) };

      // Bad command lines exit 2; too few approvals exit 1 and change nothing.
      expect((await dispose(0, ['--approve', 'nothex'])).status).toBe(2);
      expect((await dispose(0, ['--dry-run', '--execute', plan.planId])).status).toBe(2);
      const tooFew = await dispose(0, ['--execute', plan.planId]);
      expect(tooFew.status).toBe(1);
      expect(tooFew.stderr).toMatch(/QUORUM_NOT_MET/);
      const one = await dispose(0, ['--approve', plan.planId]);
      expect(one.status, one.stdout + one.stderr).toBe(0);
      expect((JSON.parse(one.stdout) as PlanOut).approvedBy).toEqual([0]);
      expect((await dispose(0, ['--execute', plan.planId])).stderr).toMatch(/QUORUM_NOT_MET/);
      expect(await searchCount()).toBe(4);

      const two = await dispose(1, ['--approve', plan.planId]);
      expect(two.status, two.stdout + two.stderr).toBe(0);
      expect((JSON.parse(two.stdout) as PlanOut).approvedBy).toEqual([0, 1]);
      const run = await dispose(1, ['--execute', plan.planId]);
      expect(run.stderr.includes('Error')).toBe(false);
      expect(run.status, run.stderr).toBe(0);
      const done = JSON.parse(run.stdout) as ExecOut;
      expect(done.state).toBe('executed');
      expect(done.approvers).toEqual([0, 1]);
      expect(done.certificateLogIndex).not.toBeNull();
      // The certificate: a bucket loses its keys exactly when none of its records is left
      // (the held message keeps its bucket's); the server's database agrees.
      expect(done.buckets.map((b) => b.bucketId).sort()).toEqual(planned.map((b) => b.bucketId).sort());
      for (const b of done.buckets) {
        const p = planned.find((x) => x.bucketId === b.bucketId)!;
        expect([b.records, b.held]).toEqual([p.records, p.held]);
        expect(b.keysDestroyed).toBe(b.held === 0);
        const blobs = keyBlobsOf(b.bucketId);
        if (b.keysDestroyed) expect(blobs).toEqual({ officerWraps: 0, indexKeys: 0 });
        else expect(blobs).toEqual(blobsBefore.get(b.bucketId));
      }
      const destroyed = done.buckets.filter((b) => b.keysDestroyed).map((b) => b.bucketId);
      const kept = done.buckets.filter((b) => !b.keysDestroyed).map((b) => b.bucketId);
      expect([destroyed.length > 0, kept.length > 0]).toEqual([true, true]);
      // The check can fail: a destroyed bucket held devices' index keys on the server before, and
      // the kept bucket still does.
      const stored = (id: string) => blobsBefore.get(id)!.officerWraps + blobsBefore.get(id)!.indexKeys;
      expect(destroyed.some((id) => stored(id) > 0)).toBe(true);
      expect(kept.every((id) => stored(id) > 0)).toBe(true);
      // The executing officer's profile lost its local wraps of the destroyed buckets; the
      // other officer's keeps them until it runs --execute too.
      expect(done.forgotten).toEqual({ wraps: destroyed.length, rootWraps: destroyed.length });
      const gone = (w: LocalWraps) => [...w.officer, ...w.root].filter((id) => destroyed.includes(id));
      expect(gone(localWraps(officerDirs[1]!))).toEqual([]);
      expect(localWraps(officerDirs[1]!).officer).toEqual(expect.arrayContaining(kept));
      expect(gone(localWraps(officerDirs[0]!)).length).toBe(2 * destroyed.length);

      // The unheld records are gone: search (which opens and verifies every hit) finds
      // nothing, and the server no longer stores them; the held ones are still stored.
      expect(await searchCount('quarterly')).toBe(0);
      expect(storedOf(unheldIndexes)).toEqual([]);
      expect(storedOf(heldIndexes)).toEqual(heldIndexes);
      // The held records still open and verify, though they shared signed upload batches with
      // disposed ones: the server keeps each batch's hashes (migration 18), not only its rows.
      expect(await searchCount('counsel')).toBe(2);
      // Executing again changes nothing on the server; it deletes officer 1's local wraps too.
      // It only reads the executed plan and checks its certificate, not the plan: with the
      // plan's held leaves hidden (which the plan check reads) it still succeeds.
      const hideHeld = (from: string, to: string) =>
        serverDbWrite((db) =>
          db.prepare('UPDATE disposition_held SET plan_id = ? WHERE plan_id = ?').run(to, from),
        );
      hideHeld(plan.planId, `hidden-${plan.planId}`);
      const rerun = await dispose(0, ['--execute', plan.planId]);
      hideHeld(`hidden-${plan.planId}`, plan.planId);
      expect(rerun.status, rerun.stderr).toBe(0);
      expect((JSON.parse(rerun.stdout) as ExecOut).forgotten).toEqual({
        wraps: destroyed.length,
        rootWraps: destroyed.length,
      });
      expect(gone(localWraps(officerDirs[0]!))).toEqual([]);
      expect(storedOf(heldIndexes)).toEqual(heldIndexes);
      const after = JSON.parse((await dispose(0, ['--dry-run', '--as-of', '2100-01-01'])).stdout) as PlanOut;
      const again = after.buckets.filter((b) => plan.buckets.some((p) => p.bucketId === b.bucketId));
      expect(again.every((b) => b.records === 0)).toBe(true);
      expect(again.reduce((n, b) => n + b.held, 0)).toBe(2);

      // The log still verifies as an extension of what the witness saw, and holds the certificate.
      const index = done.certificateLogIndex!;
      for (let i = 0; i < ATTEMPTS && (await treeSize()) <= index; i++) await sleep(500);
      const size = await treeSize();
      expect(size).toBeGreaterThan(index);
      const w = await witness();
      expect(w.status).toBe(0);
      expect((JSON.parse(w.stdout) as { outcome: string }).outcome).toBe('extended');
      const bundle = Math.floor(index / 256);
      const width = Math.min(256, size - bundle * 256);
      const r = await fetch(
        `${org.server.url}/v1/orgs/${org.orgId}/log/${entryBundlePath({ index: bundle, width })}`,
      );
      expect(r.status).toBe(200);
      const entry = decodeLogEntry(
        decodeEntryBundle(new Uint8Array(await r.arrayBuffer()), width)[index % 256]!,
      );
      expect(entry).toMatchObject({ type: 'disposition', bucket: plan.buckets[0]!.bucketId });
      expect(Buffer.from(entry.hash).toString('hex')).toBe(done.certificateHash);

      // The daily completeness check (every relay receipt due at once: grace 0) after the first
      // disposition: the disposed records are not gaps and their receipts are not unarchived;
      // the report names the certificate (verified: m approvals, the plan's leaf digest
      // recomputed from the log less the held leaves) and what it disposed of. The
      // disposition.execute act that names the plan follows the certificate into the log.
      const policy = await custos([
        ...['console', 'completeness', 'policy', '--silent-after', '7d', '--grace', '0s'],
        ...officers[0]!,
      ]);
      expect(policy.status, policy.stderr).toBe(0);
      // Until the certificate and its disposition.execute act are in a signed checkpoint.
      let check = await completeness();
      await until(
        async () => check.code === 0 || (check = await completeness()).code === 0,
        'a complete completeness report',
        POLL_CAP_MS,
      );
      expect(check.report.findings).toEqual([]);
      expect([check.code, check.report.complete]).toEqual([0, true]);
      const disposedTotal = planned.reduce((n, b) => n + b.records, 0);
      expect(check.report.dispositions).toEqual([
        expect.objectContaining({
          certificateHash: done.certificateHash,
          logIndex: index,
          planId: plan.planId,
          approvers: [0, 1],
          records: disposedTotal,
          problem: null,
        }),
      ]);
      expect(check.report.recordsDisposed).toBe(disposedTotal);
      // Both devices' chains run through disposed and held records of the same bucket.
      const archiving = check.report.devices.filter((d) => d.records > 0);
      expect(archiving.length).toBe(2);
      for (const d of archiving) {
        expect(d.recordsDisposed).toBeGreaterThan(0);
        expect(d.records).toBeGreaterThan(d.recordsDisposed);
      }
      const text = await custos(['console', 'completeness', ...officers[0]!]);
      expect(text.status, text.stdout + text.stderr).toBe(0);
      expect(text.stdout).toContain(
        `DISPOSED: ${disposedTotal} record(s) under certificate ${done.certificateHash.slice(0, 16)}… (plan ${plan.planId.slice(0, 16)}…, log ${index}`,
      );
      // A record no plan approved, gone from the server (a held one, in the disposed bucket's
      // span): still a gap, though its neighbours were disposed.
      const victim = serverDb(
        (db) =>
          db
            .prepare('SELECT device_id AS d, seq AS s FROM archive_records WHERE log_index = ?')
            .get(heldIndexes[0]) as { d: string; s: number },
      );
      const rw = new Database(join(org.server.dataDir, 'custos.sqlite'), { fileMustExist: true });
      try {
        rw.pragma('busy_timeout = 10000');
        expect(
          rw.prepare('DELETE FROM archive_records WHERE log_index = ?').run(heldIndexes[0]).changes,
        ).toBe(1);
      } finally {
        rw.close();
      }
      const missing = await completeness();
      expect(missing.code).toBe(1);
      expect(missing.report.findings).toContainEqual(
        expect.objectContaining({ kind: 'gap', deviceId: victim.d, from: victim.s, to: victim.s }),
      );
      expect(missing.report.findings.every((f) => f.kind === 'gap' || f.kind === 'unmatched-receipt')).toBe(
        true,
      );
      expect(missing.report.recordsDisposed).toBe(disposedTotal);

      // Opened keys live only in the commands' processes: after search, hold, grant,
      // dispose and execute, no profile file holds one, raw, hex or base64. Positive control:
      // a key planted in base64url is found.
      for (const d of officerDirs) expect(keysInFolder(d, keys)).toEqual([]);
      const planted = join(officerDirs[0]!, 'planted.txt');
      writeFileSync(planted, `x${keys[3]!.key.toString('base64url')}\n`);
      expect(keysInFolder(officerDirs[0]!, keys)).toEqual([
        { file: planted, name: keys[3]!.name, form: 'base64' },
      ]);
      unlinkSync(planted);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'the archive copy records each destruction with its proof, and keeps it when the server later withholds the certificate and serves a destroyed bucket’s wrap again',
    async () => {
      interface Destruction {
        bucketId: string;
        certificateHash: string;
        planId: string;
        logIndex: number;
        executedAt: number;
        recordedAt: string;
      }
      interface CopyOut {
        missingTotal: number;
        missing: { logIndex: number }[];
        destructions: Destruction[];
        destructionFindings: { bucketId: string; recorded: Destruction | null; server: string }[];
        disposals: { certificateHash: string; planId: string; records: number }[];
        disposalFindings: { recorded: { certificateHash: string } | null; records: number; server: string }[];
        dispositionProblems: string[];
      }
      const copyDir = join(dir, 'archive-copy');
      const copy = async () => {
        const r = await custos(['console', 'archive-copy', '--out', copyDir, ...officers[0]!, '--json']);
        return { code: r.status, out: JSON.parse(r.stdout) as CopyOut, stderr: r.stderr };
      };
      const stateOf = () =>
        JSON.parse(readFileSync(join(copyDir, 'custos-copy.json'), 'utf8')) as {
          disposedBuckets: string[];
          disposedLeaves: number[];
          destructions: Destruction[];
        };
      const bucketFileOf = (id: string) => join(copyDir, 'keys', 'buckets', `${encodeURIComponent(id)}.json`);
      const executed = serverDb(
        (db) =>
          db
            .prepare(
              `SELECT plan_id AS planId, certificate, certificate_log_index AS at FROM disposition_plans
                 WHERE state = 'executed'`,
            )
            .get() as { planId: string; certificate: Buffer; at: number },
      );
      const certificateHash = createHash('sha256').update(executed.certificate).digest('hex');
      const destroyed = serverDb((db) =>
        (
          db.prepare('SELECT bucket_id AS b FROM disposed_buckets ORDER BY bucket_id').all() as {
            b: string;
          }[]
        ).map((r) => r.b),
      );
      expect(destroyed.length).toBeGreaterThan(0);

      // Run 1: the disposition verifies; each destroyed bucket is recorded with its proof. (The
      // held record the first step deleted from the server is missing: exit 1 for that alone.)
      const first = await copy();
      expect(first.out.missingTotal, first.stderr).toBe(1);
      expect(first.out.destructionFindings).toEqual([]);
      expect(first.out.destructions.map((d) => d.bucketId).sort()).toEqual(destroyed);
      for (const d of first.out.destructions) {
        expect(d).toMatchObject({ certificateHash, planId: executed.planId });
        // The bucket's own `disposition` entry: the certificate's entries follow one another.
        expect(d.logIndex).toBeGreaterThanOrEqual(executed.at);
        expect(d.logIndex).toBeLessThan(executed.at + first.out.destructions.length + 10);
      }
      // The certificate's disposal of records is recorded too, with as many records as the copy left out.
      expect(first.out.disposals).toMatchObject([{ certificateHash, planId: executed.planId }]);
      const before = stateOf();
      expect(first.out.disposals[0]!.records).toBe(before.disposedLeaves.length);
      expect(before.destructions).toEqual(first.out.destructions);
      expect(before.disposedLeaves.length).toBeGreaterThan(0);
      const victim = destroyed[0]!;
      const victimFile = readFileSync(bucketFileOf(victim), 'utf8');
      expect(JSON.parse(victimFile)).toMatchObject({ wraps: {} });

      // The server now withholds the certificate and serves a wrap of a destroyed bucket again.
      serverDbWrite((db) => {
        db.prepare('UPDATE disposition_plans SET certificate = NULL WHERE plan_id = ?').run(executed.planId);
        db.prepare(
          `INSERT INTO bucket_key_blobs (org_id, kind, bucket_id, recipient, blob, created_by, created_at, log_index)
             VALUES (?, 'officer-wrap', ?, '0', ?, 'server', 0, 0)`,
        ).run(org.orgId, victim, randomBytes(80));
      });
      try {
        const second = await copy();
        expect(second.code, second.stderr).toBe(1);
        expect(second.out.destructionFindings.map((f) => f.bucketId).sort()).toEqual(destroyed);
        for (const f of second.out.destructionFindings) {
          expect(f.recorded).toEqual(first.out.destructions.find((d) => d.bucketId === f.bucketId));
          expect(f.server).toMatch(/does not verify: .*serves another certificate than the log commits to/);
        }
        expect(second.out.disposalFindings).toMatchObject([
          { recorded: first.out.disposals[0], records: first.out.disposals[0]!.records },
        ]);
        // Nothing of those buckets changed: the state's record, the disposed records, the keys file.
        expect(second.out.destructions).toEqual(first.out.destructions);
        const after = stateOf();
        expect([after.destructions, after.disposedBuckets, after.disposedLeaves]).toEqual([
          before.destructions,
          before.disposedBuckets,
          before.disposedLeaves,
        ]);
        expect(readFileSync(bucketFileOf(victim), 'utf8')).toBe(victimFile);
      } finally {
        serverDbWrite((db) => {
          db.prepare('UPDATE disposition_plans SET certificate = ? WHERE plan_id = ?').run(
            executed.certificate,
            executed.planId,
          );
          db.prepare("DELETE FROM bucket_key_blobs WHERE bucket_id = ? AND created_by = 'server'").run(
            victim,
          );
        });
      }

      // Honest again: the destruction verifies as recorded, and nothing is reported.
      const third = await copy();
      expect(third.out.destructionFindings).toEqual([]);
      expect(third.out.disposalFindings).toEqual([]);
      expect(third.out.destructions).toEqual(first.out.destructions);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses records sealed to a disposed bucket after the server clock went back; the device believes the disposal only once its own clock has the bucket closed, then declares them lost and archives on',
    async () => {
      // The server's clock goes back to the machine's (set back past the grace, as by a wrong
      // time step): carol's device still seals to this month's transitory bucket, whose keys
      // the plan destroyed, and its window takes records again at the server's time.
      await stopServer(org.server);
      org = { ...org, server: await restartServer(org.server) };
      const carol = join(dir, 'carol');
      const store = LocalStore.open(carol);
      try {
        await captureSealed(store, loadProfile(store), 2, 'after disposal');
      } finally {
        store.close();
      }
      let uploads = 0;
      let declarations = 0;
      /** The log index whose receipt the server withholds, as if it never logged that entry. */
      let withheld: number | undefined;
      let withheldAsks = 0;
      const counting: typeof fetch = (input, init) => {
        const path = requestPath(input);
        if (init?.method === 'POST' && path === '/v1/archive/batches') uploads++;
        if (init?.method === 'POST' && path === '/v1/archive/gaps') declarations++;
        if (withheld !== undefined && path.endsWith(`/log/receipts/${withheld}`)) {
          withheldAsks++;
          return Promise.resolve(logNotFound());
        }
        return fetch(input, init);
      };
      // At the device's own time this month's bucket still takes records, so no disposition
      // can have destroyed its keys: the device does not believe the server and changes
      // nothing (a lying server could otherwise name the current bucket and make it drop its
      // queue). Its records and the bucket key stay.
      const doubting = CustosClient.open(carol, { api: { fetch: counting } });
      try {
        await expect(doubting.uploadArchive()).rejects.toMatchObject({
          code: 'ARCHIVE_UPLOAD_FAILED',
          message: expect.stringMatching(
            /was disposed of under plan \w+, but the bucket takes records until .*not believed/,
          ),
        });
        expect([uploads, declarations]).toEqual([1, 0]);
        expect(doubting.archiveStatus().disposedBuckets).toEqual([]);
        expect(doubting.archiveStatus().declaredGaps).toEqual([]);
      } finally {
        await doubting.close();
      }
      // Once the device's clock is past the bucket's window and grace too (next month's 9th),
      // the claim is credible.
      const nextMonth = afterThisMonthsGrace();
      let deviceNow = nextMonth;
      const c = CustosClient.open(carol, { clock: () => deviceNow, api: { fetch: counting } });
      try {
        // The server refused the batch again (BUCKET_DISPOSED); the device noted the bucket and
        // declared the two records lost instead of sending them again. It keeps them queued
        // until the declaration's log entry is proven, then drops them.
        await c.uploadArchive();
        expect([uploads, declarations]).toEqual([2, 1]);
        const accepted = c.archiveStatus();
        expect(accepted.declaredGaps).toEqual([]);
        const [awaiting] = accepted.gapsAwaitingProof;
        expect(awaiting).toMatchObject({ reason: 'bucket-disposed', acceptedAt: nextMonth, overdue: false });
        expect(accepted.queued).toBeGreaterThanOrEqual(2);
        // A server that accepted the declaration but does not log it (played by withholding
        // its entry's receipt): once every other record is proven, only the declaration waits.
        withheld = awaiting!.logIndex;
        await until(
          async () => (await c.flushArchive()).proofs.waiting === 1,
          'the proofs of the records before the declared run',
        );
        // GAP_PROOF_WAIT_MS after the acceptance, custos sync checks it once and moves on,
        // instead of asking again until its PROOF_WAIT_MS is over.
        deviceNow = nextMonth + GAP_PROOF_WAIT_MS;
        withheldAsks = 0;
        expect(await flushAndVerify(c, PROOF_WAIT_MS)).toEqual({
          uploaded: 0,
          verified: 0,
          waiting: 1,
          unlogged: 1,
          unloggedBatches: 0,
          unloggedRecords: 0,
        });
        expect(withheldAsks).toBe(1);
        const found = { ...awaiting, lastMissingAt: deviceNow, waitedMs: GAP_PROOF_WAIT_MS, overdue: false };
        expect(c.archiveStatus().gapsAwaitingProof).toEqual([found]);
        // An hour after, the device's clock alone accuses no one (a laptop asleep since that
        // round); a round that finds the entry still missing does: overdue (the server may be
        // withholding it), the records stay.
        deviceNow = nextMonth + GAP_PROOF_OVERDUE_MS;
        expect(c.archiveStatus().gapsAwaitingProof).toEqual([found]);
        expect(await flushAndVerify(c, PROOF_WAIT_MS)).toMatchObject({ waiting: 1, unlogged: 1 });
        const overdue = c.archiveStatus();
        expect(overdue.gapsAwaitingProof).toEqual([
          { ...awaiting, lastMissingAt: deviceNow, waitedMs: GAP_PROOF_OVERDUE_MS, overdue: true },
        ]);
        expect(overdue.queued).toBe(awaiting!.lastSeq - awaiting!.firstSeq + 1);
        expect(overdue.declaredGaps).toEqual([]);
        // The server shows the entry again: the next round proves it and drops the records.
        withheld = undefined;
        await until(
          async () => (await c.flushArchive(), c.archiveStatus().declaredGaps.length === 1),
          "the proof of the declaration's log entry",
        );
        const status = c.archiveStatus();
        expect(status.gapsAwaitingProof).toEqual([]);
        const { firstSeq, lastSeq, reason, logIndex } = awaiting!;
        expect(status.declaredGaps).toEqual([{ firstSeq, lastSeq, reason, logIndex }]);
        const [disposed] = status.disposedBuckets;
        const disposedRow = serverDb(
          (db) =>
            db
              .prepare('SELECT plan_id AS p FROM disposed_buckets WHERE bucket_id = ?')
              .get(disposed!.bucketId) as { p: string } | undefined,
        );
        expect(disposedRow?.p).toBe(disposed!.planId);
        const [gap] = status.declaredGaps;
        expect(gap).toMatchObject({ reason: 'bucket-disposed' });
        expect(gap!.lastSeq).toBe(gap!.firstSeq + 1);
        expect(status.undeclaredDisposed).toBeUndefined();
        expect(status.uploadedThrough).toBe(gap!.lastSeq);
        // The server logged it as the device's signed declaration; it stored no record.
        const row = serverDb(
          (db) =>
            db
              .prepare('SELECT first_seq AS f, last_seq AS l, reason AS r, log_index AS i FROM archive_gaps')
              .all() as { f: number; l: number; r: string; i: number }[],
        );
        expect(row).toEqual([{ f: gap!.firstSeq, l: gap!.lastSeq, r: 'bucket-disposed', i: gap!.logIndex }]);
        expect(recordsOf(disposed!.bucketId)).toEqual([]);
        // Nothing is sent or declared again.
        expect(await c.uploadArchive()).toBe(0);
        expect([uploads, declarations]).toEqual([2, 1]);
        // A bucket refresh (the server still lists the bucket) does not bring its key back.
        await c.refreshKeys();
      } finally {
        await c.close();
      }
      const shown = await custos(['archive', 'status', '--profile', carol]);
      expect(shown.status, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(
        /Declared lost: records \d+–\d+ \(bucket-disposed, log \d+\) — sealed to a disposed bucket/,
      );
      expect(shown.stdout).not.toContain('Not yet declared');
      // No transitory bucket but the disposed one covers today: capture refuses to seal (and the
      // send with it) instead of sealing more records that could never be archived.
      const again = LocalStore.open(carol);
      try {
        await expect(captureSealed(again, loadProfile(again), 1, 'later')).rejects.toMatchObject({
          code: 'NO_BUCKET_KEY',
        });
      } finally {
        again.close();
      }

      // In next month's window (server and device), carol's next record is sealed to next
      // month's transitory bucket and archives after the declared run, with a verified receipt.
      await stopServer(org.server);
      org = { ...org, server: await restartServer(org.server, serverClockAt(nextMonth)) };
      const later = LocalStore.open(carol);
      try {
        await captureSealed(later, loadProfile(later), 1, 'next month', () => nextMonth);
      } finally {
        later.close();
      }
      // A server that acknowledges the batch but does not log it (played by withholding every
      // receipt): GAP_PROOF_WAIT_MS after the acknowledgement, custos sync checks the record
      // once and moves on; a round an hour after finds the batch overdue; the record stays queued.
      let receiptsWithheld = true;
      let receiptAsks = 0;
      const withholding: typeof fetch = (input, init) => {
        if (receiptsWithheld && requestPath(input).includes('/log/receipts/')) {
          receiptAsks++;
          return Promise.resolve(logNotFound());
        }
        return fetch(input, init);
      };
      let laterNow = nextMonth;
      const c2 = CustosClient.open(carol, { clock: () => laterNow, api: { fetch: withholding } });
      try {
        const { lastSeq } = c2.archiveStatus().declaredGaps[0]!;
        await until(
          async () => (await c2.flushArchive(), c2.archiveStatus().batchesAwaitingProof.length === 1),
          'the acknowledgement of the record after the declared run',
          60_000,
        );
        const [batch] = c2.archiveStatus().batchesAwaitingProof;
        expect(batch).toEqual({
          ...{ firstSeq: lastSeq + 1, lastSeq: lastSeq + 1 },
          ...{ acknowledgedAt: nextMonth, lastMissingAt: nextMonth, waitedMs: 0, overdue: false },
        });
        laterNow = nextMonth + GAP_PROOF_WAIT_MS;
        receiptAsks = 0;
        expect(await flushAndVerify(c2, PROOF_WAIT_MS)).toEqual({
          ...{ uploaded: 0, verified: 0, waiting: 1, unlogged: 0 },
          ...{ unloggedBatches: 1, unloggedRecords: 1 },
        });
        expect(receiptAsks).toBe(1);
        const found = { ...batch, lastMissingAt: laterNow, waitedMs: GAP_PROOF_WAIT_MS };
        expect(c2.archiveStatus().batchesAwaitingProof).toEqual([found]);
        // An hour after, overdue once a round finds it still missing, not before.
        laterNow = nextMonth + GAP_PROOF_OVERDUE_MS;
        expect(c2.archiveStatus().batchesAwaitingProof).toEqual([found]);
        expect(await flushAndVerify(c2, PROOF_WAIT_MS)).toMatchObject({ waiting: 1, unloggedBatches: 1 });
        const overdue = c2.archiveStatus();
        expect(overdue.batchesAwaitingProof).toEqual([
          { ...batch, lastMissingAt: laterNow, waitedMs: GAP_PROOF_OVERDUE_MS, overdue: true },
        ]);
        expect(overdue.queued).toBe(1);
        // The server shows the receipt again: the next round proves the record and drops it.
        receiptsWithheld = false;
        await until(
          async () => (await c2.flushArchive(), c2.archiveStatus().queued === 0),
          'the receipt of the record after the declared run',
          60_000,
        );
        expect(c2.archiveReceipts().map((r) => r.seq)).toContain(lastSeq + 1);
        expect(c2.archiveStatus().batchesAwaitingProof).toEqual([]);
      } finally {
        await c2.close();
      }
    },
    STEP_TIMEOUT_MS,
  );
});
