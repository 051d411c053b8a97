/**
 * `GET /v1/orgs/:orgId/audit` (docs/officers.md "Audit"): the org's officer and admin acts
 * — key events, audit events, holds, dispositions — as their exact log entries with an
 * inclusion proof in the latest signed checkpoint, and, for acts recorded through the
 * AuditSink, the act's document (whose SHA-256 the entry commits to), so the console can
 * show who did what to which subject without trusting the server.
 *
 * Acts are found through the index the search indexer's hook keeps (review-queue.ts), so an
 * act is listed about one indexer interval after its checkpoint.
 */
import { createHash } from 'node:crypto';
import { decodeLogEntry, inclusionProof } from '@custos/core';
import { Type } from 'typebox';
import { ServerError } from '../errors.js';
import { defineRoute } from '../http/route-def.js';
import { OrgParams } from '../http/routes/common-schemas.js';
import { Bytes, encodeBytes } from '../http/schema-helpers.js';
import type { OrgId } from '../ids.js';
import { auditDocument } from '../log-service/audit-sequencing.js';
import { storeTileReader } from '../log-service/tile-reading.js';
import type { Stores } from '../store/stores.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE } from './review-defaults.js';

const Count = (description: string) => Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description });

/** The act's document, when an audit event at the entry's time hashes to the entry's hash. */
async function documentOf(stores: Stores, orgId: OrgId, entry: Uint8Array): Promise<Buffer | null> {
  const e = decodeLogEntry(entry);
  if (e.type !== 'audit-event' && e.type !== 'key-event') return null;
  const want = Buffer.from(e.hash).toString('hex');
  for (const ev of await stores.review.auditEventsAt(orgId, e.time)) {
    const doc = auditDocument(orgId, ev);
    if (createHash('sha256').update(doc).digest('hex') === want) return Buffer.from(doc);
  }
  return null;
}

