/**
 * A hold released before releases were signed, as the disposition plan check meets it
 * (officer-disposition.ts unconfirmedProblems; docs/officers.md "Legal holds"): the log holds the
 * release act with no statement, which the log cannot tell from a release the server wrote
 * itself, so a plan is refused on it until an officer confirms it by acknowledging its finding
 * (`hold-mismatch/ORG/HOLD/unsigned-release`). approveDisposition against a stand-in server
 * that serves a real signed log (the hold's acts, the plan's act, the acknowledgement's act), the
 * hold listing, the plan and the officer's signed acknowledgement: the plan is approved once the
 * acknowledgement verifies, and refused, with nothing sent, while there is none, while the only
 * one is of another hold, or while it is one the log or the officer's key does not bear out.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  appendEntries,
  dispositionApprovalMessage,
  dispositionPlanHash,
  EMPTY_TREE_STATE,
  encodeDispositionPlan,
  encodeEntryBundle,
  encodeFindingAcknowledgement,
  encodeLogEntry,
  generateSignerKey,
  holdReleaseActDetail,
  parseSignerKey,
  signCheckpoint,
  type LogEntry,
} from '@custos/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { servedAcknowledgement } from '../completeness/acknowledgement-test-support.js';
import { holdActEntry, listedHold } from '../holds/hold-test-support.js';
import type { HoldListing } from '../holds/officer-holds.js';
import { encodeOfficerPublicKey, generateOfficerKeys, type OfficerKeys } from '../officer-keys.js';
import type { OfficerSession } from '../officer-session.js';
import { httpOfficerSession } from '../officer-session-test-support.js';
import { consistencyAnswerFor } from '../search/enrolment-test-support.js';
import { keyFingerprint, SigningKey, verifyEd25519 } from '../signing-key.js';
import { approveDisposition } from './officer-disposition.js';

const ORG = 'org-unsigned-release';
const OFFICER_DEVICE = 'dev-officer';
const T = Date.UTC(2026, 2, 2);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** A date hold placed at T and released at T+2 by a server before signing: no statement listed. */
const released: HoldListing = listedHold(OFFICER_DEVICE, T, {
  holdId: 'hold-d',
  kind: 'dates',
  matter: 'M-2025-003',
  custodian: null,
  from: Date.UTC(2025, 0, 1),
  to: Date.UTC(2025, 1, 1),
  releasedBy: OFFICER_DEVICE,
  releasedAt: T + 2,
  releaseReason: 'matter closed',
});
const UNSIGNED_RELEASE = `hold-mismatch/${ORG}/hold-d/unsigned-release`;

/** A plan made after the release, of no bucket: only the log and the hold listing can refuse it. */
const plan = { orgId: ORG, asOf: T + 5, madeAt: T + 10, buckets: [] };
const planBytes = encodeDispositionPlan(plan);
const planId = Buffer.from(dispositionPlanHash(planBytes)).toString('hex');

/** The hold's acts, as a server before signing logged them, and the plan's act. */
const baseLog: LogEntry[] = [
  holdActEntry(
    ORG,
    released,
    'place',
    `kind=dates from=${released.from} to=${released.to} matter-sha256=${sha(released.matter)}`,
  ),
  holdActEntry(ORG, released, 'release', holdReleaseActDetail('matter closed', null)),
  {
    type: 'audit-event',
    kind: 'disposition-plan',
    hash: Buffer.from(
      auditDocumentHash(ORG, {
        kind: 'disposition.plan',
        actor: 'server',
        subject: planId,
        at: plan.madeAt,
        detail: 'buckets=0 records=0',
      }),
      'hex',
    ),
    size: 1,
    actor: 'server',
    time: plan.madeAt,
  },
];

/** An acknowledgement of `findingId` signed with `signer` as officer 1, as served, and its log entry. */
function acknowledgement(findingId: string, signer: SigningKey, at: number) {
  const statement = encodeFindingAcknowledgement({
    orgId: ORG,
    findingId,
    reason: 'Officer 2 released it in 2025 (matter closed); confirmed with them.',
    officerIndex: 0,
    at,
  });
  return servedAcknowledgement({ org: ORG, deviceId: OFFICER_DEVICE, findingId, statement, signer, at });
}

/** What the stand-in server serves, and the approvals it was sent. */
interface Serving {
  log: LogEntry[];
  acknowledgements: ReturnType<typeof acknowledgement>['served'][];
  approvals: { officerIndex: number; signature: string }[];
}

