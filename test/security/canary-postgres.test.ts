/**
 * Threat model F1, F11, F13 on PostgreSQL: the canary scenario (message text, attachment
 * bytes and file name, group name) through a real server process whose store is a fresh
 * PostgreSQL database, then `pg_dump` of that database searched in UTF-8, UTF-16LE, base64
 * and hex — in the dump's bytes and inside every bytea value it holds, decoded — and the
 * server's output: no hit. Positive control: the canary planted in each encoding in a
 * scratch table of the same database is found in the dump. The organisation's bucket key
 * (the officer's side) opens the archived records and finds the canary.
 * Skipped without CUSTOS_TEST_PG_URL (bash .ci/run sets it).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { decodeBody, openRecordBytes, openSessionKey, parseRecord, sessionKeyIdOf } from '@custos/core';
import type { CustosClient } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createOrg,
  deliverIndexKey,
  enrolUser,
  startServer,
  stopServer,
  tempDir,
  until,
  type ServerProcess,
  type TestOrg,
} from '../client-support.js';
import { createPgTestDatabase, type PgTestDatabase } from '../../packages/server/src/testing/test-stores.js';
import { encodeCanary, ENCODINGS, searchBytes, type Hit } from './canary-search.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const PG_URL = process.env.CUSTOS_TEST_PG_URL;
const canary = `cp${randomBytes(12).toString('hex')}`;
const dir = tempDir('custos-canary-pg-');
let db: PgTestDatabase | undefined;
let server: ServerProcess | undefined;
let org: TestOrg | undefined;
const clients: CustosClient[] = [];

/** A plain-format dump of the database (bytea values appear as `\x` hex literals). */
function dump(url: string): Buffer {
  return execFileSync('pg_dump', ['--format=plain', '--no-owner', '--dbname', url], {
    maxBuffer: 1 << 30,
  });
}

/** Hits of the canary in a dump: its bytes, and the decoded bytes of every bytea literal in it. */
function searchDump(d: Buffer): Hit[] {
  const text = d.toString('latin1');
  const decoded = Buffer.concat(
    [...text.matchAll(/\\\\?x([0-9a-f]{2,})/g)].map((m) =>
      Buffer.from(m[1]!.length % 2 === 0 ? m[1]! : m[1]!.slice(0, -1), 'hex'),
    ),
  );
  return [...searchBytes('pg_dump', d, canary), ...searchBytes('pg_dump bytea values', decoded, canary)];
}

async function archiveAll(c: CustosClient): Promise<void> {
  await until(
    async () => {
      await c.flushArchive();
      const s = c.archiveStatus();
      return s.queued === 0 && s.receipts === s.nextSeq;
    },
    'archive receipts',
    60_000,
  );
}

beforeAll(async () => {
  if (PG_URL === undefined || PG_URL === '') return;
  db = await createPgTestDatabase(PG_URL);
  server = await startServer(dir, { serverArgs: ['--store', db.url, '--log-level', 'debug'] });
  org = await createOrg(server, join(dir, 'org'));
  clients.push(org.admin, org.officer);
  const alice = await enrolUser(server, org.admin, join(dir, 'alice'));
  const bob = await enrolUser(server, org.admin, join(dir, 'bob'));
  clients.push(alice, bob);
  for (const c of [alice, bob]) await deliverIndexKey(org, c);
  const file = Buffer.concat([Buffer.from(`attachment ${canary}\n`), randomBytes(256)]);
  const p = await alice.attachFile(file, { fileName: `${canary}.txt`, contentType: 'text/plain' });
  await alice.send(bob.me, { kind: 'message', text: canary, attachments: [p] });
  const group = await alice.createGroup(canary, [bob.me]);
  await alice.sendToGroup(group.id, { kind: 'message', text: `group says ${canary}` });
  const got = await bob.sync();
  expect(got.some((e) => e.content.text === canary)).toBe(true);
  for (const c of [alice, bob]) await archiveAll(c);
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  if (server !== undefined) await stopServer(server);
  await db?.drop();
});

describe.skipIf(PG_URL === undefined || PG_URL === '')('canary on PostgreSQL (F1, F11, F13)', () => {
  it('positive control: the canary planted in each encoding in the database is found in the dump', async () => {
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    try {
      await c.query('CREATE TABLE positive_control (encoding TEXT, value BYTEA)');
      for (const e of ENCODINGS) {
        await c.query('INSERT INTO positive_control VALUES ($1, $2)', [e, encodeCanary(canary, e)]);
      }
      const found = new Set(searchDump(dump(db!.url)).map((h) => h.encoding));
      expect([...found].sort()).toEqual([...ENCODINGS].sort());
    } finally {
      await c.query('DROP TABLE IF EXISTS positive_control');
      await c.end();
    }
  });

  it('pg_dump of the server’s database and the server’s output hold no form of the canary', () => {
    const d = dump(db!.url);
    expect(d.includes(Buffer.from('archive_records'))).toBe(true);
    expect(searchDump(d)).toEqual([]);
    expect(searchBytes('server output', `${server!.stdout}\n${server!.stderr}`, canary)).toEqual([]);
  });

  it('the officer side’s bucket key opens the archived records and finds the canary', async () => {
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    try {
      const keys = (await c.query<{ wrapped: Buffer }>('SELECT wrapped FROM archive_session_keys')).rows;
      const records = (await c.query<{ record: Buffer }>('SELECT record FROM archive_records')).rows;
      const texts: string[] = [];
      for (const { record } of records) {
        const keyId = Buffer.from(parseRecord(record).header.sessionKeyId);
        const k = keys.find((x) => Buffer.from(sessionKeyIdOf(x.wrapped)).equals(keyId))!;
        const opener = await openSessionKey(org!.bucket.privateKey, k.wrapped);
        texts.push(decodeBody(openRecordBytes(opener, record).bodyBytes).text ?? '');
      }
      // Both devices archive the message (the group's creation records carry its name too).
      expect(texts.filter((t) => t === canary).length).toBeGreaterThanOrEqual(2);
      expect(texts.filter((t) => t === `group says ${canary}`)).toHaveLength(2);
    } finally {
      await c.end();
    }
  });
});