/** GET /v1/orgs/:orgId/audit */
export const auditListRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/audit',
  summary:
    "The org's officer and admin acts in log order after `after` (exclusive) and at or after `since`: each " +
    "act's exact log entry, its inclusion proof in the latest checkpoint (returned too) and, for audit " +
    'events and device key events, the act document the entry hashes. Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  query: Type.Object(
    {
      after: Type.Optional(Count('log index (exclusive); the `next` of the previous page')),
      since: Type.Optional(Count('ms since the epoch: acts at or after it')),
      limit: Type.Optional(
        Type.String({
          pattern: '^[1-9][0-9]{0,2}$',
          description: `1–${MAX_AUDIT_PAGE}, default ${DEFAULT_AUDIT_PAGE}`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        acts: Type.Array(
          Type.Object(
            {
              index: Type.Integer({ minimum: 0 }),
              entry: Bytes(1, 1024, 'the encoded log entry (docs/log.md)'),
              document: Type.Union([Type.String(), Type.Null()], {
                description: 'the act document (deterministic CBOR, base64url) the entry hashes, or null',
              }),
              proof: Type.Array(Bytes(32, 32, 'hash'), { description: 'RFC 9162 inclusion proof' }),
            },
            { additionalProperties: false },
          ),
        ),
        checkpoint: Type.Object(
          { treeSize: Type.Integer({ minimum: 0 }), note: Type.String() },
          { additionalProperties: false },
        ),
        next: Type.Union([Count('cursor'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['LOG_NOT_FOUND'],
  async handler({ auth, query }, deps) {
    const limit = Number(query.limit ?? DEFAULT_AUDIT_PAGE);
    if (limit > MAX_AUDIT_PAGE)
      throw new ServerError('INVALID_REQUEST', `query.limit: at most ${MAX_AUDIT_PAGE}`);
    const after = query.after === undefined ? null : Number(query.after);
    const since = query.since === undefined ? 0 : Number(query.since);
    if ((after !== null && !Number.isSafeInteger(after)) || !Number.isSafeInteger(since))
      throw new ServerError('INVALID_REQUEST', 'query.after or query.since: beyond 2^53 - 1');
    const cp = await deps.stores.log.latestCheckpoint(auth.orgId);
    if (cp === undefined)
      throw new ServerError('LOG_NOT_FOUND', 'this organisation has no signed checkpoint yet');
    const rows = await deps.stores.review.acts(auth.orgId, after, since, limit + 1);
    const page = rows.slice(0, limit).filter((a) => a.logIndex < cp.treeSize);
    const tiles = storeTileReader(deps.stores.log, auth.orgId);
    const acts = [];
    for (const a of page) {
      const [entry] = await deps.stores.log.entries(auth.orgId, a.logIndex, a.logIndex + 1);
      if (entry === undefined) throw new ServerError('INTERNAL', 'an indexed act has no log entry');
      const doc = await documentOf(deps.stores, auth.orgId, entry);
      const proof = await inclusionProof(a.logIndex, cp.treeSize, tiles);
      acts.push({
        index: a.logIndex,
        entry: encodeBytes(Buffer.from(entry)),
        document: doc === null ? null : encodeBytes(doc),
        proof: proof.map((h) => encodeBytes(Buffer.from(h))),
      });
    }
    const last = acts[acts.length - 1];
    const more = rows.length > limit || acts.length < Math.min(rows.length, limit);
    return {
      acts,
      checkpoint: { treeSize: cp.treeSize, note: cp.note },
      next: more && last !== undefined ? String(last.index) : null,
    };
  },
});

const ActOut = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    entry: Bytes(1, 1024, 'the encoded log entry (docs/log.md)'),
    document: Type.String({
      description: 'the act document (deterministic CBOR, base64url) the entry hashes',
    }),
    proof: Type.Array(Bytes(32, 32, 'hash'), { description: 'RFC 9162 inclusion proof' }),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/officers/latest-change */
export const latestOfficerChangeRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/officers/latest-change',
  summary:
    "The org's latest `officers.change` act (docs/officers.md §5): its exact log entry, act document (whose " +
    '`list-sha256` names the signed officer list) and inclusion proof in the latest checkpoint (returned too), ' +
    'so an officer can check that the list `GET /v1/orgs/:orgId` serves is the one the log names last. `act` is ' +
    'null when the officers never changed; `pending` is true while the latest change is not yet in a signed ' +
    'checkpoint or indexed (about a second). Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        act: Type.Union([ActOut, Type.Null()]),
        pending: Type.Boolean(),
        checkpoint: Type.Union([
          Type.Object(
            { treeSize: Type.Integer({ minimum: 0 }), note: Type.String() },
            { additionalProperties: false },
          ),
          Type.Null(),
        ]),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const [ev, cp] = await Promise.all([
      deps.stores.auditPending.latestOfficersChange(auth.orgId),
      deps.stores.log.latestCheckpoint(auth.orgId),
    ]);
    const checkpoint = cp === undefined ? null : { treeSize: cp.treeSize, note: cp.note };
    if (ev === undefined) return { act: null, pending: false, checkpoint };
    const doc = auditDocument(auth.orgId, ev);
    const want = createHash('sha256').update(doc).digest('hex');
    // The act's log entry: among the acts indexed at its time, the audit event hashing its document.
    for (const i of await deps.stores.review.actsAt(auth.orgId, ev.at)) {
      if (cp === undefined || i >= cp.treeSize) break;
      const [entry] = await deps.stores.log.entries(auth.orgId, i, i + 1);
      if (entry === undefined) continue;
      const e = decodeLogEntry(entry);
      if (e.type !== 'audit-event' || Buffer.from(e.hash).toString('hex') !== want) continue;
      const proof = await inclusionProof(i, cp.treeSize, storeTileReader(deps.stores.log, auth.orgId));
      return {
        act: {
          index: i,
          entry: encodeBytes(Buffer.from(entry)),
          document: encodeBytes(Buffer.from(doc)),
          proof: proof.map((h) => encodeBytes(Buffer.from(h))),
        },
        pending: false,
        checkpoint,
      };
    }
    return { act: null, pending: true, checkpoint };
  },
});

/** GET /v1/orgs/:orgId/officers/history */
export const officerHistoryRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/officers/history',
  summary:
    'Every officer list a quorum signed for the org, oldest first (docs/officers.md "Completeness and alerts"), ' +
    'each with the document of the `officers.change` act that logged it (whose `list-sha256` names it; null ' +
    'while the act is not yet recorded), so an officer can tell which list was in force when a disposition was ' +
    "executed and check it against the log's change acts. Empty when the officers never changed. Officers and auditors.",
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        changes: Type.Array(
          Type.Object(
            {
              list: Bytes(1, 65536, 'the officer list signed by the org signing key'),
              act: Type.Union([Type.String(), Type.Null()], {
                description: 'the act document (deterministic CBOR, base64url) that logged it, or null',
              }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const [lists, acts] = await Promise.all([
      deps.stores.orgs.officerListChanges(auth.orgId),
      deps.stores.auditPending.officersChanges(auth.orgId),
    ]);
    // Each act names its list by hash (keys/officer-list.ts): `… list-sha256=<hex>`.
    const byList = new Map(
      acts.map((ev) => [/(?:^| )list-sha256=([0-9a-f]{64})(?: |$)/.exec(ev.detail ?? '')?.[1], ev]),
    );
    return {
      changes: lists.map((l) => {
        const ev = byList.get(createHash('sha256').update(l.document).digest('hex'));
        return {
          list: encodeBytes(l.document),
          act: ev === undefined ? null : encodeBytes(Buffer.from(auditDocument(auth.orgId, ev))),
        };
      }),
    };
  },
});
