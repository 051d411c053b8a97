/**
 * `custos send` killed with SIGKILL between capture and upload, end to end: a real server
 * process, profiles enrolled by the real command, and the sending client a real OS process.
 * Once alice and bob are enrolled, the server moves to another port and a proxy
 * (holding-proxy.ts) takes its address, so every request reaches the server through it.
 * The proxy holds alice's archive upload — before the server sees it, or after the server
 * stored it but before the answer reaches her — so the kill lands at a known point with no
 * hook in the client. Then `custos sync` runs again (the proxy now passes everything): the
 * record is in the log exactly once, by device sequence, and the receipt alice keeps verifies.
 * Behind the same proxy, a send stuck for good: the server stores carol's message and the
 * proxy answers 502 every time, so every later send is refused (SEND_BLOCKED); `custos
 * pending` lists it and `custos pending --discard` gives it up as possibly delivered.
 * Spawns the built command: run `npx tsc -b` first (npm test does).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { restartServer, stopServer, tempDir, until, type ServerProcess } from './client-support.js';
import { logSeqs, verifyStoredReceipt } from './client-records.js';
import { cleanEnv, cliOrg, custos, custosJson, inviteAndEnrol, MAIN, type CliOrg } from './cli-support.js';
import { startHoldingProxy, type HoldingProxy, type HoldMode } from './holding-proxy.js';
import { freePort, kill9 } from './server-process.js';

// Each step spawns the command; on a loaded machine a step takes seconds.
vi.setConfig({ testTimeout: 600_000 });

/** Longest time `custos sync` rounds may take to prove alice's queue (a hang guard). */
const SYNC_GUARD_MS = 300_000;

const dir = tempDir('custos-cli-kill-upload-');
const alice = join(dir, 'alice');
const bob = join(dir, 'bob');
let org: CliOrg;
/** The server process (after the move behind the proxy). */
let server: ServerProcess | undefined;
let proxy: HoldingProxy | undefined;
let deviceId: string;
let bobAddress: string;
/** The requests the proxy acts on (its mode passes everything else): alice's archive uploads. */
let proxied = (method: string, path: string): boolean => method === 'POST' && path === '/v1/archive/batches';

interface StatusOut {
  queued: number;
  nextSeq: number;
  uploadedThrough: number;
  receipts: number;
}

const status = (): Promise<StatusOut> => custosJson<StatusOut>(['archive', 'status', '--profile', alice]);

beforeAll(async () => {
  org = await cliOrg(dir);
  server = org.server;
  await inviteAndEnrol(org, 'alice', alice);
  bobAddress = await inviteAndEnrol(org, 'bob', bob);
  await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
  // The server moves to another port; the proxy takes its address (which every profile
  // names and devices sign into their logins: --origin keeps it the server's origin).
  const address = new URL(org.server.url);
  await stopServer(org.server);
  server = await restartServer(
    { ...org.server, url: `http://127.0.0.1:${await freePort()}` },
    { serverArgs: ['--origin', address.origin] },
  );
  proxy = await startHoldingProxy(server.url, (method, path) => proxied(method, path), Number(address.port));
  const c = CustosClient.open(alice);
  deviceId = c.profile.deviceId;
  await c.close();
}, 900_000);