/** A stand-in server: the signed log, the hold listing, the plan, the acknowledgements, and approvals taken. */
async function planServer(serving: Serving): Promise<{ url: string; close: () => Promise<void> }> {
  const origin = `custos.test/${ORG}`;
  const key = generateSignerKey(origin);
  const base = `/v1/orgs/${ORG}`;
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const json = (body: unknown, status = 200) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    const entries = serving.log.map((e) => encodeLogEntry(e));
    const view = () => ({
      planId,
      plan: b64u(planBytes),
      state: 'proposed',
      quorum: 1,
      approvals: serving.approvals,
      buckets: [],
    });
    if (path === `${base}/log`) {
      const checkpoint = signCheckpoint(
        {
          origin,
          treeSize: entries.length,
          rootHash: appendEntries(EMPTY_TREE_STATE, entries).root,
          extensions: [],
        },
        parseSignerKey(key.signerKey),
      );
      return json({ origin, verifierKey: key.verifierKey, checkpoint });
    }
    const consistency = consistencyAnswerFor(path, entries);
    if (consistency !== undefined) return json(consistency);
    const tile = /\/log\/tile\/entries\/(\d+)(?:\.p\/(\d+))?$/.exec(path);
    if (tile !== null) {
      const n = Number(tile[1]);
      res.setHeader('content-type', 'application/octet-stream');
      return res.end(
        Buffer.from(
          encodeEntryBundle(
            entries.slice(n * 256, n * 256 + (tile[2] === undefined ? 256 : Number(tile[2]))),
          ),
        ),
      );
    }
    if (path.startsWith(`${base}/holds?`)) return json({ holds: [released], next: null });
    if (path.startsWith(`${base}/archive/completeness/acknowledgements?`))
      return json({ acknowledgements: serving.acknowledgements, next: null });
    if (path === `${base}/dispositions/${planId}?held=1`) return json(view());
    if (path === `${base}/dispositions/${planId}/approvals` && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        serving.approvals.push(JSON.parse(body) as Serving['approvals'][number]);
        json(view());
      });
      return;
    }
    json({ error: { code: 'NOT_FOUND', message: path } }, 404);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('the plan check and a hold released before releases were signed', () => {
  const serving: Serving = { log: baseLog, acknowledgements: [], approvals: [] };
  let server: Awaited<ReturnType<typeof planServer>>;
  let officer: OfficerKeys;
  let session: () => OfficerSession;

  beforeAll(async () => {
    server = await planServer(serving);
    officer = await generateOfficerKeys(0, SigningKey.generate());
    const orgKey = SigningKey.generate();
    const org = {
      orgId: ORG,
      signingPublicKey: b64u(orgKey.publicKey),
      signingKeyFingerprint: keyFingerprint(orgKey.publicKey),
      officerQuorum: 1,
      officers: [{ index: 0, publicKey: b64u(encodeOfficerPublicKey(officer)) }],
    };
    // A fresh profile each time (its own log pin), as an officer's console starts.
    session = () =>
      httpOfficerSession(server.url, ORG, {
        officerIndex: 0,
        officer: { keys: officer, org },
        orgKeys: () => Promise.resolve({ chain: [] }),
        serverBuckets: () => Promise.resolve([]),
      });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    serving.log = baseLog;
    serving.acknowledgements = [];
    serving.approvals = [];
  });

  /** Serves `acks` and logs each of them after the plan's act (or only serves those `unlogged`). */
  const withAcknowledgements = (acks: ReturnType<typeof acknowledgement>[], unlogged = false) => {
    serving.acknowledgements = acks.map((a) => a.served);
    serving.log = unlogged ? baseLog : [...baseLog, ...acks.map((a) => a.entry)];
  };
  const refusal = {
    code: 'PLAN_INVALID',
    message: expect.stringMatching(
      /disagrees with the org's verified log: hold hold-d: released without an officer signature \(before signing\)/,
    ),
  };

  it('refuses the plan while no officer acknowledged the unsigned release, and sends no approval', async () => {
    await expect(approveDisposition(session(), planId)).rejects.toMatchObject(refusal);
    expect(serving.approvals).toEqual([]);
  });

  it('approves the plan once an officer’s signed, logged acknowledgement confirms the release', async () => {
    withAcknowledgements([acknowledgement(UNSIGNED_RELEASE, officer.signingKey, T + 20)]);
    const view = await approveDisposition(session(), planId);
    expect(view).toMatchObject({ planId, approvedBy: [0] });
    expect(serving.approvals).toHaveLength(1);
    const sent = serving.approvals[0]!;
    expect(sent.officerIndex).toBe(0);
    expect(
      verifyEd25519(
        officer.signingKey.publicKey,
        dispositionApprovalMessage(planBytes),
        Buffer.from(sent.signature, 'base64url'),
      ),
    ).toBe(true);
  });

  it('refuses it when the acknowledgement is of another hold, not in the log, or not the officer’s', async () => {
    const cases: [string, () => void][] = [
      [
        'another hold',
        () =>
          withAcknowledgements([
            acknowledgement(`hold-mismatch/${ORG}/hold-x/unsigned-release`, officer.signingKey, T + 20),
          ]),
      ],
      [
        'served, not logged',
        () => withAcknowledgements([acknowledgement(UNSIGNED_RELEASE, officer.signingKey, T + 20)], true),
      ],
      [
        'signed with a key of the server’s',
        () => withAcknowledgements([acknowledgement(UNSIGNED_RELEASE, SigningKey.generate(), T + 20)]),
      ],
    ];
    for (const [what, serve] of cases) {
      serve();
      await expect(approveDisposition(session(), planId), what).rejects.toMatchObject(refusal);
      expect(serving.approvals, what).toEqual([]);
    }
  });
});
