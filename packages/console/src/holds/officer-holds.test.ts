/** The hold listing as the console reads it from a server, old or new. */
import { decodeHoldRelease, holdReleaseMessage, holdReleaseReasonHash } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { OfficerSession } from '../officer-session.js';
import { SigningKey, verifyEd25519 } from '../signing-key.js';
import { listHolds, releaseHold } from './officer-holds.js';

/** A session whose server answers the one listing page with `holds`. */
function sessionAnswering(holds: unknown[]): OfficerSession {
  return { orgId: 'org1', call: async () => ({ holds }) } as unknown as OfficerSession;
}

const hold = {
  holdId: 'h1',
  kind: 'custodian',
  matter: 'Matter 1',
  buckets: [],
  custodian: 'user1',
  from: null,
  to: null,
  createdBy: 'dev1',
  createdAt: 1,
  releasedBy: null,
  releasedAt: null,
  releaseReason: null,
};

describe('listHolds', () => {
  it("reads a server's users, and takes a server that sends none (older) as users unknown", async () => {
    const [named] = await listHolds(
      sessionAnswering([{ ...hold, createdByUser: 'alice', releasedByUser: null }]),
    );
    expect(named).toMatchObject({ createdBy: 'dev1', createdByUser: 'alice', releasedByUser: null });
    const [older] = await listHolds(sessionAnswering([hold]));
    expect(older).toMatchObject({ createdBy: 'dev1', createdByUser: null, releasedByUser: null });
  });

  it('refuses a hold whose id is not an id, or whose times are missing or not times', async () => {
    for (const [bad, why] of [
      [{ holdId: 'h1/../x' }, /malformed hold id/],
      [{ holdId: 'h1\u001b[2J' }, /malformed hold id/],
      [{ releasedAt: undefined }, /lacks required fields/],
      [{ releasedAt: '2026-11-28' }, /lacks required fields/],
      [{ from: -1 }, /lacks required fields/],
      [{ createdAt: 8.7e15 }, /a time later than a date can show/],
      [{ releasedAt: 8.64e15 + 1 }, /a time later than a date can show/],
      [{ to: Number.MAX_SAFE_INTEGER }, /a time later than a date can show/],
    ] as const)
      await expect(listHolds(sessionAnswering([{ ...hold, ...bad }]))).rejects.toMatchObject({
        code: 'SERVER_REFUSED',
        message: expect.stringMatching(why),
      });
  });

  it('refuses a listing whose cursor does not advance, or that never ends', async () => {
    const asked: string[] = [];
    const repeating = {
      orgId: 'org1',
      call: async (_m: string, path: string) => {
        asked.push(path);
        if (asked.length > 10) throw new Error('still listing'); // without the check it would never end
        return { holds: [hold], next: asked.length === 1 ? 'c1' : asked.length === 2 ? 'c2' : 'c1' };
      },
    } as unknown as OfficerSession;
    await expect(listHolds(repeating)).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: 'the hold listing answered a cursor that does not advance',
    });
    expect(asked).toHaveLength(3);
    let n = 0;
    const endless = {
      orgId: 'org1',
      call: async () => {
        if (n > 100_000) throw new Error('still listing');
        return { holds: [], next: `c${n++}` };
      },
    } as unknown as OfficerSession;
    await expect(listHolds(endless)).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: expect.stringMatching(/^the hold listing did not end after \d+ pages$/),
    });
  });

  it("reads a release's statement and signature, takes a server that sends none (older) as unsigned, refuses non-text", async () => {
    const [signed] = await listHolds(
      sessionAnswering([{ ...hold, releaseStatement: 'c3Q', releaseSignature: 'c2ln' }]),
    );
    expect(signed).toMatchObject({ releaseStatement: 'c3Q', releaseSignature: 'c2ln' });
    const [older] = await listHolds(sessionAnswering([hold]));
    expect(older).toMatchObject({ releaseStatement: null, releaseSignature: null });
    await expect(listHolds(sessionAnswering([{ ...hold, releaseStatement: 7 }]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: expect.stringMatching(/release statement or signature/),
    });
  });

  it("reads a hold's placing detail, takes a server that sends none (older) as none, refuses non-text", async () => {
    const detail = 'kind=custodian user=user1 matter-sha256=00';
    const [listed] = await listHolds(sessionAnswering([{ ...hold, placedDetail: detail }]));
    expect(listed?.placedDetail).toBe(detail);
    const [older] = await listHolds(sessionAnswering([hold]));
    expect(older?.placedDetail).toBeNull();
    await expect(listHolds(sessionAnswering([{ ...hold, placedDetail: 7 }]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: 'a listed hold has a placing detail that is not text',
    });
  });

  it('refuses users named by anything but ids', async () => {
    await expect(listHolds(sessionAnswering([{ ...hold, createdByUser: 7 }]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
    });
  });
});

describe('releaseHold', () => {
  it("sends the reason with the officer's signed statement for this org, hold and reason", async () => {
    const key = SigningKey.generate();
    const sent: { path: string; body: Record<string, string> }[] = [];
    const session = {
      orgId: 'org1',
      officerIndex: 2,
      officer: { keys: { signingKey: key } },
      call: async (_m: string, path: string, body: Record<string, string>) => {
        sent.push({ path, body });
        return { holdId: 'h1', releasedAt: 77 };
      },
    } as unknown as OfficerSession;
    expect(await releaseHold(session, 'h1', '  settled  ', 55)).toBe(77);
    const [{ path, body }] = sent as [(typeof sent)[0]];
    expect(path).toBe('/v1/orgs/org1/holds/h1/release');
    expect(body.reason).toBe('settled');
    const statement = Buffer.from(body.statement!, 'base64url');
    expect(decodeHoldRelease(statement)).toEqual({
      orgId: 'org1',
      holdId: 'h1',
      reasonSha256: holdReleaseReasonHash('settled'),
      officerIndex: 2,
      at: 55,
    });
    expect(
      verifyEd25519(key.publicKey, holdReleaseMessage(statement), Buffer.from(body.signature!, 'base64url')),
    ).toBe(true);
    // Nothing is signed or sent for a blank reason or a malformed hold id.
    await expect(releaseHold(session, 'h1', ' ')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(releaseHold(session, 'h1/..', 'r')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(sent).toHaveLength(1);
  });
});