afterAll(async () => {
  await proxy?.close();
  if (server !== undefined) await stopServer(server);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `custos send` as a child process, waits until the proxy holds its archive upload
 * (so the send's capture is durable: it committed before the upload began), SIGKILLs it,
 * and resolves to the seq of the record it captured.
 */
async function sendAndKillMidUpload(mode: HoldMode, text: string): Promise<number> {
  const before = await status();
  proxy!.mode = mode;
  const held = proxy!.nextHeld();
  const child = spawn(process.execPath, [MAIN, 'send', '--to', 'bob', text, '--profile', alice, '--json'], {
    env: cleanEnv(),
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exitedEarly = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`custos send exited (${code}) before its upload: ${out}`))),
  );
  const h = await Promise.race([held, exitedEarly]);
  child.removeAllListeners('exit');
  if (mode === 'hold-after-server') expect(h.serverStatus).toBe(200);
  await kill9(child);
  expect(child.signalCode).toBe('SIGKILL');
  proxy!.mode = 'pass';
  // The killed send left its record captured and not acknowledged.
  const after = await status();
  expect(after.nextSeq).toBe(before.nextSeq + 1);
  expect(after.queued).toBeGreaterThanOrEqual(1);
  expect(after.uploadedThrough).toBeLessThan(before.nextSeq);
  return before.nextSeq;
}

/** Runs `custos sync` until alice's queue is empty (every record uploaded and proven). */
async function syncUntilProven(): Promise<void> {
  await until(
    async () => {
      await custosJson(['sync', '--profile', alice]);
      return (await status()).queued === 0;
      // A hang guard, not a speed check: each round spawns the command twice.
    },
    'alice proves her queue',
    SYNC_GUARD_MS,
  );
}

/** The record is in the log once by device sequence, and alice's receipt for it verifies. */
async function expectOnceWithReceipt(seq: number): Promise<void> {
  const seqs = await logSeqs(server!, { orgId: org.orgId }, deviceId);
  expect(seqs.filter((s) => s === seq)).toEqual([seq]);
  expect(new Set(seqs).size).toBe(seqs.length);
  const c = CustosClient.open(alice);
  try {
    const row = c.archiveReceipts().find((r) => r.seq === seq);
    expect(row).toBeDefined();
    expect(await verifyStoredReceipt(server!, { orgId: org.orgId }, deviceId, row!)).toBe(row!.logIndex);
  } finally {
    await c.close();
  }
}

describe('custos send killed between capture and upload (real processes)', () => {
  it('uploads the record exactly once after restart when the upload never reached the server', async () => {
    const seq = await sendAndKillMidUpload('hold-before-server', 'killed before the upload arrived');
    // Nothing of it reached the server.
    expect(await logSeqs(server!, { orgId: org.orgId }, deviceId)).not.toContain(seq);
    await syncUntilProven();
    await expectOnceWithReceipt(seq);
  });

  it('uploads the record exactly once after restart when the server stored it but the answer was lost', async () => {
    const seq = await sendAndKillMidUpload('hold-after-server', 'killed after the server stored it');
    await syncUntilProven();
    await expectOnceWithReceipt(seq);
    const seqs = await logSeqs(server!, { orgId: org.orgId }, deviceId);
    expect(seqs).toEqual([...Array(seq + 1).keys()]);
  });
});

interface PendingOut {
  pendingSends: { id: string; kind: string; recipients: string[]; since: number; tries: number }[];
}

describe('a send stuck behind a failing proxy (real processes)', () => {
  it('custos pending lists it, a later send is refused naming the command, and --discard gives it up as possibly delivered so later sends go', async () => {
    // A device of her own: the server limits requests per device, and alice's syncs used hers.
    const carol = join(dir, 'carol');
    const carolAddress = await inviteAndEnrol(org, 'carol', carol);
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', carol]);
    // The server stores the message; the proxy answers 502 instead, to the send and every repeat.
    proxied = (method, path) => method === 'PUT' && path === '/v1/messages';
    proxy!.mode = 'fail-after-server';
    const stored = proxy!.nextHeld();
    const sent = await custos([
      'send',
      '--to',
      'bob',
      'stuck behind the proxy',
      '--profile',
      carol,
      '--json',
    ]);
    expect((await stored).serverStatus).toBe(200);
    expect(sent.status).toBe(1);
    expect(JSON.parse(sent.stdout)).toMatchObject({ error: { code: 'SEND_PENDING' } });
    // The next send tries the kept one first (502 again) and is refused, naming what to run.
    const blocked = await custos(['send', '--to', 'bob', 'never sent', '--profile', carol]);
    expect(blocked.status).toBe(1);
    // Named as carol knows it (her contact's name, when it began, its tries), not by ids.
    expect(blocked.stderr).toMatch(
      /^custos send: not sent: an earlier message to bob since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2 failed tries\) is still pending\. Run 'custos sync'/m,
    );
    expect(blocked.stderr).toContain("'custos pending --discard' gives up on it");
    const listed = await custosJson<PendingOut>(['pending', '--profile', carol]);
    expect(listed.pendingSends).toMatchObject([{ kind: 'message', recipients: [bobAddress], tries: 2 }]);
    const shown = await custos(['pending', '--profile', carol]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(
      /^ {2}a message to bob since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2 failed tries\)$/m,
    );
    // No terminal to ask on (stdin is a pipe): nothing is discarded without --yes.
    const unasked = await custos(['pending', '--discard', '--profile', carol]);
    expect(unasked.status).toBe(1);
    expect(unasked.stderr).toMatch(/no terminal to ask on: .*add --yes/);
    const discarded = await custosJson<{
      discarded: PendingOut['pendingSends'][number];
      possiblyDelivered: boolean;
      ownDevicesUncertain: boolean;
      event: { text?: string; archiveSeq: number | null } | null;
      warnings: { kind: string; from: string }[];
      archiveUploaded: boolean | null;
      pendingSends: unknown[];
    }>(['pending', '--discard', '--yes', '--profile', carol]);
    // What the discard recorded: possibly delivered to bob, never sent to carol's own devices;
    // its record uploaded at once (the proxy fails only the sends).
    expect(discarded).toMatchObject({
      discarded: { id: listed.pendingSends[0]!.id, recipients: [bobAddress] },
      possiblyDelivered: true,
      ownDevicesUncertain: false,
      event: { text: 'stuck behind the proxy', archiveSeq: expect.any(Number) },
      warnings: [
        { kind: 'delivery-uncertain', from: bobAddress },
        { kind: 'delivery-failed', from: carolAddress },
      ],
      archiveUploaded: true,
      pendingSends: [],
    });
    proxy!.mode = 'pass';
    expect((await custos(['pending', '--profile', carol])).stdout).toBe(
      'No pending sends: nothing holds later sends back.\n',
    );
    expect(
      (await custosJson<{ text: string }>(['send', '--to', 'bob', 'after it', '--profile', carol])).text,
    ).toBe('after it');
    // Possibly delivered was right: bob has it once (the server had stored it), then the next
    // one; the send refused while it was pending never left.
    const bobSaw = await custosJson<{ events: { from: string; text?: string }[] }>([
      'sync',
      '--no-wait',
      '--profile',
      bob,
    ]);
    expect(bobSaw.events.filter((e) => e.from === carolAddress).map((e) => e.text)).toEqual([
      'stuck behind the proxy',
      'after it',
    ]);
    // The discard showed the warnings it recorded: carol's next sync does not show them again.
    const carolSaw = await custosJson<{ warnings: { kind: string }[] }>([
      'sync',
      '--no-wait',
      '--profile',
      carol,
    ]);
    expect(carolSaw.warnings.map((w) => w.kind)).not.toContain('delivery-uncertain');
  });
});
