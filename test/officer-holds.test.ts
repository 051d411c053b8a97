/**
 * End to end, with real processes (docs/officers.md "Legal holds"): a `custos server`, the key
 * ceremony, a user, and an officer who runs `custos console hold`: a custodian hold and a
 * query hold are placed, listed, one is released with a reason, and the org's log — read
 * through its public tile routes — holds a `hold` entry for each act. A hold on a user that
 * does not exist, a second release, a release without a reason and a command line naming
 * two criteria each fail clearly and change nothing. The release is signed by the officer and
 * `custos console completeness` finds nothing wrong with it; a release the server writes into
 * its own database and log, signed by no officer, is a HOLD MISMATCH naming the hold. With
 * real messages archived by real devices, the server's held-records check (read from the
 * server's own database) covers exactly the records `custos console search` finds for the
 * same words.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { decodeHoldRelease, holdReleaseActDetail, holdReleaseReasonHash, type LogEntry } from '@custos/core';
import { heldRecordIds } from '../packages/server/src/holds/held-records.js';
import type { DeviceId, OrgId } from '../packages/server/src/ids.js';
import { sequencingAuditSink } from '../packages/server/src/log-service/audit-sequencing.js';
import type { HoldId } from '../packages/server/src/store/hold-stores.js';
import { storesOver } from '../packages/server/src/store/open-store.js';
import { openSqliteDatabase } from '../packages/server/src/store/sqlite/sqlite-database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';
import { stopServer } from './client-support.js';
import { logEntries } from './client-records.js';

/** The ceremony and officer commands run the full-strength passphrase KDF: slow on a busy machine. */
const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 300_000;
/** Attempts while waiting for the log integrator (a checkpoint about every 250 ms). */
const LOG_ATTEMPTS = 60;

const TEXTS = ['The quarterly budget review is tomorrow', 'lunch at noon?', 'Budget review moved to Friday'];

interface Hold {
  holdId: string;
  kind: string;
  matter: string;
  custodian: string | null;
  buckets: string[];
  createdBy: string;
  createdByUser: string | null;
  releasedBy: string | null;
  releasedByUser: string | null;
  releasedAt: number | null;
  releaseReason: string | null;
  releaseStatement: string | null;
  releaseSignature: string | null;
  placedDetail: string | null;
}

/** What `custos console completeness --json` says of holds. */
interface Completeness {
  findings: { kind: string; holdId?: string; aspect?: string; problem?: string }[];
  holdScopeCandidates: number;
}

