/**
 * Archive policy across two organisations on one real server (threat model F17): org A from
 * the ceremony template archives (`required`, alice); org B is created with
 * `custos org create --archive-policy none` (dave). Both directions of an alice ↔ dave
 * conversation: dave's `custos sync` and `custos chat` name org A in the archive notice, dave's
 * device captures and uploads nothing and says so, A's archive holds alice's records, B's log
 * gets no relay receipts; dave writing first to frank (org A) is told at once on the server's
 * word (frank's bundle answer) and then by frank's automatic delivery receipt alone (1:1 and in
 * a group), and his open chat prints it live when that receipt arrives; and a server that
 * serves B's `none` statement for org A (a tampered store row) is refused by A's next
 * enrolling client.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { peekLogEntryType } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stopServer, tempDir, until } from './client-support.js';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  startChat,
  type CliOrg,
} from './cli-support.js';

// Each step spawns the command; org B's ceremony runs the full-strength KDF.
vi.setConfig({ testTimeout: 600_000 });

const ORG_A = 'Archiving Agency';
const ORG_B = 'Open Society';
const dir = tempDir('custos-policy-e2e-');
const alice = join(dir, 'alice');
const dave = join(dir, 'dave');
const frank = join(dir, 'frank');
let a: CliOrg;
let b: CliOrg;
let aliceAddress: string;
let daveAddress: string;
let frankAddress: string;

/** Runs `fn` on the server's SQLite database (a second connection; the server keeps running). */
function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(join(a.server.dataDir, 'custos.sqlite'));
  try {
    db.pragma('busy_timeout = 10000');
    return fn(db);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  a = await cliOrg(dir, ORG_A);
  aliceAddress = await inviteAndEnrol(a, 'alice', alice);
  // A second organisation on the same server, from a fresh bootstrap token.
  const token = join(dir, 'b.token');
  await custosJson(['server', 'bootstrap-token', '--data', a.server.dataDir, '--out', token]);
  const pass = join(dir, 'b-officers.pass');
  writeFileSync(pass, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
  const created = await custosJson<{
    orgId: string;
    adminProfile: string;
    archivePolicy: string;
    buckets: string[];
  }>([
    'org',
    'create',
    '--server',
    a.server.url,
    '--bootstrap-token-file',
    token,
    '--name',
    ORG_B,
    '--officers',
    '2',
    '--threshold',
    '2',
    '--out',
    join(dir, 'org-b'),
    '--passphrase-file',
    pass,
    '--archive-policy',
    'none',
  ]);
  expect(created).toMatchObject({ archivePolicy: 'none', buckets: [] });
  const bAdmin = join(dir, 'b-admin');
  await custosJson(['enroll', '--admin-profile', created.adminProfile, '--profile', bAdmin, '--unattended']);
  b = { server: a.server, url: a.url, orgId: created.orgId, adminProfile: bAdmin };
  daveAddress = await inviteAndEnrol(b, 'dave', dave);
}, 900_000);

afterAll(async () => {
  if (a !== undefined) await stopServer(a.server);
  rmSync(dir, { recursive: true, force: true });
});

const asAlice = (args: string[]): string[] => [...args, '--profile', alice];
const asDave = (args: string[]): string[] => [...args, '--profile', dave];
const asFrank = (args: string[]): string[] => [...args, '--profile', frank];
const noticeLine = (where: string): RegExp =>
  new RegExp(`Archive notice: your conversation with ${where} is archived by ${ORG_A}\\.`);

/** What `custos chat ARGS` prints up to its prompt (its header), then quits it. */
async function chatHeader(args: string[]): Promise<string> {
  const chat = startChat(args);
  try {
    await until(() => chat.output().includes('/quit'), 'chat to start', 300_000);
    return chat.output();
  } finally {
    chat.child.stdin.end('/quit\n');
    await chat.exited;
  }
}

