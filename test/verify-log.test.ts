/**
 * End to end: `custos verify log` (the auditor's witness) as a real process against a real
 * server process — first run pins the key, a later run verifies growth by a consistency
 * proof from the server, a tampered state (a "forked" memory) and a wrong out-of-band key
 * are refused with exit 1 and leave the state file byte for byte as it was, a
 * cosignature made with `custos verify witness-key` verifies, and --compare takes another
 * auditor's state file, a device's receipt or a checkpoint.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import {
  formatVerifierKey,
  openCheckpoint,
  parseVerifierKey,
  SIGNATURE_TYPE_ED25519,
  verifierKeyFromKeyObject,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrg,
  startServer,
  stopServer,
  tempDir,
  until,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { runCustos } from './org-create-support.js';

let dir: string;
let server: ServerProcess;
let org: TestOrg;

beforeAll(async () => {
  dir = tempDir('custos-verify-log-');
  server = await startServer(dir);
  org = await createOrg(server, dir);
}, 240_000);

afterAll(async () => {
  await org?.admin.close();
  await org?.officer.close();
  if (server !== undefined) await stopServer(server);
});

async function treeSize(): Promise<number> {
  const r = await fetch(`${server.url}/v1/orgs/${org.orgId}/log`);
  return ((await r.json()) as { treeSize: number }).treeSize;
}

const witness = (...extra: string[]) =>
  runCustos(['verify', 'log', '--server', server.url, '--org', org.orgId, ...extra], 60_000);

describe('custos verify log', () => {
  it('pins, follows growth, refuses a fork and a wrong key without touching the state, cosigns', async () => {
    const state = join(dir, 'witness.json');
    await until(async () => (await treeSize()) > 0, 'first checkpoint');

    const first = await witness('--state', state, '--json');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const r1 = JSON.parse(first.stdout) as { outcome: string; treeSize: number; verifierKey: string };
    expect(r1.outcome).toBe('first-seen');

    // An admin act appends to the log; wait for a checkpoint that covers it.
    await org.admin.api.request('POST', `/v1/orgs/${org.orgId}/users`, { body: { role: 'member' } });
    await until(async () => (await treeSize()) > r1.treeSize, 'a larger checkpoint');
    const second = await witness('--state', state, '--json');
    expect(second.status).toBe(0);
    const r2 = JSON.parse(second.stdout) as { outcome: string; previousTreeSize: number; treeSize: number };
    expect(r2.outcome).toBe('extended');
    expect(r2.previousTreeSize).toBe(r1.treeSize);

    // A state whose root differs (as if the server had shown this witness another history).
    const good = readFileSync(state, 'utf8');
    const forked = good.replace(
      /"rootHash": "([A-Za-z0-9_-])/,
      (_m, c: string) => `"rootHash": "${c === 'A' ? 'B' : 'A'}`,
    );
    expect(forked).not.toBe(good);
    writeFileSync(state, forked);
    const fork = await witness('--state', state);
    expect(fork.status).toBe(1);
    expect(fork.stderr).toMatch(/LOG_FORK/);
    expect(fork.stderr).toMatch(/nothing was stored/);
    expect(readFileSync(state, 'utf8')).toBe(forked);
    writeFileSync(state, good);

    // A log key given out of band that is not the server's: another key under the same origin.
    const otherKey = generateKeyPairSync('ed25519').publicKey;
    const wrongKey = formatVerifierKey(
      verifierKeyFromKeyObject(parseVerifierKey(r1.verifierKey).name, SIGNATURE_TYPE_ED25519, otherKey),
    );
    const fresh = join(dir, 'fresh.json');
    const mismatch = await witness('--state', fresh, '--log-key', wrongKey);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/LOG_KEY_MISMATCH/);
    expect(() => readFileSync(fresh)).toThrow();
    // Not a verifier key at all (its key id altered): a usage error, the state untouched too.
    const garbled = r1.verifierKey.replace(/\+([0-9a-f]{8})\+/, '+00000000+');
    const malformed = await witness('--state', fresh, '--log-key', garbled);
    expect([malformed.status, malformed.stderr]).toEqual([
      2,
      expect.stringContaining('--log-key is not a log verifier key: verifier key: key ID does not match'),
    ]);
    expect(() => readFileSync(fresh)).toThrow();

    // Cosign with a new witness key.
    const key = join(dir, 'witness.key');
    const made = await runCustos([
      'verify',
      'witness-key',
      '--out',
      key,
      '--name',
      'auditor.example/w1',
      '--json',
    ]);
    expect(made.status).toBe(0);
    const { verifierKey: witnessKey } = JSON.parse(made.stdout) as { verifierKey: string };
    const out = join(dir, 'cosigned.txt');
    const cosign = await witness('--state', state, '--cosign-key', key, '--cosigned-out', out);
    expect(cosign.status).toBe(0);
    const origin = r1.verifierKey.split('+')[0]!;
    const opened = openCheckpoint(readFileSync(out, 'utf8'), [r1.verifierKey, witnessKey], origin);
    expect(opened.cosignatures).toHaveLength(1);

    // --compare takes what docs/log.md §11 names: another auditor's state file, a receipt a
    // device holds (c2sp.org/tlog-proof@v1), and a checkpoint (here the cosigned one).
    const other = join(dir, 'other-auditor.json');
    expect((await witness('--state', other)).status).toBe(0);
    const receipt = join(dir, 'receipt.txt');
    writeFileSync(receipt, await (await fetch(`${server.url}/v1/orgs/${org.orgId}/log/receipts/0`)).text());
    for (const file of [other, receipt, out]) {
      const compared = await witness('--state', state, '--compare', file, '--json');
      expect(compared.stderr, file).toBe('');
      expect(compared.status).toBe(0);
      const c = JSON.parse(compared.stdout) as { compared: { relation: string }[] };
      expect(c.compared).toHaveLength(1);
    }
    const notState = join(dir, 'not-state.json');
    writeFileSync(notState, '{"format": "something-else"}');
    const wrongJson = await witness('--state', state, '--compare', notState);
    expect(wrongJson.status).toBe(2);
    expect(wrongJson.stderr).toMatch(/is JSON but not a witness state file/);

    // Usage errors exit 2 and name the flag.
    const usage = await witness('--state', state, '--bogus');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/unknown option --bogus/);
  }, 240_000);
});