describe('officer legal holds (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let aliceUser: string;
  let officer: string[];
  /** The officer's user id (the address `admin invite` answered). */
  let officerUser: string;

  const hold = (args: string[]) => custos(['console', 'hold', ...args, ...officer]);
  const holdJson = <T>(args: string[]) => custosJson<T>(['console', 'hold', ...args, ...officer]);
  const list = async () => (await holdJson<{ holds: Hold[] }>(['list'])).holds;
  /** The completeness check's report (it exits 1 on any finding, of devices too). */
  const completeness = async (): Promise<Completeness> => {
    const r = await custos(['console', 'completeness', ...officer, '--json']);
    expect([0, 1], r.stderr).toContain(r.status);
    return JSON.parse(r.stdout) as Completeness;
  };
  /** The completeness check's hold findings. */
  const holdFindings = async (): Promise<Completeness['findings']> =>
    (await completeness()).findings.filter((f) => f.kind === 'hold-mismatch');
  const holdEntries = async (want: number): Promise<LogEntry[]> => {
    let last: LogEntry[] = [];
    for (let i = 0; i < LOG_ATTEMPTS; i++) {
      const all = await logEntries(org.server, { orgId: org.orgId });
      last = all.filter((e) => e.type === 'hold');
      if (last.length >= want) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-holds-'));
    org = await cliOrg(dir);
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    aliceUser = aliceAddress.split('@')[0]!;
    const pp = join(dir, 'officer.pass');
    writeFileSync(pp, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    const officerDir = join(dir, 'org', 'officers', 'officer-1');
    officer = ['--profile', officerDir, '--passphrase-file', pp];
    const inv = await custosJson<{ enrolmentCode: string; address: string }>([
      'admin',
      'invite',
      '--user',
      'officer-one',
      '--role',
      'officer',
      '--profile',
      org.adminProfile,
    ]);
    officerUser = inv.address.split('@')[0]!;
    await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', officerDir]);
    // Devices attach blind tokens once they hold their bucket's index key (docs/search.md §6).
    await custosJson(['console', 'grant-index-keys', ...officer]);
    for (const p of [alice, bob]) {
      const client = CustosClient.open(p);
      try {
        await client.refreshKeys();
      } finally {
        await client.close();
      }
    }
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    for (const text of TEXTS) await custosJson(['send', '--to', 'bob', text, '--profile', alice]);
    await custosJson(['sync', '--profile', bob]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'places a custodian and a query hold, lists them, releases one, and logs every act',
    async () => {
      const c = await holdJson<{ hold: Hold }>([
        'create',
        '--custodian',
        `${aliceUser}@${org.orgId}`,
        '--matter',
        'M-2026-014',
      ]);
      expect(c.hold).toMatchObject({
        kind: 'custodian',
        custodian: aliceUser,
        matter: 'M-2026-014',
        releasedAt: null,
      });
      const q = await holdJson<{ hold: Hold; bucketsCovered: string[]; bucketsWithoutWrap: string[] }>([
        'create',
        '--query',
        'quarterly "budget review"',
        '--matter',
        'M-2026-015',
      ]);
      expect(q.hold.kind).toBe('query');
      // The ceremony registers this month's and next month's buckets for each retention class.
      expect(q.bucketsCovered.length).toBeGreaterThanOrEqual(2);
      expect(q.bucketsWithoutWrap).toEqual([]);
      expect([...q.hold.buckets].sort()).toEqual([...q.bucketsCovered].sort());

      const listed = await list();
      expect(listed.map((h) => [h.holdId, h.kind, h.releasedAt])).toEqual([
        [c.hold.holdId, 'custodian', null],
        [q.hold.holdId, 'query', null],
      ]);
      const human = await hold(['list']);
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).toContain(
        `${q.hold.holdId}  M-2026-015  query in ${q.bucketsCovered.length} bucket(s)`,
      );
      // The server never saw the query's words.
      expect(human.stdout + JSON.stringify(listed)).not.toMatch(/quarterly|budget/);
      // Each hold is listed with its placing act's detail: counts and the matter's hash.
      const matterSha = createHash('sha256').update('M-2026-015').digest('hex');
      expect(listed[1]!.placedDetail).toMatch(
        new RegExp(`^kind=query buckets=${q.bucketsCovered.length} tokens=\\d+ matter-sha256=${matterSha}$`),
      );

      const reason = 'Custodian cleared by counsel';
      const rel = await holdJson<{ holdId: string; releasedAt: number }>([
        'release',
        c.hold.holdId,
        '--reason',
        reason,
      ]);
      expect(rel.holdId).toBe(c.hold.holdId);
      const after = await list();
      expect(after.find((h) => h.holdId === c.hold.holdId)).toMatchObject({
        releaseReason: reason,
        releasedAt: rel.releasedAt,
      });
      expect(after.find((h) => h.holdId === q.hold.holdId)?.releasedAt).toBeNull();
      // Who placed and released it: the officer's user, beside the device the log names.
      const released = after.find((h) => h.holdId === c.hold.holdId)!;
      expect(released).toMatchObject({
        createdBy: c.hold.createdBy,
        createdByUser: officerUser,
        releasedBy: c.hold.createdBy,
        releasedByUser: officerUser,
      });
      const by = `by user ${officerUser} (device ${c.hold.createdBy})`;
      const line = (await hold(['list'])).stdout.split('\n').find((l) => l.startsWith(c.hold.holdId));
      expect(line?.replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z/g, 'T')).toBe(
        `${c.hold.holdId}  M-2026-014  custodian ${aliceUser}  placed T ${by}  released T ${by}: ${reason}`,
      );

      const entries = await holdEntries(3);
      expect(entries.map((e) => (e.type === 'hold' ? [e.holdId, e.action] : []))).toEqual([
        [c.hold.holdId, 'place'],
        [q.hold.holdId, 'place'],
        [c.hold.holdId, 'release'],
      ]);
      // The release is the officer's signed statement (officer 1 of the ceremony, index 0), and
      // the completeness check, which verifies it against the log and org.json, finds it sound.
      expect(decodeHoldRelease(Buffer.from(released.releaseStatement!, 'base64url'))).toMatchObject({
        orgId: org.orgId,
        holdId: c.hold.holdId,
        reasonSha256: holdReleaseReasonHash(reason),
        officerIndex: 0,
      });
      expect(released.releaseSignature).toMatch(/^[A-Za-z0-9_-]{86}$/);
      // The query hold's scope is matched to its act by its listed detail: one candidate.
      const report = await completeness();
      expect(report.findings.filter((f) => f.kind === 'hold-mismatch')).toEqual([]);
      expect(report.holdScopeCandidates).toBe(1);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses a hold on an unknown user, a second release, a missing reason and two criteria, changing nothing',
    async () => {
      const before = await list();
      const unknown = await hold(['create', '--custodian', 'AAAAAAAAAAAAAAAAAAAAAA', '--matter', 'M-9']);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/USER_NOT_FOUND/);
      const foreign = await hold([
        'create',
        '--custodian',
        `${aliceUser}@AAAAAAAAAAAAAAAAAAAAAA`,
        '--matter',
        'M-9',
      ]);
      expect(foreign.status).toBe(2);
      expect(foreign.stderr).toMatch(/another organisation/);
      const released = before.find((h) => h.releasedAt !== null)!;
      const twice = await hold(['release', released.holdId, '--reason', 'again']);
      expect(twice.status).toBe(1);
      expect(twice.stderr).toMatch(/HOLD_RELEASED/);
      const active = before.find((h) => h.releasedAt === null)!;
      const noReason = await hold(['release', active.holdId]);
      expect(noReason.status).toBe(2);
      expect(noReason.stderr).toMatch(/--reason/);
      const two = await hold(['create', '--custodian', aliceUser, '--query', 'x', '--matter', 'M-9']);
      expect(two.status).toBe(2);
      const noMatter = await hold(['create', '--custodian', aliceUser]);
      expect(noMatter.status).toBe(2);
      expect(await list()).toEqual(before);
      expect((await holdEntries(3)).length).toBe(3);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "covers on the server exactly the records a search finds for the hold's words or conversation",
    async () => {
      interface Found {
        matches: { logIndex: number; conversationId: string }[];
      }
      const searchUntil = async (args: string[], want: number): Promise<Found['matches']> => {
        let found: Found['matches'] = [];
        for (let i = 0; i < LOG_ATTEMPTS && found.length < want; i++) {
          found = (await custosJson<Found>(['console', 'search', ...args, ...officer])).matches;
          if (found.length < want) await new Promise((res) => setTimeout(res, 500));
        }
        return found;
      };
      const indexesOf = (m: Found['matches']) => m.map((x) => x.logIndex).sort((a, b) => a - b);
      // Each budget message is archived by alice's device and by bob's: four records; the
      // conversation has at least the six records of the three messages.
      const byWords = await searchUntil(['budget', 'review'], 4);
      expect(byWords).toHaveLength(4);
      const conversation = byWords[0]!.conversationId;
      expect(
        (await searchUntil(['--conversation', conversation], 2 * TEXTS.length)).length,
      ).toBeGreaterThanOrEqual(2 * TEXTS.length);
      const q = await holdJson<{ hold: Hold }>([
        'create',
        '--query',
        'Budget REVIEW',
        '--matter',
        'M-2026-016',
      ]);
      // Placed as a person would: the output says which records a token hold cannot cover.
      const placed = await hold(['create', '--conversation', conversation, '--matter', 'M-2026-017']);
      expect(placed.status, placed.stderr).toBe(0);
      expect(placed.stdout).toContain(
        "Records archived before their device held its bucket's index key carry no search tokens and are NOT covered",
      );
      const c = { hold: (await list()).find((h) => h.matter === 'M-2026-017')! };
      expect(c.hold.kind).toBe('conversation');
      // The server process's own database, read beside it (WAL: readers do not block it).
      const db = openSqliteDatabase(join(org.server.dataDir, 'custos.sqlite'));
      const stores = storesOver(db, 'sqlite');
      try {
        const heldBy = async (h: Hold): Promise<number[]> => {
          const out: number[] = [];
          for (const bucketId of h.buckets) {
            const rows = await stores.withTransaction((tx) =>
              heldRecordIds(tx, org.orgId as OrgId, bucketId),
            );
            for (const r of rows) if (r.holdIds.includes(h.holdId)) out.push(r.logIndex);
          }
          return out.sort((a, b) => a - b);
        };
        expect(await heldBy(q.hold)).toEqual(indexesOf(byWords));
        const heldConversation = await heldBy(c.hold);
        // Searched after the check: a record indexed late would be held (as not yet indexed) and found.
        const byConversation = await searchUntil(['--conversation', conversation], heldConversation.length);
        expect(heldConversation).toEqual(indexesOf(byConversation));
      } finally {
        await stores.close();
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'names a release the server wrote itself, signed by no officer, as a HOLD MISMATCH',
    async () => {
      const h = await holdJson<{ hold: Hold }>([
        'create',
        '--custodian',
        aliceUser,
        '--matter',
        'M-2026-018',
      ]);
      // The server's own database and log, written beside it: the hold released as an honest
      // server released them before signing, a `hold.release` act with the reason's hash alone.
      const db = openSqliteDatabase(join(org.server.dataDir, 'custos.sqlite'));
      const stores = storesOver(db, 'sqlite');
      try {
        const orgId = org.orgId as OrgId;
        const by = h.hold.createdBy as DeviceId;
        const at = Date.now();
        await stores.withTransaction(async (tx) => {
          await tx.holds.release(orgId, h.hold.holdId as HoldId, by, at, 'released by the server');
          await sequencingAuditSink.record(tx, orgId, {
            kind: 'hold.release',
            actorDeviceId: by,
            subject: h.hold.holdId,
            detail: holdReleaseActDetail('released by the server', null),
            at,
          });
        });
      } finally {
        await stores.close();
      }
      expect((await list()).find((x) => x.holdId === h.hold.holdId)).toMatchObject({
        releaseReason: 'released by the server',
        releaseStatement: null,
      });
      await holdEntries(7);
      // After the officer's signed release (first test), an unsigned one is no officer's.
      expect(await holdFindings()).toEqual([
        expect.objectContaining({
          holdId: h.hold.holdId,
          aspect: 'release-signature',
          problem: expect.stringMatching(/without an officer signature, after releases were signed/),
        }),
      ]);
      const human = await custos(['console', 'completeness', ...officer]);
      expect(human.status).toBe(1);
      expect(human.stdout).toContain(`HOLD MISMATCH hold ${h.hold.holdId}: the log releases it`);
    },
    STEP_TIMEOUT_MS,
  );
});
