/**
 * Device linking end to end (issue 4, multi-device) against a real server process: an
 * enrolled device issues a link code for its own user, a new device enrols with it exactly
 * as with an admin's code (same org pinning), peers' messages reach both devices after the
 * mismatched-devices repair, sync copies reach the new device, the user lists and revokes
 * their own devices (one revoked with a hand-in window hands in its archive queue, ingest
 * only; a device retires itself after uploading its queue), and every refusal is clear and
 * changes nothing.
 */
import { join } from 'node:path';
import { CustosClient, isClientError, type PeerUser } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliverIndexKey,
  startWorld,
  until,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';

let world: ClientWorld<'alice' | 'bob'> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let alice2: CustosClient;
let bob: CustosClient;
const userOf = (c: CustosClient): PeerUser => c.me;

/** The server's refusal code of a failed call, or undefined when it did not fail that way. */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (isClientError(e)) return e.server?.code ?? e.code;
    throw e;
  }
  return undefined;
}

beforeAll(async () => {
  world = await startWorld('custos-link-', ['alice', 'bob']);
  ({ dir, server, org } = world);
  ({ alice, bob } = world.users);
  // Sessions both ways, so bob's cached device list for alice has one device.
  await alice.sendText(userOf(bob), 'before linking');
  await bob.sync();
  await bob.sendText(userOf(alice), 'ack');
  await alice.sync();
}, 180_000);

afterAll(() => world?.close([alice2]));

