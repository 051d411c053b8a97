/**
 * startServer in-process: it listens, prints the first-start text, serves on both stores,
 * its graceful close lets a request that is already being received finish, a failed
 * SQLite checkpoint worker is logged, and a log-signing key other than the one the store's
 * logs were created with (or none, after a restore of the database alone) stops the start.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EMPTY_ROOT } from '@custos/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config/load-config.js';
import { LogSigningKey } from './crypto/log-signing-key.js';
import { newId } from './ids.js';
import { logOriginFor, logVerifierKey } from './log-service/checkpoint-signing.js';
import { startServer } from './server.js';
import { openStore } from './store/open-store.js';
import { createTestOrgRow } from './testing/test-org-row.js';
import { createPgTestDatabase, PG_SKIP_REASON, TEST_PG_URL_ENV } from './testing/test-stores.js';

function capture(): {
  io: { stdout: PassThrough; stderr: PassThrough };
  out: () => string;
  logLines: () => Record<string, unknown>[];
} {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const logLines = (): Record<string, unknown>[] =>
    err
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { io: { stdout, stderr }, out: () => out, logLines };
}

describe('startServer', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'custos-server-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('finishes a request in flight when closing', { timeout: 30_000 }, async () => {
    const dir = tmp();
    const c = capture();
    const server = await startServer(
      loadConfig({ argv: ['--data', dir, '--listen', '127.0.0.1:0'], env: {}, cwd: dir }),
      c.io,
      {
        signals: false,
      },
    );
    expect(c.out()).toContain(`Listening on ${server.url}`);
    expect(c.out()).toMatch(/Bootstrap token: cb1\./);

    const body = JSON.stringify({ orgId: newId(), deviceId: newId() });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${server.url}/v1/auth/challenge`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after close() has begun: the request is in flight.
      req.write(body.slice(0, 10));
      setTimeout(() => {
        closing = server.close();
        setTimeout(() => req.end(body.slice(10)), 100);
      }, 500);
    });
    let closing: Promise<void> | undefined;
    const r = await response;
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'DEVICE_NOT_FOUND' } });
    await closing;
    await server.closed;
  });

  it('logs a failed SQLite checkpoint worker once, as a warning with its code only', async () => {
    const dir = tmp();
    const c = capture();
    const server = await startServer(
      loadConfig({ argv: ['--data', dir, '--listen', '127.0.0.1:0'], env: {}, cwd: dir }),
      c.io,
      {
        signals: false,
        checkpointWorkerSource: `throw Object.assign(new Error('cannot open ${dir}'), { code: 'SQLITE_CANTOPEN' });`,
      },
    );
    const failed = (): Record<string, unknown>[] =>
      c.logLines().filter((l) => l.event === 'sqlite-checkpoint-worker-failed');
    await vi.waitFor(() => expect(failed()).toHaveLength(1), { timeout: 20_000, interval: 20 });
    expect(failed()[0]).toEqual({
      time: expect.any(String),
      level: 'warn',
      event: 'sqlite-checkpoint-worker-failed',
      code: 'SQLITE_CANTOPEN',
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await server.close();
    expect(failed()).toHaveLength(1);
    expect(c.logLines().some((l) => JSON.stringify(l).includes(dir))).toBe(false);
  });

  it('refuses to start under a log-signing key the logs in the store were not created with', async () => {
    const dir = tmp();
    const config = loadConfig({ argv: ['--data', dir, '--listen', '127.0.0.1:0'], env: {}, cwd: dir });
    const start = () => startServer(config, capture().io, { signals: false });
    await (await start()).close();
    const keyFile = join(dir, 'log-signing.key');
    const original = readFileSync(keyFile, 'utf8');
    // An organisation whose log was created under the install's key (as integration does).
    const stores = await openStore(config.store);
    const orgId = await createTestOrgRow(stores, 'Example Agency');
    const origin = logOriginFor('127.0.0.1', orgId);
    const vkey = logVerifierKey(origin, new LogSigningKey(createPrivateKey(original)));
    await stores.log.createTree(orgId, origin, vkey, EMPTY_ROOT);
    await stores.close();

    // The database restored without the key file: no new key is made and kept, no start.
    rmSync(keyFile);
    await expect(start()).rejects.toMatchObject({ name: 'ConfigError', setting: 'logSigningKey' });
    await expect(start()).rejects.toThrow(
      new RegExp(
        `there was no key at ${keyFile}, but 1 of the 1 organisation log\\(s\\) in the store \\(org ${orgId}\\) were signed with one: restore that key file`,
      ),
    );
    expect(existsSync(keyFile)).toBe(false);
    // Another key (a wrong --log-signing-key): refused, and the file is left alone.
    const other = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(keyFile, other, { mode: 0o600 });
    await expect(start()).rejects.toThrow(`${keyFile} is not the key 1 of the 1 organisation log(s)`);
    expect(readFileSync(keyFile, 'utf8')).toBe(other);
    // The key the log was created with starts.
    writeFileSync(keyFile, original, { mode: 0o600 });
    await (await start()).close();
  });

  it.skipIf(PG_SKIP_REASON !== null)(
    `serves on PostgreSQL${PG_SKIP_REASON === null ? '' : ` (skipped: ${PG_SKIP_REASON})`}`,
    async () => {
      const db = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      try {
        const dir = tmp();
        const c = capture();
        const server = await startServer(
          loadConfig({
            argv: ['--data', dir, '--listen', '127.0.0.1:0', '--store', db.url],
            env: {},
            cwd: dir,
          }),
          c.io,
          { signals: false },
        );
        expect(c.out()).toContain('(PostgreSQL)');
        const r = await fetch(`${server.url}/healthz`);
        expect(r.status).toBe(200);
        await server.close();
      } finally {
        await db.drop();
      }
    },
  );
});
