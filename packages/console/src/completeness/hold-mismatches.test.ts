/**
 * The completeness check's hold findings: runCompleteness against a small HTTP server that
 * serves a real signed log holding two hold acts (a custodian hold placed, a date hold placed
 * and released) and a hold listing that agrees with it — or drops the active hold, as a lying
 * or broken server would. A dropped hold is a finding naming it (exit 1, in --json), read
 * again before it stands; an agreeing listing gives none.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  appendEntries,
  decodeLogEntry,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  generateSignerKey,
  parseSignerKey,
  signCheckpoint,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLD_CATCH_UP_ATTEMPTS } from '../holds/holds-with-log.js';
import { holdActEntry } from '../holds/hold-test-support.js';
import type { HoldListing } from '../holds/officer-holds.js';
import type { OfficerSession } from '../officer-session.js';
import { httpOfficerSession } from '../officer-session-test-support.js';
import { holdMismatches } from './hold-mismatches.js';
import { runCompleteness } from './run-completeness.js';

const ORG = 'org-hold-mismatch';
const ORIGIN = `custos.test/${ORG}`;
const OFFICER = 'dev-officer';
const T = Date.UTC(2026, 10, 2);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: HoldListing = {
  holdId: 'hold-c',
  kind: 'custodian',
  matter: 'M-2026-014',
  custodian: 'user-7',
  from: null,
  to: null,
  buckets: [],
  createdBy: OFFICER,
  createdAt: T,
  releasedBy: null,
  releasedAt: null,
  releaseReason: null,
};
const dates: HoldListing = {
  ...custodian,
  holdId: 'hold-d',
  kind: 'dates',
  custodian: null,
  from: Date.UTC(2026, 0, 1),
  to: Date.UTC(2026, 1, 1),
  createdAt: T + 1,
  releasedBy: OFFICER,
  releasedAt: T + 2,
  releaseReason: 'matter closed',
};

/** The encoded `hold` entry the server logs for an act (server holds/hold-acts.ts). */
const act = (h: HoldListing, action: 'place' | 'release', detail: string): Uint8Array =>
  encodeLogEntry(holdActEntry(ORG, h, action, detail));

const entries = [
  act(custodian, 'place', `kind=custodian user=user-7 matter-sha256=${sha(custodian.matter)}`),
  act(dates, 'place', `kind=dates from=${dates.from} to=${dates.to} matter-sha256=${sha(dates.matter)}`),
  act(dates, 'release', `reason-sha256=${sha('matter closed')}`),
];

describe('completeness: the hold listing against the log', () => {
  const key = generateSignerKey(ORIGIN);
  const checkpoint = signCheckpoint(
    {
      origin: ORIGIN,
      treeSize: entries.length,
      rootHash: appendEntries(EMPTY_TREE_STATE, entries).root,
      extensions: [],
    },
    parseSignerKey(key.signerKey),
  );
  /** The holds the server lists, and how often it was asked. */
  let listed: HoldListing[] = [];
  let listings = 0;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      const json = (body: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (path === `/v1/orgs/${ORG}/log`)
        return json({ origin: ORIGIN, verifierKey: key.verifierKey, checkpoint });
      if (path === `/v1/orgs/${ORG}/archive/completeness`)
        return json({
          devices: [],
          gaps: [],
          policy: { silentAfterMs: 7 * 86_400_000, receiptGraceMs: 86_400_000, setBy: null, setAt: null },
        });
      if (path.startsWith(`/v1/orgs/${ORG}/holds?`)) {
        listings++;
        return json({ holds: listed, next: null });
      }
      if (path === `/v1/orgs/${ORG}/log/tile/entries/000.p/${entries.length}`) {
        res.setHeader('content-type', 'application/octet-stream');
        return res.end(Buffer.from(encodeEntryBundle(entries)));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const session = (): OfficerSession => httpOfficerSession(url, ORG);
  const run = () => runCompleteness(session(), { now: T + 3, holdCatchUpDelayMs: 0 });

  it('reports an active hold the listing drops, naming it, after reading listing and log again', async () => {
    listed = [dates];
    listings = 0;
    const report = await run();
    expect(report.complete).toBe(false);
    expect(report.findings).toEqual([
      {
        kind: 'hold-mismatch',
        holdId: 'hold-c',
        aspect: 'not-listed',
        problem: 'the log shows it placed and not released (entry 0), the server does not list it',
        id: `hold-mismatch/${ORG}/hold-c/not-listed`,
      },
    ]);
    expect(listings).toBe(HOLD_CATCH_UP_ATTEMPTS);
  });

  it('reports nothing when the listing agrees with the log, released holds included', async () => {
    listed = [custodian, dates];
    listings = 0;
    const report = await run();
    expect(report.findings).toEqual([]);
    expect(report.complete).toBe(true);
    expect(listings).toBe(1);
  });
});

describe('holdMismatches', () => {
  it('reports holds listed under another kind or matter than the log placed them with', () => {
    const log = entries.map((entry, index) => ({ index, entry: decodeLogEntry(entry) }));
    // A dates hold listed as a query hold without buckets reaches no bucket in a plan check.
    const relabelled: HoldListing[] = [
      { ...dates, kind: 'query', from: null, to: null },
      { ...custodian, kind: 'conversation', custodian: null, matter: 'another matter' },
    ];
    expect(holdMismatches(ORG, relabelled, log)).toMatchObject([
      {
        kind: 'hold-mismatch',
        holdId: 'hold-d',
        aspect: 'scope',
        problem: expect.stringMatching(/listed kind \(query\)/),
      },
      {
        kind: 'hold-mismatch',
        holdId: 'hold-c',
        aspect: 'scope',
        problem: expect.stringMatching(/listed kind \(conversation\)/),
      },
    ]);
  });
});
