import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listWarnings } from '../messaging/message-store.js';
import { getContact, saveContact } from '../messaging/peers.js';
import { LocalStore } from '../store/local-store.js';
import { ApiClient } from '../transport/api-client.js';
import { noteOwnEnrolment, OWN_DEVICES_REFRESH_MS, OwnDeviceWatch } from './own-device-watch.js';

const ME = { orgId: 'o'.repeat(22), userId: 'u'.repeat(22) };
const SELF = 'a'.repeat(22);
const OTHER = 'b'.repeat(22);
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A server answering GET /v1/devices with this device and, once `linked`, a second one. */
function fakeServer() {
  const state = { reads: 0, linked: false };
  const device = (deviceId: string, deviceNumber: number) => ({
    deviceId,
    deviceNumber,
    identityKey: Buffer.alloc(33, deviceNumber).toString('base64url'),
    createdAt: 1,
    revokedAt: null,
    current: deviceId === SELF,
  });
  const f: typeof fetch = (input) => {
    expect(new URL(input as string).pathname).toBe('/v1/devices');
    state.reads++;
    const devices = state.linked ? [device(SELF, 1), device(OTHER, 2)] : [device(SELF, 1)];
    return Promise.resolve(
      new Response(JSON.stringify({ devices }), { headers: { 'content-type': 'application/json' } }),
    );
  };
  return { state, api: new ApiClient('http://127.0.0.1:1', { fetch: f }) };
}

function profile(): string {
  const d = mkdtempSync(join(tmpdir(), 'custos-watch-'));
  dirs.push(d);
  LocalStore.create(d, { kind: 'file' }).close();
  return d;
}

