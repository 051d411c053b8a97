/**
 * Both revocation calls report the hand-in window the server answered, and a server that does
 * not answer one (older than `handInUntil`, which granted a window by default on the own-device
 * route) is "not said", not "none".
 */
import { describe, expect, it } from 'vitest';
import { OrgAdmin } from '../admin/org-admin.js';
import { ApiClient } from '../transport/api-client.js';
import { revokeOwnDevice } from './own-devices.js';

const ORG = 'o'.repeat(22);
const DEVICE = 'd'.repeat(22);
const REVOKED_AT = Date.UTC(2026, 10, 28, 12);
const UNTIL = REVOKED_AT + 14 * 86_400_000;

/** An ApiClient over a server that answers every revocation with `extra` beside its times. */
function server(extra: Record<string, unknown>): { api: ApiClient; paths: string[] } {
  const paths: string[] = [];
  const f: typeof fetch = (input) => {
    const url = new URL(input);
    paths.push(url.pathname + url.search);
    const body = { deviceId: DEVICE, revokedAt: REVOKED_AT, ...extra };
    return Promise.resolve(
      new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }),
    );
  };
  return { api: new ApiClient('http://127.0.0.1:1', { fetch: f }), paths };
}

const answers = [
  ['a server older than the field', {}, undefined],
  ['no window', { handInUntil: null }, null],
  ['a window', { handInUntil: UNTIL }, UNTIL],
] as const;

describe('revocation answers', () => {
  it.each(answers)('a user revoking another of their devices: %s', async (_, extra, handInUntil) => {
    const { api, paths } = server(extra);
    expect(await revokeOwnDevice(api, DEVICE)).toEqual({ revokedAt: REVOKED_AT, handInUntil });
    expect(paths).toEqual([`/v1/devices/${DEVICE}/revoke`]);
  });

  it.each(answers)('an admin: %s, whatever was asked for', async (_, extra, handInUntil) => {
    const { api, paths } = server(extra);
    const admin = new OrgAdmin(api, ORG);
    expect(await admin.revokeDevice(DEVICE, { allowHandIn: true })).toEqual({
      revokedAt: REVOKED_AT,
      handInUntil,
    });
    expect(paths).toEqual([`/v1/orgs/${ORG}/devices/${DEVICE}/revoke?allowHandIn=true`]);
  });

  it('refuses a malformed handInUntil', async () => {
    const { api } = server({ handInUntil: 'soon' });
    await expect(revokeOwnDevice(api, DEVICE)).rejects.toThrow(/handInUntil is missing or malformed/);
  });
});
