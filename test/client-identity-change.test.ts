/**
 * End to end with real processes: a contact's identity key changes, and the user accepts it.
 *
 * In Custos a device's identity key never changes in place (re-enrolling makes a new
 * device), so the change is produced the way it happens for real: the server is restored
 * from a backup taken before bob enrolled, and bob enrols again with the same (restored,
 * unused) code — he gets the same device number with a new identity key. To alice, who
 * pinned his first key, that is a changed identity: `custos sync` shows the warning and
 * refuses his message, `custos send` to him is refused, `custos safety-number` shows the new
 * number (equal to the one bob sees), and after `--accept` messages flow both ways again.
 *
 * Before the restore the clients act through the SDK without uploading, so the restored
 * server's archive and prekeys stay consistent with alice's profile.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWorld, stopServer, type ClientWorld } from './client-support.js';
import { custos, custosJson } from './cli-support.js';
import { startServerProcess } from './server-process.js';

// Each step spawns the command; on a loaded machine a step takes seconds.
vi.setConfig({ testTimeout: 600_000 });

let world: ClientWorld<'alice'> | undefined;
let restarted: ChildProcess | undefined;
let aliceDir: string;
let bob1Dir: string;
let bob2Dir: string;
let aliceAddress: string;
let code: string;

interface SyncOut {
  events: { text?: string; from: string }[];
  warnings: { kind: string; from: string }[];
}

const asAlice = (args: string[]): string[] => [...args, '--profile', aliceDir];
const asBob2 = (args: string[]): string[] => [...args, '--profile', bob2Dir];

async function enrolBob(dir: string): Promise<string> {
  const r = await custosJson<{ address: string }>([
    'enroll',
    code,
    '--server',
    world!.server.url,
    '--profile',
    dir,
    '--unattended',
  ]);
  await custosJson(['contacts', 'add', 'alice', aliceAddress, '--profile', dir]);
  return r.address;
}

/** Opens a profile with the SDK, runs `fn`, closes it (no archive upload). */
async function withSdk(dir: string, fn: (c: CustosClient) => Promise<unknown>): Promise<void> {
  const c = CustosClient.open(dir);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

beforeAll(async () => {
  world = await startWorld('custos-identity-change-', ['alice']);
  const { org, dir } = world;
  aliceDir = join(dir, 'alice');
  bob1Dir = join(dir, 'bob-first-phone');
  bob2Dir = join(dir, 'bob-new-phone');
  const alice = world.users.alice;
  aliceAddress = `${alice.me.userId}@${alice.me.orgId}`;
  await alice.close();
  const bob = (await org.admin.api.request('POST', `/v1/orgs/${org.orgId}/users`, {
    body: { role: 'member' },
  })) as { userId: string };
  code = (
    (await org.admin.api.request('POST', `/v1/orgs/${org.orgId}/users/${bob.userId}/enrolment-codes`, {
      body: {},
    })) as { enrolmentCode: string }
  ).enrolmentCode;
}, 600_000);

afterAll(async () => {
  if (restarted !== undefined && restarted.exitCode === null) {
    const exited = new Promise((r) => restarted!.once('exit', r));
    restarted.kill('SIGTERM');
    await exited;
  }
  await world?.close();
});

describe('a contact whose identity key changes', () => {
  it('is refused in both directions until accepted after comparing safety numbers, then messages flow', async () => {
    const { server } = world!;
    const port = Number(new URL(server.url).port);
    const backup = join(world!.dir, 'backup');
    // The operator's backup, taken before bob enrolled.
    await stopServer(server);
    cpSync(server.dataDir, backup, { recursive: true });
    restarted = await startServerProcess(server.dataDir, port);

    const bobAddress = await enrolBob(bob1Dir);
    await custosJson(asAlice(['contacts', 'add', 'bob', bobAddress]));
    const bob = { orgId: world!.org.orgId, userId: bobAddress.split('@')[0]! };
    // Alice pins bob's first key; they talk.
    await withSdk(aliceDir, (a) => a.sendText(bob, 'hello bob'));
    await withSdk(bob1Dir, async (b) => {
      expect((await b.sync()).map((e) => e.content.text)).toContain('hello bob');
      await b.sendText(world!.users.alice.me, 'hello from my first phone');
    });
    await withSdk(aliceDir, async (a) => {
      expect((await a.sync()).map((e) => e.content.text)).toContain('hello from my first phone');
    });

    // The server is restored from the backup; bob enrols again with the same code.
    const stopped = new Promise((r) => restarted!.once('exit', r));
    restarted.kill('SIGTERM');
    await stopped;
    rmSync(server.dataDir, { recursive: true, force: true });
    cpSync(backup, server.dataDir, { recursive: true });
    restarted = await startServerProcess(server.dataDir, port);
    expect(await enrolBob(bob2Dir)).toBe(bobAddress);
    const first = await custos(asBob2(['send', '--to', 'alice', 'new phone, same number']));
    expect(first.status, first.stderr).toBe(0);

    // Alice is warned and bob's message is refused.
    const synced = await custos(asAlice(['sync', '--no-wait']));
    expect(synced.status, synced.stderr).toBe(0);
    expect(synced.stdout).toMatch(
      /WARNING .*the identity key of a device of bob changed; its messages are refused/,
    );
    expect(synced.stdout).toMatch(/custos safety-number bob --accept/);
    expect(synced.stdout).not.toMatch(/new phone, same number/);

    // Sending to him is refused, and says what to do; so is it again.
    for (let i = 0; i < 2; i++) {
      const refused = await custos(asAlice(['send', '--to', 'bob', 'are you there?']));
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/identity key of a device of .* changed.*custos safety-number/);
    }

    // The new safety number alice is shown is the one bob's new phone shows.
    const shown = await custosJson<{ changed: { safetyNumber: string }[]; accepted: number[] }>(
      asAlice(['safety-number', 'bob']),
    );
    expect(shown.changed).toHaveLength(1);
    expect(shown.accepted).toEqual([]);
    const bobSide = await custosJson<{ safetyNumbers: { safetyNumber: string }[] }>(
      asBob2(['safety-number', 'alice']),
    );
    expect(bobSide.safetyNumbers.map((s) => s.safetyNumber)).toEqual([shown.changed[0]!.safetyNumber]);
    const text = await custos(asAlice(['safety-number', 'bob']));
    expect(text.stdout).toMatch(/WARNING: bob's device .* presents a NEW identity key/);

    // Accepted: messages flow both ways again, with the same safety number on both sides.
    const accepted = await custosJson<{ accepted: number[] }>(asAlice(['safety-number', 'bob', '--accept']));
    expect(accepted.accepted).toHaveLength(1);
    const sent = await custos(asAlice(['send', '--to', 'bob', 'welcome back']));
    expect(sent.status, sent.stderr).toBe(0);
    const atBob = await custosJson<SyncOut>(asBob2(['sync', '--no-wait']));
    expect(atBob.events.map((e) => e.text)).toContain('welcome back');
    const reply = await custos(asBob2(['send', '--to', 'alice', 'thanks']));
    expect(reply.status, reply.stderr).toBe(0);
    const atAlice = await custosJson<SyncOut>(asAlice(['sync', '--no-wait']));
    expect(atAlice.events.map((e) => e.text)).toContain('thanks');
    expect(atAlice.warnings).toEqual([]);
    const after = await custosJson<{ safetyNumbers: { safetyNumber: string }[]; changed: unknown[] }>(
      asAlice(['safety-number', 'bob']),
    );
    expect(after.changed).toEqual([]);
    expect(after.safetyNumbers.map((s) => s.safetyNumber)).toEqual([shown.changed[0]!.safetyNumber]);
  });
});
