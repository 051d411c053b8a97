/**
 * Threat model F4 and F5 against a real server process: a captured login exchange (the
 * challenge answer) replayed, the same answer presented for another device, and the
 * verifiers the server stores (SHA-256 of bearer tokens and of enrolment codes, read from
 * its database by someone holding the data folder) presented as credentials: each refused,
 * and no new token is issued. The genuine token keeps working.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { authChallengeMessage, type DeviceId, type OrgId } from '@custos/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceKeys } from '../../packages/server/src/testing/test-app.js';
import {
  createOrg,
  startServer,
  stopServer,
  tempDir,
  type ServerProcess,
  type TestOrg,
} from '../client-support.js';
import { http } from '../org-create-support.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 300_000 });

const dir = tempDir('custos-login-replay-');
let server: ServerProcess;
let org: TestOrg;

/** Issues an enrolment code for a new member, as the admin. */
async function newCode(): Promise<string> {
  const orgId = org.orgId;
  const user = (await org.admin.api.request('POST', `/v1/orgs/${orgId}/users`, {
    body: { role: 'member' },
  })) as {
    userId: string;
  };
  const c = (await org.admin.api.request('POST', `/v1/orgs/${orgId}/users/${user.userId}/enrolment-codes`, {
    body: {},
  })) as { enrolmentCode: string };
  return c.enrolmentCode;
}

/** Rows of a server table (read as the operator would, from the data folder). */
function rows<T>(query: string): T[] {
  const db = new Database(join(server.dataDir, 'custos.sqlite'), { readonly: true });
  try {
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  server = await startServer(dir);
  org = await createOrg(server, join(dir, 'org'));
});

afterAll(async () => {
  await org?.admin.close();
  await org?.officer.close();
  if (server !== undefined) await stopServer(server);
});

describe('login replay and stored verifiers (F4, F5)', () => {
  it('a replayed challenge answer, or one presented for another device, issues no token', async () => {
    const keys = deviceKeys(1, 1);
    const enrolled = await http(server.url, 'POST', `/v1/orgs/${org.orgId}/devices`, {
      ...keys.body,
      enrolmentCode: await newCode(),
    });
    expect(enrolled.status).toBe(201);
    const deviceId = enrolled.json.deviceId as string;
    const other = await http(server.url, 'POST', `/v1/orgs/${org.orgId}/devices`, {
      ...deviceKeys(1, 1).body,
      enrolmentCode: await newCode(),
    });
    const otherId = other.json.deviceId as string;

    /** A fresh challenge answered by the device's key. */
    const answerOf = async () => {
      const ch = await http(server.url, 'POST', '/v1/auth/challenge', { orgId: org.orgId, deviceId });
      const { challengeId, challenge, origin } = ch.json as {
        challengeId: string;
        challenge: string;
        origin: string;
      };
      const msg = authChallengeMessage({
        origin,
        orgId: org.orgId as OrgId,
        deviceId: deviceId as DeviceId,
        challenge,
      });
      const signature = Buffer.from(keys.identity.sign(new Uint8Array(msg))).toString('base64url');
      return { orgId: org.orgId, deviceId, challengeId, signature };
    };
    const tokensBefore = rows<{ n: number }>('SELECT COUNT(*) AS n FROM auth_tokens')[0]!.n;

    // A captured answer presented for another device: refused. The challenge is single-use,
    // so that attempt spends it: the owner's own late answer is refused too, and it asks again.
    const captured = await answerOf();
    const forOther = await http(server.url, 'POST', '/v1/auth/token', { ...captured, deviceId: otherId });
    expect(forOther.status).toBe(401);
    expect((await http(server.url, 'POST', '/v1/auth/token', captured)).status).toBe(401);

    const answer = await answerOf();
    const signature = answer.signature;
    const first = await http(server.url, 'POST', '/v1/auth/token', answer);
    expect(first.status).toBe(201);
    const token = first.json.token as string;
    const replay = await http(server.url, 'POST', '/v1/auth/token', answer);
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(replay.json.token).toBeUndefined();
    expect(JSON.stringify(replay.json)).not.toContain(signature);
    expect(rows<{ n: number }>('SELECT COUNT(*) AS n FROM auth_tokens')[0]!.n).toBe(tokensBefore + 1);

    // The genuine token works.
    const session = await http(server.url, 'GET', '/v1/session', undefined, {
      authorization: `Bearer ${token}`,
      'custos-device': deviceId,
    });
    expect(session.status).toBe(200);
  });

  it('the verifiers the server stores are no credentials', async () => {
    const tokens = rows<{ token_hash: Buffer; device_id: string }>(
      'SELECT token_hash, device_id FROM auth_tokens',
    );
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) {
      const hash = Buffer.from(t.token_hash);
      for (const candidate of [
        hash.toString('hex'),
        hash.toString('base64url'),
        `ct1.${org.orgId}.${hash.toString('base64url')}`,
      ]) {
        const r = await http(server.url, 'GET', '/v1/session', undefined, {
          authorization: `Bearer ${candidate}`,
          'custos-device': t.device_id,
        });
        expect(r.status, candidate.slice(0, 12)).toBe(401);
      }
    }
    // A stored enrolment-code hash does not enrol a device.
    const codes = rows<{ code_hash: Buffer }>('SELECT code_hash FROM enrolment_codes WHERE used_at IS NULL');
    await newCode();
    for (const c of [
      ...codes,
      ...rows<{ code_hash: Buffer }>('SELECT code_hash FROM enrolment_codes WHERE used_at IS NULL'),
    ]) {
      for (const code of [
        Buffer.from(c.code_hash).toString('base64url'),
        Buffer.from(c.code_hash).toString('hex'),
      ]) {
        const r = await http(server.url, 'POST', `/v1/orgs/${org.orgId}/devices`, {
          ...deviceKeys(1, 1).body,
          enrolmentCode: code,
        });
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
      }
    }
  });
});