describe('device linking (real server process)', () => {
  it('links a second device of the same user with a one-time link code', async () => {
    const link = await alice.linkCode();
    expect(link.code).toMatch(new RegExp(`^ce1\\.${alice.profile.orgId}\\.[A-Za-z0-9_-]{43}\\.`));
    expect(link.code.endsWith(`.${alice.profile.pinnedFingerprint}`)).toBe(true);
    expect(link.expiresAt).toBeGreaterThan(Date.now());
    expect(link.expiresAt).toBeLessThanOrEqual(Date.now() + 60 * 60 * 1000);

    alice2 = await CustosClient.enrol(join(dir, 'alice2'), {
      serverUrl: server.url,
      code: link.code,
      protection: { kind: 'file' },
    });
    await deliverIndexKey(org, alice2);
    expect(alice2.profile).toMatchObject({
      orgId: alice.profile.orgId,
      userId: alice.profile.userId,
      deviceNumber: 2,
      pinnedFingerprint: alice.profile.pinnedFingerprint,
      retentionClass: 'standard',
    });
    expect(server.stdout + server.stderr).not.toContain(link.code);

    // One use only: a third device cannot enrol with the same code, and leaves no profile behind it.
    const again = await refusal(
      CustosClient.enrol(join(dir, 'alice3'), {
        serverUrl: server.url,
        code: link.code,
        protection: { kind: 'file' },
      }),
    );
    expect(again).toBe('ENROLMENT_CODE_USED');
  });

  it("lists the user's own devices with their identity keys", async () => {
    const seen = await alice2.myDevices();
    expect(seen.map((d) => [d.deviceNumber, d.deviceId, d.current, d.revokedAt])).toEqual([
      [1, alice.profile.deviceId, false, null],
      [2, alice2.profile.deviceId, true, null],
    ]);
    expect(Buffer.from(seen[0]!.identityKey)).toEqual(Buffer.from(alice.identityKey));
    expect(Buffer.from(seen[1]!.identityKey)).toEqual(Buffer.from(alice2.identityKey));
    // bob sees only his own.
    expect((await bob.myDevices()).map((d) => d.deviceId)).toEqual([bob.profile.deviceId]);
    // The session names the retention class the device seals to.
    expect(await alice2.api.request('GET', '/v1/session')).toMatchObject({ retentionClass: 'standard' });
  });

  it("delivers a peer's message to both devices (mismatched-devices repair) and sync copies to the new one", async () => {
    await bob.sendText(userOf(alice), 'to both of your devices');
    expect((await alice.sync()).map((e) => e.content.text)).toEqual(['to both of your devices']);
    expect((await alice2.sync()).map((e) => e.content.text)).toEqual(['to both of your devices']);

    // alice's first device writes; the new device receives the sync copy, filed under bob.
    await alice.sendText(userOf(bob), 'sent from my first device');
    const copies = await alice2.sync();
    // It is alice's own message, sent from her other device: 'sent', not from a stranger.
    expect(
      copies.map((e) => [e.content.text, e.peer.userId, e.from.userId, e.direction, e.syncCopy]),
    ).toEqual([['sent from my first device', bob.me.userId, alice.me.userId, 'sent', true]]);
    expect(alice2.messages(userOf(bob)).map((m) => [m.text, m.direction])).toEqual([
      ['to both of your devices', 'received'],
      ['sent from my first device', 'sent'],
    ]);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['sent from my first device']);

    // The new device may edit her message (it is her own, whichever device sent it).
    await alice2.send(userOf(bob), {
      kind: 'edit',
      edits: copies[0]!.content.id,
      text: 'edited on the laptop',
    });
    expect((await bob.sync()).map((e) => [e.content.kind, e.content.text])).toEqual([
      ['edit', 'edited on the laptop'],
    ]);
    expect((await alice.sync()).map((e) => [e.content.kind, e.direction])).toEqual([['edit', 'sent']]);
    expect(alice.messages(userOf(bob)).at(-1)).toMatchObject({ text: 'edited on the laptop', edited: true });

    // The new device archives what it saw.
    await until(async () => {
      await alice2.flushArchive();
      const s = alice2.archiveStatus();
      return s.queued === 0 && s.receipts === s.nextSeq && s.nextSeq > 0;
    }, 'alice2 receipts');
  });

  it('refuses to revoke another user’s device or the calling device, changing nothing', async () => {
    expect(await refusal(bob.revokeMyDevice(alice2.profile.deviceId))).toBe('DEVICE_NOT_FOUND');
    expect(await refusal(alice.revokeMyDevice(alice.profile.deviceId))).toBe('INVALID_REQUEST');
    expect(await refusal(alice.revokeMyDevice('../../orgs'))).toBeDefined();
    expect((await alice.myDevices()).every((d) => d.revokedAt === null)).toBe(true);
  });

  it('revokes a device with a hand-in window: it is locked out at once, peers stop addressing it, and it hands in its archive queue', async () => {
    // Sent just before the revocation: its archive record is captured, not uploaded yet.
    await alice2.sendText(userOf(bob), 'sent just before the revocation');
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['sent just before the revocation']);
    expect((await alice.sync()).map((e) => e.content.text)).toEqual(['sent just before the revocation']);

    // Not lost: alice holds it, with a record queued, and asks for the window (no window by default).
    const { revokedAt, handInUntil } = await alice.revokeMyDevice(alice2.profile.deviceId, {
      allowHandIn: true,
    });
    expect(revokedAt).toBeGreaterThan(0);
    expect(handInUntil).toBeGreaterThan(revokedAt);
    expect(await refusal(alice2.api.request('GET', '/v1/messages'))).toBe('DEVICE_REVOKED');
    // Ingest only: it hands in what it sealed before, and nothing is left behind.
    expect(await alice2.handInArchive()).toEqual({ uploaded: 1, notUploaded: undefined });
    expect(await refusal(alice2.sendText(userOf(bob), 'after'))).toBe('DEVICE_REVOKED');
    expect(await refusal(alice.revokeMyDevice(alice2.profile.deviceId))).toBe('DEVICE_ALREADY_REVOKED');
    const mine = await alice.myDevices();
    expect(mine.find((d) => d.deviceId === alice2.profile.deviceId)?.revokedAt).toBe(revokedAt);
    // bob still addresses two devices; the server answers stale, bob repairs, alice gets it.
    await bob.sendText(userOf(alice), 'after the revocation');
    expect((await alice.sync()).map((e) => e.content.text)).toEqual(['after the revocation']);
  });

  it('retires a device only after uploading its archive queue, then refuses it', async () => {
    await bob.sendText(userOf(alice), 'signing off'); // captured, not uploaded
    const r = await bob.retire();
    // Everything it captured was uploaded before it was revoked (its earlier records too).
    expect(r).toEqual({ revokedAt: expect.any(Number), uploaded: expect.any(Number), stranded: undefined });
    const s = bob.archiveStatus();
    expect([r.uploaded > 0, s.uploadedThrough]).toEqual([true, s.nextSeq - 1]);
    expect(await refusal(bob.myDevices())).toBe('DEVICE_REVOKED');
  });
});
