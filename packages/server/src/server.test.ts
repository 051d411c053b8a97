/**
 * startServer in-process: it listens, prints the first-start text, serves on both stores,
 * its graceful close lets a request that is already being received finish, and a failed
 * SQLite checkpoint worker is logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config/load-config.js';
import { newId } from './ids.js';
import { startServer } from './server.js';
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
