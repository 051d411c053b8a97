/**
 * End to end, with real processes (docs/officers.md "Random sampling", "Legal holds",
 * "Retention and disposition"): a `custos server` started with the operator settings
 * `--disposition-step 1 --disposition-request-ms 0` (one record per step, one step per
 * execute request), two users who exchange a few dozen messages, and two officers.
 *
 * 1. Sampling at a configured rate (50 %): the server queues exactly the records whose
 *    HMAC draw falls below the rate — recomputed here from the server's secret — and
 *    `custos console review next` shows the oldest of them as a random sample.
 * Once the messages are archived, the server restarts with its clock past this month's
 * late-upload grace (test/server-clock.ts): only then may a disposition plan this month's buckets.
 *
 * 2. Date-range holds: a hold on today keeps every record through an executed disposition
 *    (nothing destroyed, keys kept, everything still opens); a hold on a past month keeps
 *    nothing.
 * 3. An interrupted disposition: the server is SIGKILLed while `custos console dispose
 *    --execute` drives it, as soon as the console reports the first record disposed; the
 *    server restarts and a second `--execute` resumes. Every unheld record is destroyed
 *    exactly once (the certificate's counts equal the plan's), the query-held records still
 *    open and verify, there is one certificate, and the log still verifies as an extension
 *    of what the witness saw before the kill.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CustosClient } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartServer, stopServer, type ServerArgs } from './client-support.js';
import {
  cleanEnv,
  cliOrg,
  custos,
  custosJson,
  enrolCeremonyOfficers,
  inviteAndEnrol,
  MAIN,
  startChat,
  type CliOrg,
} from './cli-support.js';
import { cliClockAt, OFFICERS_IN_2100, serverClockAt } from './server-clock.js';

const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 1_200_000;
const ATTEMPTS = 60;
/** Messages sent in bulk: each is archived twice (sender's and recipient's device). */
const BULK = 15;
const bulkText = (k: number) => `bulk ledger entry ${k}`;
/** One more message, under a query hold throughout. */
const HELD = 'ledger entry under counsel hold';
/** One record per step and one step per request: an execution of many requests. */
const SERVER: ServerArgs = { serverArgs: ['--disposition-step', '1', '--disposition-request-ms', '0'] };
/** 50 %, in the CLI's percent. */
const RATE_PERCENT = '50';
const DRAW_RANGE = 2 ** 48;

