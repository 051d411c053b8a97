/**
 * Threat model F6, second half: two installs never accept each other's credentials. Two
 * servers in this process, each over its own data folder (SQLite, its own log-signing key
 * and bootstrap token made at first start), an organisation on each. Install A's bootstrap
 * token, enrolment code and device token are refused by install B with the error that names
 * them, and change nothing there; A's signed checkpoint does not verify under B's log key.
 * Each refusal is paired with B's own credential of the same kind working (positive control).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { openCheckpoint } from '@custos/core';
import { loadConfig, logVerifierKey, startServer, type RunningServer } from '@custos/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceKeys, orgCreateBody } from '../../packages/server/src/testing/test-app.js';
import { tempDir } from '../client-support.js';
import { enrolDevice, http } from '../org-create-support.js';

const dir = tempDir('custos-install-isolation-');

/** One install: a running server, its first-start bootstrap token, and an org made with it. */
interface Install {
  readonly server: RunningServer;
  readonly bootstrapToken: string;
  orgId: string;
  /** The org's unused first-admin enrolment code. */
  code: string;
}

async function install(name: string): Promise<Install> {
  const data = join(dir, name);
  const tokenFile = join(dir, `${name}.bootstrap`);
  const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
  const server = await startServer(
    loadConfig({
      argv: ['--data', data, '--listen', '127.0.0.1:0', '--bootstrap-out', tokenFile],
      env: {},
      cwd: dir,
    }),
    io,
    { signals: false },
  );
  return { server, bootstrapToken: readFileSync(tokenFile, 'utf8').trim(), orgId: '', code: '' };
}

async function createOrg(i: Install, bootstrapToken: string): Promise<{ status: number; code: unknown }> {
  const r = await http(i.server.url, 'POST', '/v1/orgs', orgCreateBody(bootstrapToken));
  if (r.status === 201) {
    i.orgId = r.json.orgId as string;
    i.code = r.json.enrolmentCode as string;
  }
  return { status: r.status, code: (r.json.error as { code?: unknown } | undefined)?.code };
}

/** The devices install `i` lists for its org, as its admin (`headers`) sees them. */
async function deviceCount(i: Install, headers: Record<string, string>): Promise<number> {
  const r = await http(i.server.url, 'GET', `/v1/orgs/${i.orgId}/devices`, undefined, headers);
  expect(r.status).toBe(200);
  return (r.json.devices as unknown[]).length;
}

let a: Install;
let b: Install;

beforeAll(async () => {
  [a, b] = await Promise.all([install('a'), install('b')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.server.close(), b?.server.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('two installs never accept each other’s credentials (F6)', () => {
  it('generate their own keys and bootstrap tokens', () => {
    expect(a.bootstrapToken).not.toBe(b.bootstrapToken);
    expect(a.server.logSigningKey.publicKey.equals(b.server.logSigningKey.publicKey)).toBe(false);
  });

  it('refuse the other install’s bootstrap token, enrolment code and device token, changing nothing', async () => {
    // A's bootstrap token on B, which has no organisation yet: refused, and B's own still works.
    expect(await createOrg(b, a.bootstrapToken)).toEqual({ status: 401, code: 'BOOTSTRAP_INVALID' });
    expect((await createOrg(b, b.bootstrapToken)).status).toBe(201);
    expect((await createOrg(a, a.bootstrapToken)).status).toBe(201);

    // A's unused enrolment code on B: under A's org id (B has no such org) and under B's own.
    const keys = deviceKeys(1, 1);
    const underA = await http(b.server.url, 'POST', `/v1/orgs/${a.orgId}/devices`, {
      ...keys.body,
      enrolmentCode: a.code,
    });
    expect(underA.status).toBe(401);
    expect(underA.json.error).toMatchObject({ code: 'ENROLMENT_CODE_INVALID' });
    const underB = await http(b.server.url, 'POST', `/v1/orgs/${b.orgId}/devices`, {
      ...keys.body,
      enrolmentCode: a.code,
    });
    expect(underB.status).toBe(401);
    expect(underB.json.error).toMatchObject({ code: 'ENROLMENT_CODE_INVALID' });

    // Each install's own code enrols its admin; B has that one device and no other.
    const adminA = await enrolDevice(a.server.url, a.orgId, a.code);
    const adminB = await enrolDevice(b.server.url, b.orgId, b.code);
    expect(await deviceCount(b, adminB)).toBe(1);

    // A's device token on B: with A's device id, and presented as B's device.
    for (const headers of [adminA, { ...adminA, 'custos-device': adminB['custos-device']! }]) {
      const r = await http(b.server.url, 'GET', `/v1/orgs/${b.orgId}/devices`, undefined, headers);
      expect(r.status).toBe(401);
      expect(r.json.error).toMatchObject({ code: 'TOKEN_INVALID' });
    }
    expect(await deviceCount(b, adminB)).toBe(1);
    expect(await deviceCount(a, adminA)).toBe(1);
  });

  it("sign their logs with their own keys: A's checkpoint does not verify under B's", async () => {
    // The org's first checkpoint is signed by the log integrator shortly after its creation.
    let res = await fetch(`${a.server.url}/v1/orgs/${a.orgId}/log/checkpoint`);
    for (let i = 0; i < 100 && res.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await fetch(`${a.server.url}/v1/orgs/${a.orgId}/log/checkpoint`);
    }
    expect(res.status).toBe(200);
    const note = await res.text();
    // The log's name (its origin line) is the same whichever key signs for it.
    const origin = note.split('\n')[0]!;
    expect(origin).toContain(a.orgId);
    expect(
      openCheckpoint(note, [logVerifierKey(origin, a.server.logSigningKey)], origin).checkpoint.origin,
    ).toBe(origin);
    // B's key under the same log name: what B would vouch with, were it to claim A's log.
    expect(() => openCheckpoint(note, [logVerifierKey(origin, b.server.logSigningKey)], origin)).toThrow();
  });
});