describe('archive policy across two organisations', () => {
  it("a none org's device says it does not archive", async () => {
    const s = await custosJson<Record<string, unknown>>(asDave(['archive', 'status']));
    expect(s).toMatchObject({ required: false, archivePolicy: 'none', queued: 0, nextSeq: 0 });
    const text = await custos(asDave(['archive', 'status']));
    expect(text.stdout).toContain(`Archiving: none — ${ORG_B} does not archive`);
    const mine = await custosJson<Record<string, unknown>>(asAlice(['archive', 'status']));
    expect(mine).toMatchObject({ required: true, archivePolicy: 'required' });
  });

  it("alice → dave: dave's sync shows the archive notice naming org A", async () => {
    await custosJson(asAlice(['send', '--to', daveAddress, 'hello from an archiving agency']));
    const r = await custos(asDave(['sync', '--no-wait']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello from an archiving agency');
    expect(r.stdout).toMatch(
      new RegExp(`Archive notice: your conversation with .* is archived by ${ORG_A}\\.`),
    );
    expect(r.stdout).toContain(`Archive: none — ${ORG_B} does not archive`);
  });

  it('dave → alice: dave learns at sending that org A archives; his message carries no notice', async () => {
    const sent = await custos(asDave(['send', '--to', aliceAddress, 'a reply from an open society']));
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(
      `Not archived by ${ORG_B} (its archive policy is none). Archived by ${ORG_A}.`,
    );
    const got = await custosJson<{ events: { text?: string; archivedBy: unknown }[] }>(asAlice(['sync']));
    const reply = got.events.find((e) => e.text === 'a reply from an open society');
    expect(reply?.archivedBy).toBeNull();
  });

  it("dave's chat names org A in its header", async () => {
    expect(await chatHeader(asDave([aliceAddress]))).toContain(`Archived by: ${ORG_A}.`);
  });

  it("the server holds alice's records in A's archive, nothing from B, and no relay receipts in B's log", async () => {
    await custosJson(asAlice(['sync']));
    await custosJson(asDave(['sync', '--no-wait']));
    const s = await custosJson<Record<string, unknown>>(asDave(['archive', 'status']));
    expect(s).toMatchObject({ queued: 0, nextSeq: 0, uploadedThrough: -1, receipts: 0 });
    const counts = withDb((db) => {
      const records = (org: string) =>
        (db.prepare('SELECT COUNT(*) AS n FROM archive_records WHERE org_id = ?').get(org) as { n: number })
          .n;
      const receipts = (org: string) =>
        (db.prepare('SELECT entry FROM log_entries WHERE org_id = ?').all(org) as { entry: Buffer }[]).filter(
          (r) => peekLogEntryType(r.entry) === 'relay-receipt',
        ).length;
      return {
        aRecords: records(a.orgId),
        bRecords: records(b.orgId),
        aReceipts: receipts(a.orgId),
        bReceipts: receipts(b.orgId),
      };
    });
    // alice archived her sent message and dave's reply (and their receipts' events).
    expect(counts.aRecords).toBeGreaterThanOrEqual(2);
    expect(counts.aReceipts).toBeGreaterThanOrEqual(2);
    expect(counts.bRecords).toBe(0);
    expect(counts.bReceipts).toBe(0);
  });

  it("dave → frank first: told at the first send on the server's word, then by frank's delivery receipt at the next sync", async () => {
    frankAddress = await inviteAndEnrol(a, 'frank', frank);
    const sent = await custos(asDave(['send', '--to', frankAddress, 'first contact from an open society']));
    expect(sent.status, sent.stderr).toBe(0);
    // Told at the first send, on the server's word (frank's bundle answer names A's policy).
    expect(sent.stdout).toContain(
      `Not archived by ${ORG_B} (its archive policy is none). Archived by ${ORG_A} (the server's word: no device of it has confirmed it yet).`,
    );
    // frank's device receives and answers with the automatic delivery receipt (carrying A's notice).
    const got = await custos(asFrank(['sync', '--no-wait']));
    expect(got.stdout).toContain('first contact from an open society');
    // frank's device confirms it: dave's next sync says so, though no message came back.
    const r = await custos(asDave(['sync', '--no-wait']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('No new messages.');
    expect(r.stdout).toMatch(noticeLine('.*'));
    // Told once: the next sync has nothing new to say.
    const quiet = await custos(asDave(['sync', '--no-wait']));
    expect(quiet.stdout).not.toContain('Archive notice');
    // The chat header names A from frank's notice (no longer the server's word alone).
    expect(await chatHeader(asDave([frankAddress]))).toContain(`Archived by: ${ORG_A}.`);

    // In a group dave creates with frank: frank's receipt for dave's first group message.
    const g = await custosJson<{ id: string }>(asDave(['group', 'create', 'Open talks', frankAddress]));
    await custos(asFrank(['sync', '--no-wait']));
    await custosJson(asDave(['send', '--group', g.id, 'hello group']));
    await custos(asFrank(['sync', '--no-wait']));
    const j = await custosJson<{ events: unknown[]; archiveNotices: string[] }>(
      asDave(['sync', '--no-wait']),
    );
    expect(j.events).toEqual([]);
    expect(j.archiveNotices).toEqual([expect.stringMatching(noticeLine('group "Open talks"'))]);
  });

  it("dave's open chat prints the notice frank's delivery receipt brings (a new group)", async () => {
    const g = await custosJson<{ id: string }>(asDave(['group', 'create', 'Live talks', frankAddress]));
    await custos(asFrank(['sync', '--no-wait']));
    const chat = startChat(asDave([g.id]));
    try {
      await until(() => chat.output().includes('/quit'), 'chat to start', 300_000);
      // No device of A has spoken in this group yet: the header has the server's word only.
      expect(chat.output()).toContain(`Archived by: ${ORG_A} (the server's word`);
      chat.child.stdin.write('typed live in the group\n');
      await until(
        () => chat.output().includes('typed live in the group'),
        'the chat line to go out',
        300_000,
      );
      expect(chat.output()).not.toContain('Archive notice');
      await custos(asFrank(['sync', '--no-wait']));
      await until(
        () => chat.output().includes(`Archive notice: this conversation is archived by ${ORG_A}.`),
        "frank's receipt to bring the notice",
        300_000,
      );
    } finally {
      chat.child.stdin.end('/quit\n');
      await chat.exited;
    }
  });

  it("a server serving B's none statement for org A is refused by A's enrolling client", async () => {
    const inv = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      'erin',
      '--profile',
      a.adminProfile,
    ]);
    withDb((db) => {
      const none = db
        .prepare('SELECT archive_policy_statement AS s FROM orgs WHERE org_id = ?')
        .get(b.orgId) as {
        s: Buffer;
      };
      db.prepare(
        "UPDATE orgs SET archive_policy = 'none', archive_policy_statement = ? WHERE org_id = ?",
      ).run(none.s, a.orgId);
    });
    const r = await custos([
      'enroll',
      inv.enrolmentCode,
      '--server',
      a.server.url,
      '--profile',
      join(dir, 'erin'),
      '--name',
      'erin',
      '--unattended',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/archive policy statement does not verify with the pinned org signing key/);
  });
});