interface PlanOut {
  planId: string;
  state: string;
  approvedBy: number[];
  buckets: { bucketId: string; retentionClass: string; records: number; held: number }[];
}
interface CertBucket {
  bucketId: string;
  records: number;
  held: number;
  keysDestroyed: boolean;
}
interface ExecOut extends Omit<PlanOut, 'buckets'> {
  certificateLogIndex: number | null;
  certificateHash: string;
  approvers: number[];
  buckets: CertBucket[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly { records: number }[]) => xs.reduce((n, b) => n + b.records, 0);
const sumHeld = (xs: readonly { held: number }[]) => xs.reduce((n, b) => n + b.held, 0);

describe('officer sampling, date holds and a disposition interrupted by a server kill (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let server: CliOrg['server'];
  let officers: string[][];
  /** The server's settings with its clock past this month's late-upload grace (set once the messages are archived). */
  let later: ServerArgs = SERVER;

  const officer = (k: number, args: string[], env = {}) => custos([...args, ...officers[k]!, '--json'], env);
  /** Approving and executing plans as of 2100 happens in 2100 (the console refuses a plan as of its future). */
  const dispose = (k: number, args: string[]) =>
    officer(k, ['console', 'dispose', ...args], args[0] === '--dry-run' ? {} : cliClockAt(OFFICERS_IN_2100));
  const searchIndexes = async (word: string): Promise<number[]> =>
    (
      await custosJson<{ matches: { logIndex: number }[] }>(['console', 'search', word, ...officers[0]!])
    ).matches
      .map((m) => m.logIndex)
      .sort((a, b) => a - b);
  /** Reads the server's own database (read-only): what it stores, not what it says. */
  const db = <T>(read: (d: Database.Database) => T): T => {
    const d = new Database(join(server.dataDir, 'custos.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return read(d);
    } finally {
      d.close();
    }
  };
  const storedOf = (indexes: readonly number[]): number[] =>
    db((d) =>
      (d.prepare('SELECT log_index AS i FROM archive_records').all() as { i: number }[]).map((r) => r.i),
    )
      .filter((i) => indexes.includes(i))
      .sort((a, b) => a - b);
  const witness = (state: string) =>
    custos(['verify', 'log', '--server', server.url, '--org', org.orgId, '--state', state, '--json']);
  /** Dry run far in the future, both approvals; resolves to the plan. */
  const planAndApprove = async (): Promise<PlanOut> => {
    const dry = await dispose(0, ['--dry-run', '--as-of', '2100-01-01']);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as PlanOut;
    for (const k of [0, 1]) {
      const a = await dispose(k, ['--approve', plan.planId]);
      expect(a.status, a.stderr).toBe(0);
    }
    return plan;
  };
  const hold = async (args: string[]): Promise<string> => {
    const r = await officer(0, ['console', 'hold', 'create', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { hold: { holdId: string } }).hold.holdId;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-dispose-resume-'));
    org = await cliOrg(dir, 'Example Agency', SERVER);
    server = org.server;
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    officers = await enrolCeremonyOfficers(org, dir);
    // Set before anything is archived, so every record is drawn at this rate.
    const rate = await custosJson<{ ppm: number }>([
      'console',
      'review',
      'sample-rate',
      RATE_PERCENT,
      ...officers[0]!,
    ]);
    expect(rate.ppm).toBe(500_000);
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
    // One `custos chat` sends them all, in order (lines piped, then /quit; it uploads its records
    // before it exits): one process instead of a `custos send` each.
    const texts = [...Array.from({ length: BULK }, (_, k) => bulkText(k)), HELD];
    const chat = startChat(['bob', '--profile', alice]);
    chat.child.stdin.end(`${[...texts, '/quit'].join('\n')}\n`);
    expect(await chat.exited, chat.output()).toBe(0);
    expect(chat.output()).not.toMatch(/^custos chat: /m);
    for (const t of texts) expect(chat.output()).toContain(t);
    await custosJson(['sync', '--profile', bob]);
    // This month's buckets, which hold every record, can be disposed of only once they take no
    // more records and their retention has run out: the server restarts on the same data and
    // address with its clock at the officers' date in 2100, past both.
    later = serverClockAt(OFFICERS_IN_2100, SERVER);
    await stopServer(server);
    server = await restartServer(server, later);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (server !== undefined) await stopServer(server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Records carrying the word 'ledger' (every message of the test), and every stored record. */
  let ledger: number[] = [];
  let all: number[] = [];

  it(
    'samples exactly the records whose draw falls below the configured rate, and review next shows one',
    async () => {
      const total = 2 * (BULK + 1);
      for (let i = 0; i < ATTEMPTS && ledger.length < total; i++) {
        ledger = await searchIndexes('ledger');
        if (ledger.length < total) await sleep(500);
      }
      expect(ledger).toHaveLength(total);
      // The expected sample, recomputed from the server's secret and each record's hash.
      const { secret, records } = db((d) => ({
        secret: (d.prepare('SELECT sample_secret AS s FROM review_settings').get() as { s: Buffer }).s,
        records: d.prepare('SELECT log_index AS i, record_hash AS h FROM archive_records').all() as {
          i: number;
          h: Buffer;
        }[],
      }));
      const expected = records
        .filter((r) => createHmac('sha256', secret).update(r.h).digest().readUIntBE(0, 6) < 0.5 * DRAW_RANGE)
        .map((r) => r.i)
        .sort((a, b) => a - b);
      all = records.map((r) => r.i).sort((a, b) => a - b);
      // Besides the messages' records, the devices archive a few records of their own.
      expect(all).toEqual(expect.arrayContaining(ledger));
      // With 32 records at 50 %, an empty or a full sample is a one-in-four-billion draw.
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
      const queued = () =>
        db((d) =>
          (
            d.prepare('SELECT log_index AS i FROM review_items WHERE sampled = 1').all() as { i: number }[]
          ).map((r) => r.i),
        ).sort((a, b) => a - b);
      for (let i = 0; i < ATTEMPTS && queued().length < expected.length; i++) await sleep(500);
      expect(queued()).toEqual(expected);
      const next = await officer(0, ['console', 'review', 'next', '--context', '0']);
      expect(next.status, next.stderr).toBe(0);
      const n = JSON.parse(next.stdout) as {
        item: { logIndex: number; sampled: boolean; rules: unknown[] };
        open: number;
        record: { text: string; proof: string };
      };
      expect(n.item).toMatchObject({ logIndex: expected[0], sampled: true, rules: [] });
      expect(n.open).toBe(expected.length);
      expect(n.record.proof).toBe('verified');
      expect(n.record.text).toMatch(/ledger entry/);
      const human = await custos(['console', 'review', 'next', '--context', '0', ...officers[0]!]);
      expect(human.stdout).toContain('random sample');
    },
    STEP_TIMEOUT_MS,
  );

  let held: number[] = [];
  let unheld: number[] = [];

  it(
    'keeps every record received within a date-range hold through a disposition; a past range keeps none',
    async () => {
      await hold(['--query', '"counsel hold"', '--matter', 'M-QUERY']);
      held = await searchIndexes('counsel');
      unheld = all.filter((i) => !held.includes(i));
      expect(held).toHaveLength(2);
      expect(unheld.length).toBeGreaterThanOrEqual(2 * BULK);
      const today = new Date().toISOString().slice(0, 10);
      const past = await hold(['--from', '2025-01-01', '--to', '2025-01-31', '--matter', 'M-PAST']);
      const now = await hold(['--from', today, '--to', today, '--matter', 'M-TODAY']);
      const list = JSON.parse((await officer(0, ['console', 'hold', 'list'])).stdout) as {
        holds: { holdId: string; kind: string; from: number | null; to: number | null }[];
      };
      const dates = list.holds.filter((h) => h.kind === 'dates').map((h) => h.holdId);
      expect(dates.sort()).toEqual([past, now].sort());

      const p1 = await planAndApprove();
      // Every record is held (by today's hold; two also by the query hold): nothing to destroy.
      expect([sum(p1.buckets), sumHeld(p1.buckets)]).toEqual([0, all.length]);
      const run = await dispose(1, ['--execute', p1.planId]);
      expect(run.status, run.stderr).toBe(0);
      const done = JSON.parse(run.stdout) as ExecOut;
      expect([sum(done.buckets), sumHeld(done.buckets)]).toEqual([0, all.length]);
      // A bucket keeps its keys while any of its records remains (empty buckets lose theirs).
      expect(done.buckets.filter((b) => b.held > 0 && b.keysDestroyed)).toEqual([]);
      expect(storedOf(all)).toEqual(all);
      expect(await searchIndexes('ledger')).toEqual(ledger);

      // Released, today's hold keeps nothing more; the past range never covered these records.
      const rel = await officer(0, ['console', 'hold', 'release', now, '--reason', 'range reviewed']);
      expect(rel.status, rel.stderr).toBe(0);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'resumes a disposition whose server was killed half-way: unheld records destroyed once, held ones open',
    async () => {
      const state = join(dir, 'witness.json');
      expect((await witness(state)).status).toBe(0);
      const plan = await planAndApprove();
      // The past-range hold is still active and holds nothing; the query hold holds two.
      expect([sum(plan.buckets), sumHeld(plan.buckets)]).toEqual([unheld.length, held.length]);

      // Drive the execution and kill the server as soon as the console reports a record disposed.
      const child = spawn(
        process.execPath,
        [MAIN, 'console', 'dispose', '--execute', plan.planId, ...officers[1]!, '--json'],
        { env: cleanEnv(cliClockAt(OFFICERS_IN_2100)) },
      );
      child.stdin.end();
      let stderr = '';
      let killedAt: string | null = null;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /executing, ([1-9]\d*) record\(s\) disposed/.exec(stderr);
        if (m !== null && killedAt === null) {
          killedAt = m[1]!;
          server.child.kill('SIGKILL');
        }
      });
      const status = await new Promise<number | null>((r) => child.on('close', r));
      expect(killedAt, stderr).not.toBeNull();
      expect(status).not.toBe(0);
      await new Promise<void>((r) =>
        server.child.exitCode !== null || server.child.signalCode !== null
          ? r()
          : server.child.on('exit', () => r()),
      );

      // Half-way: some unheld records are gone, others are not, and no certificate exists yet.
      const left = storedOf(unheld);
      expect(left.length).toBeGreaterThan(0);
      expect(left.length).toBeLessThan(unheld.length);
      expect(storedOf(held)).toEqual(held);
      expect(
        db(
          (d) =>
            (
              d.prepare('SELECT state FROM disposition_plans WHERE plan_id = ?').get(plan.planId) as {
                state: string;
              }
            ).state,
        ),
      ).toBe('executing');

      server = await restartServer(server, later);
      const resumed = await dispose(0, ['--execute', plan.planId]);
      expect(resumed.status, resumed.stderr).toBe(0);
      const done = JSON.parse(resumed.stdout) as ExecOut;
      expect(done.state).toBe('executed');
      expect(done.approvers).toEqual([0, 1]);
      // Exactly once: per bucket, the certificate counts the plan's records, no more, no less.
      const byBucket = (xs: readonly { bucketId: string; records: number; held: number }[]) =>
        xs.map((b) => [b.bucketId, b.records, b.held]).sort();
      expect(byBucket(done.buckets)).toEqual(byBucket(plan.buckets));
      expect(storedOf(unheld)).toEqual([]);
      expect(storedOf(held)).toEqual(held);
      // The held records still open and verify (search opens each hit and checks its proof).
      expect(await searchIndexes('counsel')).toEqual(held);
      expect(await searchIndexes('bulk')).toEqual([]);

      // One certificate: executing again returns the same one, and the log has one act for it.
      const again = JSON.parse((await dispose(1, ['--execute', plan.planId])).stdout) as ExecOut;
      expect([again.certificateHash, again.certificateLogIndex]).toEqual([
        done.certificateHash,
        done.certificateLogIndex,
      ]);
      let audit: { acts: { kind: string; subject: string | null }[] } = { acts: [] };
      for (let i = 0; i < ATTEMPTS; i++) {
        audit = JSON.parse((await officer(0, ['console', 'audit'])).stdout) as typeof audit;
        if (audit.acts.some((a) => a.kind === 'disposition-execute' && a.subject === plan.planId)) break;
        await sleep(500);
      }
      expect(
        audit.acts.filter((a) => a.kind === 'disposition-execute' && a.subject === plan.planId),
      ).toHaveLength(1);

      // The log still verifies as an extension of what the witness saw before the kill.
      for (let i = 0; i < ATTEMPTS; i++) {
        const r = await fetch(`${server.url}/v1/orgs/${org.orgId}/log`);
        if (((await r.json()) as { treeSize: number }).treeSize > done.certificateLogIndex!) break;
        await sleep(500);
      }
      const w = await witness(state);
      expect(w.status, w.stderr).toBe(0);
      expect((JSON.parse(w.stdout) as { outcome: string }).outcome).toBe('extended');
    },
    STEP_TIMEOUT_MS,
  );
});
