/**
 * `custos` end to end: a real server process, an organisation from `custos org create`, its
 * admin enrolled from the ceremony's profile, users invited and enrolled with the command,
 * messages sent, synced, replied to, edited, reacted to and deleted, receipts verified,
 * safety numbers compared, a live `custos chat`, device revocation (and a new code for the
 * same user) and the error cases.
 * Spawns the built command: run `npx tsc -b` first (npm test does).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stopServer, tempDir, until } from './client-support.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, startChat, type CliOrg } from './cli-support.js';

// Each step spawns the command; on a loaded machine a step takes seconds.
vi.setConfig({ testTimeout: 600_000 });

const dir = tempDir('custos-cli-e2e-');
const alice = join(dir, 'alice');
const bob = join(dir, 'bob');
const alicePass = join(dir, 'alice.pass');
const ALICE_PASSPHRASE = 'alice has a long passphrase';
let org: CliOrg;
let aliceAddress: string;
let bobAddress: string;

interface SyncOut {
  events: {
    id: string;
    kind: string;
    text?: string;
    from: string;
    fromName: string | null;
    emoji?: string;
  }[];
  unnamed: { address: string; claimedName: string | null }[];
  archive: { verified: number; waiting: number; receipts: number };
}
interface StatusOut {
  queued: number;
  receipts: number;
  lastReceiptSeq?: number;
  lastVerifiedTreeSize?: number;
  refusedBuckets: unknown[];
}

beforeAll(async () => {
  org = await cliOrg(dir);
  writeFileSync(alicePass, `${ALICE_PASSPHRASE}\n`, { mode: 0o600 });
  aliceAddress = await inviteAndEnrol(org, 'alice', alice, ['--passphrase-file', alicePass]);
  bobAddress = await inviteAndEnrol(org, 'bob', bob);
}, 900_000);

afterAll(async () => {
  if (org !== undefined) await stopServer(org.server);
  rmSync(dir, { recursive: true, force: true });
});

const asAlice = (args: string[]): string[] => [...args, '--profile', alice, '--passphrase-file', alicePass];
const asBob = (args: string[]): string[] => [...args, '--profile', bob];

describe('custos messaging commands', () => {
  it('invite → enroll → send → sync shows the message → archive status shows a verified receipt', async () => {
    await custosJson(asAlice(['contacts', 'add', 'bob', bobAddress]));
    const sent = await custosJson<{ id: string; text: string; peer: string }>(
      asAlice(['send', '--to', 'bob', 'hello bob, this is alice']),
    );
    expect(sent.peer).toBe(bobAddress);

    const got = await custosJson<SyncOut>(asBob(['sync']));
    const msg = got.events.find((e) => e.id === sent.id);
    expect(msg?.text).toBe('hello bob, this is alice');
    expect(msg?.from).toBe(aliceAddress);
    // bob has no name for alice yet: sync says so once, with the contacts add line's address.
    expect(got.unnamed.map((u) => u.address)).toEqual([aliceAddress]);
    expect(got.archive.verified).toBeGreaterThan(0);

    const human = await custos(asAlice(['sync']));
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/receipts verified/);
    const status = await custosJson<StatusOut>(asAlice(['archive', 'status']));
    expect(status.receipts).toBeGreaterThan(0);
    expect(status.lastVerifiedTreeSize).toBeGreaterThan(0);
    expect(status.queued).toBe(0);
    expect(status.refusedBuckets).toEqual([]);
    const bobStatus = await custosJson<StatusOut>(asBob(['archive', 'status']));
    expect(bobStatus.receipts).toBeGreaterThan(0);
    const text = (await custos(asBob(['archive', 'status']))).stdout;
    expect(text).toMatch(/Verified receipts: [1-9]/);
    expect(text).toMatch(/Last verified checkpoint: tree size [1-9]/);
  });

  it('replies, edits, reacts and deletes by short id; names from the address book show in sync', async () => {
    await custosJson(asBob(['contacts', 'add', 'Alice Liddell', aliceAddress]));
    const first = await custosJson<{ id: string }>(asAlice(['send', '--to', bobAddress, 'first draft']));
    await custosJson(asBob(['sync']));
    const reply = await custosJson<{ replyTo: string }>(
      asBob(['send', '--to', 'alice', '--reply', first.id.slice(0, 8), 'got it']),
    );
    expect(reply.replyTo).toBe(first.id);
    await custosJson(asAlice(['send', '--to', 'bob', '--edit', first.id.slice(0, 6), 'final text']));
    await custosJson(asAlice(['send', '--to', 'bob', '--react', first.id.slice(0, 6), '👍']));
    const synced = await custosJson<SyncOut>(asBob(['sync']));
    expect(synced.events.map((e) => e.kind)).toEqual(['edit', 'reaction']);
    expect(synced.events[0]!.fromName).toBe('Alice Liddell');
    const aliceSees = await custos(asAlice(['sync']));
    expect(aliceSees.stdout).toMatch(/bob → you: got it {2}\(reply to /);
    await custosJson(asAlice(['send', '--to', 'bob', '--delete', first.id]));
    const del = await custos(asBob(['sync']));
    expect(del.stdout).toMatch(/Alice Liddell → you: deleted #/);
  });

  it('shows the same safety number on both sides', async () => {
    const a = await custosJson<{ safetyNumbers: { safetyNumber: string }[] }>(
      asAlice(['safety-number', 'bob']),
    );
    const b = await custosJson<{ safetyNumbers: { safetyNumber: string }[] }>(
      asBob(['safety-number', 'alice']),
    );
    expect(a.safetyNumbers).toHaveLength(1);
    expect(a.safetyNumbers[0]!.safetyNumber).toMatch(/^[0-9]{60}$/);
    expect(b.safetyNumbers[0]!.safetyNumber).toBe(a.safetyNumbers[0]!.safetyNumber);
  });

  it('chat: live incoming messages, typed lines sent, /quit exits 0', async () => {
    const chat = startChat(['alice', '--profile', bob]);
    await until(() => chat.output().includes('/quit'), 'chat to start', 300_000);
    await custosJson(asAlice(['send', '--to', 'bob', 'live over the socket']));
    await until(() => chat.output().includes('live over the socket'), 'the live message', 300_000);
    chat.child.stdin.write('typed in chat\n');
    await until(
      async () => {
        const s = await custosJson<SyncOut>(asAlice(['sync', '--no-wait']));
        return s.events.some((e) => e.text === 'typed in chat');
      },
      'alice to receive the chat line',
      300_000,
    );
    chat.child.stdin.write('/quit\n');
    expect(await chat.exited).toBe(0);
    // F17: the chat names who archives the conversation.
    expect(chat.output()).toMatch(/Archived by: Example Agency/);
    // What the chat captured (the live message, its delivery receipt, the typed line) left
    // with it: every record is uploaded by the time it exits.
    const status = await custosJson<StatusOut & { nextSeq: number; uploadedThrough: number }>(
      asBob(['archive', 'status']),
    );
    expect(status.uploadedThrough).toBe(status.nextSeq - 1);
  });

  it('chat: /quit piped before the socket connects still exits 0 (no line lost, no wait for a missed close)', async () => {
    const chat = startChat(['alice', '--profile', bob]);
    chat.child.stdin.end('/quit\n');
    expect(await chat.exited).toBe(0);
    expect(chat.output()).toMatch(/Archived by: Example Agency/);
    // Nobody reads a prompt on piped input.
    expect(chat.output()).not.toContain('you>');
  });

  it('chat --json: stdout is JSON lines only, no prompt', async () => {
    const chat = startChat(['alice', '--profile', bob, '--json']);
    // Input stays open while the line is sent: the prompt would follow the connection and the send.
    chat.child.stdin.write('piped in json\n');
    await until(() => chat.stdout().includes('piped in json'), 'the sent line', 300_000);
    chat.child.stdin.end('/quit\n');
    expect(await chat.exited).toBe(0);
    const lines = chat
      .stdout()
      .split('\n')
      .filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l) as { text?: string; direction?: string });
    expect(events.filter((e) => e.text === 'piped in json').map((e) => e.direction)).toEqual(['sent']);
  });

  it('lists contacts and devices; the admin sees users and devices', async () => {
    const c = await custosJson<{ me: string; contacts: { name: string }[] }>(asAlice(['contacts']));
    expect(c.me).toBe(aliceAddress);
    expect(c.contacts.map((x) => x.name)).toEqual(['bob']);
    const d = await custosJson<{ devices: { thisDevice: boolean }[] }>(asBob(['devices', 'list']));
    expect(d.devices.filter((x) => x.thisDevice)).toHaveLength(1);
    const users = await custosJson<{ users: { name: string | null }[] }>([
      'admin',
      'users',
      '--profile',
      org.adminProfile,
    ]);
    expect(
      users.users
        .map((u) => u.name)
        .filter((n) => n !== null)
        .sort(),
    ).toEqual(['alice', 'bob']);
  });

  it('an admin revokes a device; the revoked device is told to enrol again, with a new code for the same user', async () => {
    const carol = join(dir, 'carol');
    const carolAddress = await inviteAndEnrol(org, 'carol', carol);
    const devs = await custosJson<{ devices: { deviceId: string; name: string | null }[] }>([
      'admin',
      'devices',
      '--user',
      'carol',
      '--profile',
      org.adminProfile,
    ]);
    expect(devs.devices).toHaveLength(1);
    const id = devs.devices[0]!.deviceId;
    await custosJson(['admin', 'revoke', id.slice(0, 10), '--profile', org.adminProfile]);
    // Its sync says so, and what became of its archive queue (nothing was left in it).
    const r = await custos(['sync', '--profile', carol]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^This device has been revoked on /);
    expect(r.stdout).toContain('Every record this device captured is in the archive now.');
    expect(r.stdout).toMatch(/ask an administrator for a new enrolment code \('custos admin code USER'\)/);
    // The admin issues carol a new code (not a new user): she enrols a new profile as herself.
    const issued = await custosJson<{ address: string; role: string; enrolmentCode: string; server: string }>(
      ['admin', 'code', 'carol', '--profile', org.adminProfile],
    );
    expect(issued).toMatchObject({ address: carolAddress, role: 'member', server: org.server.url });
    const human = await custos(['admin', 'code', carolAddress, '--profile', org.adminProfile]);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain(`New enrolment code for member carol (${carolAddress}).`);
    expect(human.stdout).toMatch(/custos enroll ce1\.\S+ --server /);
    const again = await custosJson<{ address: string }>([
      ...['enroll', issued.enrolmentCode, '--server', org.server.url],
      ...['--profile', join(dir, 'carol-2'), '--unattended'],
    ]);
    expect(again.address).toBe(carolAddress);
    const unknown = await custos(['admin', 'code', 'nobody', '--profile', org.adminProfile]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no contact named 'nobody'/);
  });

  it('says what to do on a wrong passphrase, an unknown contact, a missing role and a used code', async () => {
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, 'not the passphrase at all\n', { mode: 0o600 });
    const locked = await custos(['sync', '--profile', alice, '--passphrase-file', wrong]);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(/custos sync: wrong passphrase/);

    const unknown = await custos(asAlice(['send', '--to', 'zed', 'hello?']));
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(
      /no contact named 'zed' \(known: bob\)\. Add one with 'custos contacts add zed USERID@ORGID'/,
    );

    const notAdmin = await custos(asAlice(['admin', 'invite', '--user', 'mallory']));
    expect(notAdmin.status).toBe(1);
    expect(notAdmin.stderr).toMatch(/your role does not allow this/);

    const inv = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      'dave',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson([
      'enroll',
      inv.enrolmentCode,
      '--server',
      org.server.url,
      '--profile',
      join(dir, 'dave'),
      '--unattended',
    ]);
    const again = join(dir, 'dave-again');
    const reused = await custos([
      'enroll',
      inv.enrolmentCode,
      '--server',
      org.server.url,
      '--profile',
      again,
      '--unattended',
    ]);
    expect(reused.status).toBe(1);
    expect(reused.stderr).toMatch(
      /the enrolment code is not valid \(ENROLMENT_CODE_USED\): ask an administrator for a new one/,
    );
    const taken = await custos([
      'enroll',
      inv.enrolmentCode,
      '--server',
      org.server.url,
      '--profile',
      bob,
      '--unattended',
    ]);
    expect(taken.stderr).toMatch(/already holds an enrolled profile/);
  });

  it('says the server is unreachable when it is down (run last: stops the server)', async () => {
    await stopServer(org.server);
    const r = await custos(asBob(['sync']));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/custos sync: cannot reach the server .*check that it is running/);
    // A send says the server could not be reached and nothing was sent (before: "did not
    // answer"); the kept send shows that try (before: "0 failed tries").
    const sent = await custos(asBob(['send', '--to', 'alice', 'while down']));
    expect(sent.status).toBe(1);
    expect(sent.stderr).toMatch(
      /custos send: not sent yet: the server could not be reached \(ECONNREFUSED\): nothing was sent/,
    );
    const pending = await custos(asBob(['pending']));
    expect(pending.stdout).toMatch(
      /a message to Alice Liddell since .* \(1 try could not reach the server\)/,
    );
    // The local view still works offline.
    expect((await custos(asBob(['archive', 'status']))).status).toBe(0);
  });
});