describe('own-device watch', () => {
  it('re-reads at most every OWN_DEVICES_REFRESH_MS, also across watches opened on the same profile', async () => {
    const dir = profile();
    const { state, api } = fakeServer();
    let now = 1_000_000;
    const open = (store: LocalStore) =>
      new OwnDeviceWatch({ api, store, me: () => ME, deviceId: SELF, deviceNumber: 1, clock: () => now });
    let store = LocalStore.open(dir);
    await open(store).beforeSend();
    await open(store).beforeSend();
    expect(state.reads).toBe(1);
    store.close();
    // A client opened per command (the CLI) finds the time in the store.
    store = LocalStore.open(dir);
    await open(store).beforeSend();
    expect(state.reads).toBe(1);
    now += OWN_DEVICES_REFRESH_MS;
    await open(store).beforeSend();
    expect(state.reads).toBe(2);
    store.close();
  });

  it('re-reads before every send while a link code is pending, until the new device shows up', async () => {
    const dir = profile();
    const { state, api } = fakeServer();
    const now = 1_000_000;
    const store = LocalStore.open(dir);
    const watch = () =>
      new OwnDeviceWatch({ api, store, me: () => ME, deviceId: SELF, deviceNumber: 1, clock: () => now });
    await watch().beforeSend();
    expect(state.reads).toBe(1);
    watch().noteLinkCode(now + 60_000);
    await watch().beforeSend();
    await watch().beforeSend();
    expect(state.reads).toBe(3);
    expect(getContact(store, ME)?.devices ?? []).toEqual([]);
    state.linked = true;
    await watch().beforeSend();
    expect(state.reads).toBe(4);
    expect(getContact(store, ME)?.devices).toEqual([{ deviceId: OTHER, deviceNumber: 2 }]);
    // The new device arrived: back to the periodic read.
    await watch().beforeSend();
    expect(state.reads).toBe(4);
    store.close();
  });

  it('warns once of each device added to the account since it last looked, revoked ones too', async () => {
    const dir = profile();
    const row = (
      deviceId: string,
      deviceNumber: number,
      createdAt: number,
      revokedAt: number | null = null,
    ) => ({
      deviceId,
      deviceNumber,
      identityKey: Buffer.alloc(33, deviceNumber).toString('base64url'),
      createdAt,
      revokedAt,
      current: deviceId === SELF,
    });
    // This device is #2; #1 enrolled before it.
    let devices = [row(OTHER, 1, 1), row(SELF, 2, 2)];
    const f: typeof fetch = () =>
      Promise.resolve(
        new Response(JSON.stringify({ devices }), { headers: { 'content-type': 'application/json' } }),
      );
    const api = new ApiClient('http://127.0.0.1:1', { fetch: f });
    const store = LocalStore.open(dir);
    // Linked from #1: the devices below are #1's to watch.
    noteOwnEnrolment(store, OTHER);
    const watch = new OwnDeviceWatch({
      api,
      store,
      me: () => ME,
      deviceId: SELF,
      deviceNumber: 2,
      clock: () => 9,
    });
    await watch.check();
    expect(listWarnings(store)).toEqual([]);

    const T3 = Date.UTC(2026, 10, 28, 5, 12);
    devices = [...devices, row('c'.repeat(22), 3, T3)];
    await watch.check();
    await watch.check();
    expect(listWarnings(store)).toEqual([
      {
        seq: 1,
        at: 9,
        kind: 'own-device-added',
        from: `${ME.orgId}.${ME.userId}`,
        detail:
          "a new device (#3) was added to your account on 2026-11-28 05:12 UTC; if it was not you, revoke it ('custos devices revoke') and tell your security officer",
      },
    ]);

    // Added and revoked between two reads: still added.
    devices = [...devices, row('d'.repeat(22), 4, T3 + 60_000, T3 + 120_000)];
    await watch.check();
    expect(listWarnings(store).map((w) => w.detail)).toEqual([
      expect.stringContaining('(#3)'),
      "a new device (#4) was added to your account on 2026-11-28 05:13 UTC (revoked since, 2026-11-28 05:14 UTC); if it was not you, revoke it ('custos devices revoke') and tell your security officer",
    ]);
    store.close();
  });

  it('does not warn an upgraded profile of the devices it already sent to', async () => {
    const dir = profile();
    const { state, api } = fakeServer();
    state.linked = true;
    const store = LocalStore.open(dir);
    // Written by the watch before it kept what it had seen.
    saveContact(store, { ...ME, devices: [{ deviceId: OTHER, deviceNumber: 2 }] });
    await new OwnDeviceWatch({
      api,
      store,
      me: () => ME,
      deviceId: SELF,
      deviceNumber: 1,
      clock: () => 1,
    }).check();
    expect(listWarnings(store)).toEqual([]);
    store.close();
  });

  it('a number or time no honest server gives neither silences later warnings nor stops the list updating', async () => {
    const row = (deviceId: string, deviceNumber: number, createdAt: number) => ({
      deviceId,
      deviceNumber,
      identityKey: Buffer.alloc(33, 7).toString('base64url'),
      createdAt,
      revokedAt: null,
      current: deviceId === SELF,
    });
    let devices = [row(SELF, 1, 1)];
    const f: typeof fetch = () =>
      Promise.resolve(
        new Response(JSON.stringify({ devices }), { headers: { 'content-type': 'application/json' } }),
      );
    const store = LocalStore.open(profile());
    const watch = new OwnDeviceWatch({
      api: new ApiClient('http://127.0.0.1:1', { fetch: f }),
      store,
      me: () => ME,
      deviceId: SELF,
      deviceNumber: 1,
      clock: () => 9,
    });
    await watch.check();
    // A time no Date holds: still a warning, and the device still gets sync copies.
    devices = [...devices, row(OTHER, 2, 8.64e15 + 1)];
    await watch.check();
    expect(listWarnings(store).map((w) => w.detail)).toEqual([
      expect.stringContaining('a new device (#2) was added to your account on an unknown time;'),
    ]);
    expect(getContact(store, ME)?.devices).toEqual([{ deviceId: OTHER, deviceNumber: 2 }]);
    // A number near 2^53 is warned of but is not the highest seen from then on: #4 is still new.
    devices = [...devices, row('c'.repeat(22), 2 ** 53 - 1, 1)];
    await watch.check();
    await watch.check();
    devices = [...devices, row('d'.repeat(22), 4, 1)];
    await watch.check();
    expect(listWarnings(store).map((w) => w.detail.slice(0, 40))).toEqual([
      'a new device (#2) was added to your acco',
      `a new device (#${2 ** 53 - 1}) was add`,
      // #4 is new; the implausible device, counted as the list's length, is warned of again
      // whenever the list grows (and not otherwise: the third read warned of nothing).
      'a new device (#4) was added to your acco',
      `a new device (#${2 ** 53 - 1}) was add`,
    ]);
    // Only devices with a number an honest server gives get sync copies.
    expect(getContact(store, ME)?.devices.map((d) => d.deviceNumber)).toEqual([2, 4]);
    store.close();
  });

  it('on its first read, warns of active devices below its own number unless a device of the user linked it', async () => {
    const row = (deviceId: string, deviceNumber: number, revokedAt: number | null = null) => ({
      deviceId,
      deviceNumber,
      identityKey: Buffer.alloc(33, deviceNumber).toString('base64url'),
      createdAt: 1,
      revokedAt,
      current: deviceId === SELF,
    });
    const [C, D] = ['c'.repeat(22), 'd'.repeat(22)];
    let devices: ReturnType<typeof row>[] = [];
    const f: typeof fetch = () =>
      Promise.resolve(
        new Response(JSON.stringify({ devices }), { headers: { 'content-type': 'application/json' } }),
      );
    const first = async (setUp: (store: LocalStore) => void, deviceNumber: number) => {
      const store = LocalStore.open(profile());
      setUp(store);
      const api = new ApiClient('http://127.0.0.1:1', { fetch: f });
      await new OwnDeviceWatch({
        api,
        store,
        me: () => ME,
        deviceId: SELF,
        deviceNumber,
        clock: () => 9,
      }).check();
      const warned = listWarnings(store).map((w) => /\(#(\d+)\)/.exec(w.detail)?.[1]);
      store.close();
      return warned;
    };

    // Enrolled with an admin's code: #1, added while the user had no active device, is still
    // active and was never reported; #2, revoked before, is in the device list, not a warning.
    devices = [row(OTHER, 1), row(C, 2, 5), row(SELF, 3)];
    expect(await first((s) => noteOwnEnrolment(s, null), 3)).toEqual(['1']);
    // Linked from #1: nothing.
    expect(await first((s) => noteOwnEnrolment(s, OTHER), 3)).toEqual([]);

    // An upgraded profile: only an active device it never sent to (#4), not a revoked one
    // numbered above those it knew (#3), nor those it knew (#2).
    devices = [row(SELF, 1), row(OTHER, 2), row(C, 3, 5), row(D, 4)];
    const cached = (s: LocalStore) =>
      saveContact(s, { ...ME, devices: [{ deviceId: OTHER, deviceNumber: 2 }] });
    expect(await first(cached, 1)).toEqual(['4']);
  });
});
