/**
 * `custos devices list|link|revoke` end to end against a real server process: a member
 * links a second device with `custos devices link` and the exact `custos enroll` line it
 * prints, both devices list the same devices and identity-key fingerprints, a peer's
 * message reaches both devices, the first device's sends reach the new one as sync
 * copies, and revoking the linked device locks it out at its next request (its sync says what
 * became of its archive queue); a device retires itself. An admin cannot
 * add a device to alice while she has one (USER_HAS_DEVICE), and her first device warns her
 * of the device added to her account (the linked one).
 * Spawns the built command: run `npx tsc -b` first (npm test does).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stopServer, tempDir } from './client-support.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, type CliOrg } from './cli-support.js';

// Each step spawns the command; on a loaded machine a step takes seconds.
vi.setConfig({ testTimeout: 600_000 });

const dir = tempDir('custos-cli-devices-');
const alice = join(dir, 'alice');
const alice2 = join(dir, 'alice2');
const bob = join(dir, 'bob');
let org: CliOrg;
let aliceAddress: string;
let bobAddress: string;

interface DeviceRow {
  deviceId: string;
  deviceNumber: number;
  createdAt: number;
  revokedAt: number | null;
  thisDevice: boolean;
  identityKeyFingerprint: string;
}
interface ListOut {
  address: string;
  devices: DeviceRow[];
}
interface SyncOut {
  events: { kind: string; text?: string; from: string; peer: string; direction: string; syncCopy: boolean }[];
  warnings: { kind: string; from: string; detail: string }[];
}

const as = (profile: string, args: string[]): string[] => [...args, '--profile', profile];
const texts = (s: SyncOut): (string | undefined)[] =>
  s.events.filter((e) => e.kind === 'message').map((e) => e.text);

beforeAll(async () => {
  org = await cliOrg(dir);
  aliceAddress = await inviteAndEnrol(org, 'alice', alice);
  bobAddress = await inviteAndEnrol(org, 'bob', bob);
  await custosJson(as(alice, ['contacts', 'add', 'bob', bobAddress]));
  await custosJson(as(bob, ['contacts', 'add', 'alice', aliceAddress]));
  // Sessions both ways, so bob's cached device list for alice has one device before linking.
  await custosJson(as(alice, ['send', '--to', 'bob', 'before linking']));
  await custosJson(as(bob, ['sync', '--no-wait']));
  await custosJson(as(bob, ['send', '--to', 'alice', 'ack']));
  await custosJson(as(alice, ['sync', '--no-wait']));
}, 900_000);

afterAll(async () => {
  if (org !== undefined) await stopServer(org.server);
  rmSync(dir, { recursive: true, force: true });
});

describe('custos devices', () => {
  it("refuses an admin's code for alice, who has a device: she links one herself", async () => {
    const refused = await custos(['admin', 'code', 'alice', '--profile', org.adminProfile, '--json']);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'USER_HAS_DEVICE' } });
    expect(refused.stderr).toMatch(/has an active device \(#1\).*'custos devices link'/);
  });

  it('links a second device with the printed enroll line; both list the same devices and keys', async () => {
    const link = await custosJson<{ code: string; expiresAt: number; server: string; enrollCommand: string }>(
      as(alice, ['devices', 'link', '--ttl', '900']),
    );
    expect(link.server).toBe(org.server.url);
    expect(link.enrollCommand).toBe(`custos enroll ${link.code} --server ${org.server.url}`);
    expect(link.expiresAt).toBeGreaterThan(Date.now());
    expect(link.expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);

    // Run exactly the printed line (without the leading 'custos'), plus this test's profile.
    const [, ...enrollArgs] = link.enrollCommand.split(' ');
    const enrolled = await custosJson<{
      address: string;
      deviceNumber: number;
      identityKeyFingerprint: string;
    }>(as(alice2, [...enrollArgs, '--unattended']));
    expect(enrolled.address).toBe(aliceAddress);
    expect(enrolled.deviceNumber).toBe(2);

    const first = await custosJson<ListOut>(as(alice, ['devices', 'list']));
    const second = await custosJson<ListOut>(as(alice2, ['devices', 'list']));
    expect(first.address).toBe(aliceAddress);
    expect(first.devices.map((d) => [d.deviceNumber, d.thisDevice, d.revokedAt])).toEqual([
      [1, true, null],
      [2, false, null],
    ]);
    expect(second.devices.map((d) => [d.deviceNumber, d.thisDevice])).toEqual([
      [1, false],
      [2, true],
    ]);
    // The same ids and keys on both devices, and the new device's key is the one it enrolled with.
    const strip = (l: ListOut) => l.devices.map((d) => [d.deviceId, d.identityKeyFingerprint]);
    expect(strip(second)).toEqual(strip(first));
    expect(first.devices[1]!.identityKeyFingerprint).toBe(enrolled.identityKeyFingerprint);
    expect(first.devices[0]!.identityKeyFingerprint).not.toBe(enrolled.identityKeyFingerprint);

    const human = await custos(as(alice, ['devices', 'list']));
    expect(human.status).toBe(0);
    expect(human.stdout).toContain(`key ${enrolled.identityKeyFingerprint}`);
    expect(human.stdout).toMatch(/#1 .*\(this device\)/);

    // The code is single-use.
    const again = await custos(as(join(dir, 'alice3'), [...enrollArgs, '--unattended']));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/ENROLMENT_CODE_USED/);
  });

  it("delivers a peer's message to both devices and the first device's sends to the new one", async () => {
    await custosJson(as(bob, ['send', '--to', 'alice', 'to both of your devices']));
    const first = await custosJson<SyncOut>(as(alice, ['sync', '--no-wait']));
    expect(texts(first)).toEqual(['to both of your devices']);
    // The first device tells alice of the device added to her account; the new one, of nothing.
    expect(first.warnings.filter((w) => w.kind === 'own-device-added')).toEqual([
      {
        seq: expect.any(Number),
        at: expect.any(Number),
        kind: 'own-device-added',
        from: aliceAddress,
        fromName: null,
        detail: expect.stringMatching(
          /^a new device \(#2\) was added to your account on \d{4}-\d\d-\d\d \d\d:\d\d UTC; if it was not you, revoke it \('custos devices revoke'\) and tell your security officer$/,
        ),
      },
    ]);
    const second = await custosJson<SyncOut>(as(alice2, ['sync', '--no-wait']));
    expect(texts(second)).toEqual(['to both of your devices']);
    expect(second.warnings.filter((w) => w.kind === 'own-device-added')).toEqual([]);

    await custosJson(as(alice, ['send', '--to', 'bob', 'sent from my first device']));
    const copies = await custosJson<SyncOut>(as(alice2, ['sync', '--no-wait']));
    // Her own message from her other device: sent by her, not received from a stranger.
    expect(copies.events.map((e) => [e.text, e.from, e.peer, e.direction, e.syncCopy])).toEqual([
      ['sent from my first device', aliceAddress, bobAddress, 'sent', true],
    ]);
    await custosJson(as(alice, ['send', '--to', 'bob', 'reply']));
    const shown = await custos(as(alice2, ['sync', '--no-wait']));
    expect(shown.stdout).toContain(`] you → ${bobAddress}: reply`);
    expect(shown.stdout).not.toMatch(/Not in your address book/);
    expect(texts(await custosJson<SyncOut>(as(bob, ['sync', '--no-wait'])))).toEqual([
      'sent from my first device',
      'reply',
    ]);
  });

  it('refuses to revoke the current device, then revokes the linked one, which is refused next', async () => {
    const mine = await custosJson<ListOut>(as(alice2, ['devices', 'list']));
    const self = mine.devices.find((d) => d.thisDevice)!;
    const refused = await custos(as(alice2, ['devices', 'revoke', self.deviceId, '--json']));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /is the device you are using: retire it .*, revoke it from another of your devices/,
    );
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'REVOKE_SELF' } });

    // A member (not an admin) revokes their own other device by a prefix of its id; they hold
    // it, so they let it hand in its archive queue (--allow-hand-in: the server grants the window).
    const revoked = await custosJson<{ deviceId: string; revokedAt: number; handInUntil: number | null }>(
      as(alice, ['devices', 'revoke', self.deviceId.slice(0, 8), '--allow-hand-in']),
    );
    expect(revoked.deviceId).toBe(self.deviceId);
    expect(revoked.revokedAt).toBeGreaterThan(0);
    expect(revoked.handInUntil).toBeGreaterThan(revoked.revokedAt);

    // Its sync says it was revoked and what became of its archive queue (all uploaded before).
    const locked = await custos(as(alice2, ['sync', '--no-wait']));
    expect(locked.status).toBe(1);
    expect(locked.stdout).toMatch(
      /^This device has been revoked on .* UTC: it can no longer send or receive messages\.\nArchive: nothing uploaded after the revocation\.\nEvery record this device captured is in the archive now\./,
    );

    const after = await custosJson<ListOut>(as(alice, ['devices', 'list']));
    expect(after.devices.find((d) => d.deviceId === self.deviceId)?.revokedAt).toBe(revoked.revokedAt);
    const twice = await custos(as(alice, ['devices', 'revoke', self.deviceId]));
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/was already revoked/);

    // bob retires his device: it uploads its archive queue first, strands nothing.
    const retired = await custosJson<{ deviceId: string; revokedAt: number; stranded: unknown }>(
      as(bob, ['devices', 'retire']),
    );
    expect(retired).toMatchObject({ revokedAt: expect.any(Number), stranded: null });
    expect((await custos(as(bob, ['devices', 'list']))).stderr).toMatch(/this device has been revoked/);
  });
});
