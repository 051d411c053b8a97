/**
 * The completeness check's hold findings: runCompleteness against a small HTTP server that
 * serves a real signed log holding two hold acts (a custodian hold placed, a date hold placed
 * and released) and a hold listing that agrees with it — or drops the active hold, as a lying
 * or broken server would. A dropped hold is a finding naming it (exit 1, in --json), read
 * again before it stands; an agreeing listing gives none.
 *
 * What those reads cost is the server's to choose (it decides whether listing and log agree),
 * so the requests are counted on a log of many entries and holds: the log's bundles are read
 * once per run, later reads fetch only what the log grew by, and the token holds' scope
 * search stops at HOLD_SCOPE_BUDGET with a finding naming each hold it could not settle.
 *
 * The date hold's release is signed by the profile's officer, checked against org.json's
 * officer list; a release the server signed with its own key is a finding no officer may
 * acknowledge, and one logged without a statement (before signing) a finding of its own,
 * which an officer may.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  appendEntries,
  decodeLogEntry,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  generateSignerKey,
  holdReleaseActDetail,
  parseSignerKey,
  signCheckpoint,
  type LogEntry,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLD_CATCH_UP_ATTEMPTS } from '../holds/holds-with-log.js';
import { HOLD_SCOPE_BUDGET } from '../holds/hold-scope-search.js';
import {
  holdActEntry,
  officerPublicKeyFor,
  officersByIndex,
  signedRelease,
  listedHold,
} from '../holds/hold-test-support.js';
import type { HoldListing } from '../holds/officer-holds.js';
import type { OfficerSession } from '../officer-session.js';
import { httpOfficerSession } from '../officer-session-test-support.js';
import { consistencyAnswerFor } from '../search/enrolment-test-support.js';
import { keyFingerprint, SigningKey } from '../signing-key.js';
import { notAcknowledgeable } from './finding-acknowledgements.js';
import { holdMismatches } from './hold-mismatches.js';
import { runCompleteness } from './run-completeness.js';

const ORG = 'org-hold-mismatch';
const OFFICER = 'dev-officer';
const T = Date.UTC(2026, 10, 2);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: HoldListing = listedHold(OFFICER, T, { matter: 'M-2026-014' });
/** The org's one officer: their key signs the date hold's release. */
const OFFICER_KEY = SigningKey.generate();
const ORG_KEY = SigningKey.generate();
/** What the officer list history needs of the profile's org.json: the ceremony's officer list. */
const ORG_FILE = {
  orgId: ORG,
  signingPublicKey: Buffer.from(ORG_KEY.publicKey).toString('base64url'),
  signingKeyFingerprint: keyFingerprint(ORG_KEY.publicKey),
  officerQuorum: 1,
  officers: [{ index: 0, publicKey: officerPublicKeyFor(OFFICER_KEY) }],
};
const unsignedDates: HoldListing = {
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
const dates = signedRelease(ORG, unsignedDates, OFFICER_KEY, 0);

/** The encoded `hold` entry the server logs for an act (server holds/hold-acts.ts). */
const act = (h: HoldListing, action: 'place' | 'release', detail: string): Uint8Array =>
  encodeLogEntry(holdActEntry(ORG, h, action, detail));

/** The log: both holds placed, the date hold released with `releaseDetail`. */
const logWith = (releaseDetail: string): Uint8Array[] => [
  act(custodian, 'place', `kind=custodian user=user-7 matter-sha256=${sha(custodian.matter)}`),
  act(dates, 'place', `kind=dates from=${dates.from} to=${dates.to} matter-sha256=${sha(dates.matter)}`),
  act(dates, 'release', releaseDetail),
];
const entries = logWith(
  holdReleaseActDetail('matter closed', Buffer.from(dates.releaseStatement!, 'base64url')),
);
/** As a server before signing logged the release: the reason's hash alone. */
const unsignedLog = logWith(holdReleaseActDetail('matter closed', null));

/** What the stand-in server was asked, by route. */
interface Asked {
  heads: number;
  listings: number;
  /** Entry bundle paths (…/tile/entries/N[.p/W]), in order. */
  bundles: string[];
}

/**
 * A stand-in server for `org`: the log of `log.entries` (signed as they stand at each head
 * request), the hold listing `listing.holds`, and `onListing` run after each listing is served
 * (a log that grows between reads).
 */
async function holdServer(
  org: string,
  log: { entries: Uint8Array[] },
  listing: { holds: HoldListing[]; onListing?: () => void },
): Promise<{ url: string; asked: Asked; close: () => Promise<void> }> {
  const origin = `custos.test/${org}`;
  const key = generateSignerKey(origin);
  const asked: Asked = { heads: 0, listings: 0, bundles: [] };
  const base = `/v1/orgs/${org}`;
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (path === `${base}/log`) {
      asked.heads++;
      const checkpoint = signCheckpoint(
        {
          origin,
          treeSize: log.entries.length,
          rootHash: appendEntries(EMPTY_TREE_STATE, log.entries).root,
          extensions: [],
        },
        parseSignerKey(key.signerKey),
      );
      return json({ origin, verifierKey: key.verifierKey, checkpoint });
    }
    if (path === `${base}/archive/completeness`)
      return json({
        devices: [],
        gaps: [],
        policy: { silentAfterMs: 7 * 86_400_000, receiptGraceMs: 86_400_000, setBy: null, setAt: null },
      });
    if (path.startsWith(`${base}/holds?`)) {
      asked.listings++;
      json({ holds: listing.holds, next: null });
      listing.onListing?.();
      return;
    }
    const consistency = consistencyAnswerFor(path, log.entries);
    if (consistency !== undefined) return json(consistency);
    const m = /\/log\/tile\/entries\/(\d+)(?:\.p\/(\d+))?$/.exec(path);
    if (m !== null) {
      asked.bundles.push(path.slice(path.indexOf('/tile/')));
      const n = Number(m[1]);
      res.setHeader('content-type', 'application/octet-stream');
      return res.end(
        Buffer.from(
          encodeEntryBundle(log.entries.slice(n * 256, n * 256 + (m[2] === undefined ? 256 : Number(m[2])))),
        ),
      );
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('completeness: the hold listing against the log', () => {
  const listing: { holds: HoldListing[] } = { holds: [] };
  let server: Awaited<ReturnType<typeof holdServer>>;
  let url: string;

  /** The log the server serves (signed as it stands at each head request). */
  const served = { entries };

  beforeAll(async () => {
    server = await holdServer(ORG, served, listing);
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  const session = (): OfficerSession => httpOfficerSession(url, ORG, { officer: { org: ORG_FILE } });
  const run = () => runCompleteness(session(), { now: T + 3, holdCatchUpDelayMs: 0 });

  it('reports an active hold the listing drops, naming it, after reading listing and log again', async () => {
    listing.holds = [dates];
    server.asked.listings = 0;
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
    expect(server.asked.listings).toBe(HOLD_CATCH_UP_ATTEMPTS);
  });

  it('reports nothing when the listing agrees with the log, released holds included', async () => {
    listing.holds = [custodian, dates];
    server.asked.listings = 0;
    const report = await run();
    expect(report.findings).toEqual([]);
    expect(report.complete).toBe(true);
    expect(server.asked.listings).toBe(1);
  });

  it('reports a release the server signed with a key of its own, as a finding no officer may acknowledge', async () => {
    const forged = signedRelease(ORG, unsignedDates, SigningKey.generate(), 0);
    served.entries = logWith(
      holdReleaseActDetail('matter closed', Buffer.from(forged.releaseStatement!, 'base64url')),
    );
    try {
      listing.holds = [custodian, forged];
      const report = await run();
      expect(report.complete).toBe(false);
      expect(report.findings).toMatchObject([
        {
          kind: 'hold-mismatch',
          holdId: 'hold-d',
          aspect: 'release-signature',
          problem: expect.stringMatching(/signature does not verify as officer 1's/),
          id: `hold-mismatch/${ORG}/hold-d/release-signature`,
        },
      ]);
      expect(notAcknowledgeable(report.findings[0]!)).toMatch(/disagrees with the hold acts/);
    } finally {
      served.entries = entries;
    }
  });

  it('reports a release logged before signing once, read once, as a finding an officer may acknowledge', async () => {
    served.entries = unsignedLog;
    try {
      listing.holds = [custodian, unsignedDates];
      server.asked.listings = 0;
      const report = await run();
      expect(report.complete).toBe(false);
      expect(report.findings).toMatchObject([
        {
          kind: 'hold-mismatch',
          holdId: 'hold-d',
          aspect: 'unsigned-release',
          problem: expect.stringMatching(/^released without an officer signature \(before signing\)/),
          id: `hold-mismatch/${ORG}/hold-d/unsigned-release`,
        },
      ]);
      // Reading again changes nothing about an unsigned release: the listing is read once.
      expect(server.asked.listings).toBe(1);
      expect(notAcknowledgeable(report.findings[0]!)).toBeNull();
    } finally {
      served.entries = entries;
    }
  });
});

describe('completeness: what the hold check costs, whatever the server lists', () => {
  const COST_ORG = 'org-hold-cost';
  const FILLER = 2_000;
  /** An act of no concern to the check (a search), filling the log. */
  const filler = (i: number): Uint8Array => {
    const e: LogEntry = {
      type: 'audit-event',
      kind: 'archive-search',
      hash: new Uint8Array(32).fill(i % 256),
      size: i,
      actor: OFFICER,
      time: T - 1_000_000 + i,
    };
    return encodeLogEntry(e);
  };
  /** Hold `i` of kind `kind`, placed at T + i. */
  const hold = (i: number, kind: HoldListing['kind'], buckets = 3): HoldListing => ({
    ...custodian,
    holdId: `hold-${kind}-${i}`,
    kind,
    custodian: kind === 'custodian' ? `user-${i}` : null,
    from: kind === 'dates' ? Date.UTC(2026, 0, 1) : null,
    to: kind === 'dates' ? Date.UTC(2026, 1, 1) : null,
    buckets: kind === 'query' ? Array.from({ length: buckets }, (_, b) => `standard-${i}-${b}`) : [],
    createdAt: T + i,
  });
  /** The placing act of `h` as the server logs it (server holds/hold-acts.ts placeDetail). */
  const placed = (h: HoldListing, tokensPerBucket = 2): Uint8Array => {
    const m = `matter-sha256=${sha(h.matter)}`;
    const detail =
      h.kind === 'custodian'
        ? `kind=custodian user=${h.custodian} ${m}`
        : h.kind === 'dates'
          ? `kind=dates from=${h.from} to=${h.to} ${m}`
          : `kind=${h.kind} buckets=${h.buckets.length} tokens=${h.buckets.length * tokensPerBucket} ${m}`;
    return encodeLogEntry(holdActEntry(COST_ORG, h, 'place', detail));
  };
  const kinds = ['custodian', 'dates', 'query'] as const;
  /** 120 holds, 40 of each kind, placed after FILLER other entries: 2 120 entries, 9 bundles. */
  const holds = Array.from({ length: 120 }, (_, i) => hold(i, kinds[i % 3]!));
  const honestLog = (): Uint8Array[] => [
    ...Array.from({ length: FILLER }, (_, i) => filler(i)),
    ...holds.map((h) => placed(h)),
  ];

  const check = async (
    log: { entries: Uint8Array[] },
    listing: { holds: HoldListing[]; onListing?: () => void },
  ) => {
    const server = await holdServer(COST_ORG, log, listing);
    try {
      const report = await runCompleteness(httpOfficerSession(server.url, COST_ORG), {
        now: T + 1_000,
        holdCatchUpDelayMs: 0,
      });
      return { report, asked: server.asked };
    } finally {
      await server.close();
    }
  };

  it('reads the log once while a dropped hold stands, however often the listing is read again', async () => {
    const { report, asked } = await check({ entries: honestLog() }, { holds: holds.slice(1) });
    expect(report.findings.map((f) => f.id)).toEqual([
      `hold-mismatch/${COST_ORG}/hold-custodian-0/not-listed`,
    ]);
    expect(asked.listings).toBe(HOLD_CATCH_UP_ATTEMPTS);
    // Nine bundles, each once (it was every bundle on every read: 45 here); the head is asked
    // once per read, and once more for the log key on the first.
    expect(asked.bundles).toEqual([
      ...Array.from({ length: 8 }, (_, b) => `/tile/entries/00${b}`),
      '/tile/entries/008.p/72',
    ]);
    expect(asked.heads).toBe(HOLD_CATCH_UP_ATTEMPTS + 1);
    // The 40 token holds were each matched once, on their first candidates (2 tokens a bucket).
    expect(report.holdScopeCandidates).toBe(40 * 2);
  });

  it('fetches only what the log grew by between reads', async () => {
    const log = { entries: honestLog() };
    // Each listing served, the log grows by 100 entries (acts of a busy org).
    const grow = () =>
      log.entries.push(...Array.from({ length: 100 }, (_, i) => filler(log.entries.length + i)));
    const { report, asked } = await check(log, { holds: holds.slice(1), onListing: grow });
    expect(report.log.treeSize).toBe(2_120 + HOLD_CATCH_UP_ATTEMPTS * 100);
    expect(report.findings.map((f) => f.id)).toEqual([
      `hold-mismatch/${COST_ORG}/hold-custodian-0/not-listed`,
    ]);
    // The first read takes 2 220 entries (9 bundles); each later one its partial bundle, and the next when it crossed into it.
    expect(asked.bundles).toEqual([
      ...Array.from({ length: 8 }, (_, b) => `/tile/entries/00${b}`),
      '/tile/entries/008.p/172',
      '/tile/entries/008',
      '/tile/entries/009.p/16',
      '/tile/entries/009.p/116',
      '/tile/entries/009.p/216',
      '/tile/entries/009',
      '/tile/entries/010.p/60',
    ]);
  });

  it("settles an honest server's token holds listed with their placing details at one candidate each, however far extended", async () => {
    // A hundred query holds placed on 3 buckets and extended to 1 000 (27 years of `--ahead`):
    // searched without the detail, 31 906 candidates each, twelve times the budget in all.
    const extended = Array.from({ length: 100 }, (_, i) => hold(i + 1, 'query', 1_000));
    const log = extended.map((h) => {
      const detail = `kind=query buckets=3 tokens=6 matter-sha256=${sha(h.matter)}`;
      return {
        listed: { ...h, placedDetail: detail },
        entry: encodeLogEntry(holdActEntry(COST_ORG, h, 'place', detail)),
      };
    });
    const { report, asked } = await check(
      { entries: log.map((l) => l.entry) },
      { holds: log.map((l) => l.listed) },
    );
    expect(report.findings).toEqual([]);
    expect(report.holdScopeCandidates).toBe(100);
    expect(asked.listings).toBe(1);
  });

  it(`stops matching token holds at HOLD_SCOPE_BUDGET (${HOLD_SCOPE_BUDGET}) candidates a run, naming the hold it could not settle`, async () => {
    // Nine query holds listed on 1 000 buckets whose acts commit to no document the listing
    // allows: 32 000 candidates each, 288 000 in all; the budget settles eight of them.
    const hostile = Array.from({ length: 9 }, (_, i) => hold(i + 1, 'query', 1_000));
    const log = { entries: hostile.map((h) => placed(h, 33)) };
    const { report, asked } = await check(log, { holds: hostile });
    expect(asked.listings).toBe(HOLD_CATCH_UP_ATTEMPTS);
    expect(report.holdScopeCandidates).toBe(HOLD_SCOPE_BUDGET);
    expect(report.findings.map((f) => f.id)).toEqual([
      ...hostile.slice(0, 8).map((h) => `hold-mismatch/${COST_ORG}/${h.holdId}/scope`),
      `hold-mismatch/${COST_ORG}/hold-query-9/scope-unchecked`,
    ]);
    expect(report.findings[8]).toMatchObject({
      kind: 'hold-mismatch',
      problem:
        'the server lists it as a query hold on 1000 bucket(s), which could not be matched to its placing act ' +
        `(entry 8) within the check's budget of ${HOLD_SCOPE_BUDGET} candidate act documents for token holds: its scope is unchecked`,
    });
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
    const officers = officersByIndex(() => new Map([[0, OFFICER_KEY]]));
    expect(holdMismatches(ORG, relabelled, log, officers)).toMatchObject([
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
