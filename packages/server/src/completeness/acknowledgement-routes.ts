/**
 * Officers' acknowledgements of completeness findings (docs/officers.md, "Completeness and
 * alerts"): an officer signs that one finding — named by its stable id — is investigated and
 * explained, so the daily check stops failing on it while every other finding still fails.
 *
 * One officer suffices, as for the comparable acts that destroy nothing (placing or releasing
 * a hold, a review decision, the completeness policy); disposition, which destroys records,
 * takes the quorum. The statement is signed with the officer's signing key (core
 * finding-acknowledgement.ts) and verified here against the key registered at the ceremony,
 * as disposition approvals are; the act is a `completeness.acknowledge` audit entry whose
 * document names the finding (subject) and commits to the statement's SHA-256 (detail), in
 * the transaction that stores it. Consoles check signature and log entry themselves.
 *
 * A finding is acknowledged once per state it is accepted at. Most findings have no state (a
 * version 1 statement): once. A revoked device's finding keeps its id while more of its
 * unarchived receipts become visible, and its statement (version 2) signs the state the officer
 * accepted; when the console reports more than that, the officer acknowledges it again with the
 * new state, a new row and act, and the earlier one stays. Which state covers what is the
 * console's judgement (completeness/revoked-acknowledgements.ts), not the server's.
 */
import {
  decodeFindingAcknowledgement,
  findingAcknowledgementActDetail,
  findingAcknowledgementMessage,
  isCustosError,
  MAX_ACKNOWLEDGEMENT_BYTES,
  MAX_FINDING_ID_CHARS,
  MAX_FINDING_STATE_CHARS,
  type FindingAcknowledgement,
} from '@custos/core';
import { Type } from 'typebox';
import type { AuditSink } from '../audit/audit-sink.js';
import { boundOfficerIndex, requireOwnOfficer } from '../auth/officer-binding.js';
import { requireOfficerStatementSignature } from '../auth/officer-signing-key.js';
import { ServerError } from '../errors.js';
import { defineRoute } from '../http/route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../http/schema-helpers.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { AcknowledgementKey, AcknowledgementRow } from '../store/completeness-stores.js';
import type { Stores } from '../store/stores.js';

/** Length of an Ed25519 signature. */
const SIGNATURE_BYTES = 64;
/** Acknowledgements per listing page, at most. */
export const MAX_ACKNOWLEDGEMENTS_PAGE = 500;

const OrgParams = Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false });

const Acknowledgement = Type.Object(
  {
    findingId: Type.String({ description: 'the finding acknowledged (docs/officers.md)' }),
    statement: Bytes(1, MAX_ACKNOWLEDGEMENT_BYTES, 'the signed statement, deterministic CBOR'),
    signature: Bytes(SIGNATURE_BYTES, SIGNATURE_BYTES, "Ed25519 by the officer's signing key"),
    deviceId: Type.String({ description: 'the officer device that sent it' }),
    acknowledgedAt: Type.Integer({
      minimum: 0,
      description: "server time of the act (the audit document's at)",
    }),
  },
  { additionalProperties: false },
);

/** The longest listing cursor: a finding id, a space and a state. */
const MAX_CURSOR_CHARS = MAX_FINDING_ID_CHARS + 1 + MAX_FINDING_STATE_CHARS;

/** The listing's cursor for `k`: the finding id, and after a space the state when it has one. */
function cursorOf(k: AcknowledgementKey): string {
  return k.state === '' ? k.findingId : `${k.findingId} ${k.state}`;
}

/** A cursor read back; a bare finding id is that finding with no state (as listings before states were). */
function keyOf(cursor: string): AcknowledgementKey {
  const space = cursor.indexOf(' ');
  return space < 0
    ? { findingId: cursor, state: '' }
    : { findingId: cursor.slice(0, space), state: cursor.slice(space + 1) };
}

/**
 * Verifies and stores an acknowledgement and records its act. The identical statement and
 * signature again (a retry) answers the stored row and records nothing; any other statement
 * for a finding already acknowledged at the same state (none, for most findings) is
 * FINDING_ACKNOWLEDGED, changing nothing. `actingOfficer`, the
 * calling device's bound officer (the route always passes it), must be the statement's signer
 * (OFFICER_NOT_SIGNER).
 */
export async function acknowledgeFinding(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  by: DeviceId,
  at: number,
  statement: Buffer,
  signature: Buffer,
  actingOfficer?: number,
): Promise<AcknowledgementRow> {
  let a: FindingAcknowledgement;
  try {
    a = decodeFindingAcknowledgement(statement);
  } catch (e) {
    if (!isCustosError(e)) throw e;
    throw new ServerError('INVALID_REQUEST', `body.statement: ${e.message}`);
  }
  if (a.orgId !== orgId)
    throw new ServerError('INVALID_REQUEST', "body.statement: names another organisation than the caller's");
  if (actingOfficer !== undefined) requireOwnOfficer(actingOfficer, a.officerIndex, 'body.statement');
  const state = a.state ?? '';
  // The identical statement was verified when it was stored: a retry is answered, not refused.
  const stored = await stores.completeness.acknowledgement(orgId, a.findingId, state);
  if (stored !== undefined) {
    if (stored.statement.equals(statement) && stored.signature.equals(signature)) return stored;
    throw alreadyAcknowledged(a.findingId, state);
  }
  const row: AcknowledgementRow = {
    findingId: a.findingId,
    state,
    statement,
    signature,
    deviceId: by,
    acknowledgedAt: at,
  };
  return stores.withTransaction(async (tx) => {
    // The officer list is read, held, in the transaction that logs the act: an officer removal
    // committing between a read before it and this act would otherwise let a removed officer's
    // acknowledgement in after the change act, which consoles reject, and the finding could
    // never be acknowledged again.
    await tx.orgs.lockOfficerList(orgId);
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND', 'no such organisation');
    requireOfficerStatementSignature(
      org,
      a.officerIndex,
      findingAcknowledgementMessage(statement),
      signature,
    );
    // Two officers racing: the primary key lets one in.
    if (!(await tx.completeness.acknowledge(orgId, row))) throw alreadyAcknowledged(a.findingId, state);
    await audit.record(tx, orgId, {
      kind: 'completeness.acknowledge',
      actorDeviceId: by,
      subject: a.findingId,
      detail: findingAcknowledgementActDetail(statement),
      at,
    });
    return row;
  });
}

const alreadyAcknowledged = (findingId: string, state: string): ServerError =>
  new ServerError(
    'FINDING_ACKNOWLEDGED',
    `finding ${findingId} is already acknowledged${state === '' ? '' : ` at ${state}`}; nothing was stored`,
  );

const wire = (r: AcknowledgementRow) => ({
  findingId: r.findingId,
  statement: encodeBytes(r.statement),
  signature: encodeBytes(r.signature),
  deviceId: r.deviceId,
  acknowledgedAt: r.acknowledgedAt,
});

/** POST /v1/orgs/:orgId/archive/completeness/acknowledgements */
export const acknowledgeFindingRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/archive/completeness/acknowledgements',
  summary:
    "Records an officer's signed acknowledgement of one completeness finding (docs/officers.md): the statement " +
    "names this org, the finding id, the reason and the officer's index, and the signature must verify with that " +
    "officer's registered signing key. A `completeness-acknowledge` audit entry commits to the statement's " +
    'SHA-256. A finding is acknowledged once per state the statement accepts (version 2 `saw`, a revoked ' +
    "device's finding; other findings have none): another statement for the same finding and state is " +
    'FINDING_ACKNOWLEDGED (the identical one again answers the stored acknowledgement). Officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    {
      statement: Bytes(1, MAX_ACKNOWLEDGEMENT_BYTES, 'the statement (core finding-acknowledgement.ts)'),
      signature: Bytes(SIGNATURE_BYTES, SIGNATURE_BYTES, "Ed25519 by the officer's signing key"),
    },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: Acknowledgement },
  errors: ['INVALID_KEY', 'FINDING_ACKNOWLEDGED', 'OFFICER_NOT_SIGNER'],
  async handler({ auth, body }, deps) {
    const row = await acknowledgeFinding(
      deps.stores,
      deps.audit,
      auth.orgId,
      auth.deviceId,
      deps.clock(),
      decodeBytes('body.statement', body.statement),
      decodeBytes('body.signature', body.signature, SIGNATURE_BYTES),
      boundOfficerIndex(auth),
    );
    return wire(row);
  },
});

/** GET /v1/orgs/:orgId/archive/completeness/acknowledgements */
export const listAcknowledgementsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/archive/completeness/acknowledgements',
  summary:
    "The org's finding acknowledgements by finding id and accepted state, each with its signed statement, from " +
    'after `after` (a `next` of an earlier page: the finding id, and after a space the state when it has one; ' +
    `default the first), at most \`limit\` (1–${MAX_ACKNOWLEDGEMENTS_PAGE}, default ` +
    `${MAX_ACKNOWLEDGEMENTS_PAGE}); \`next\` is the \`after\` of the next page, null at the end. The console ` +
    'checks each against its log entry and signature. Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  query: Type.Object(
    {
      after: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: MAX_CURSOR_CHARS,
          description: 'the `next` of the previous page (its last finding id, and state when it has one)',
        }),
      ),
      limit: Type.Optional(
        Type.String({
          pattern: '^[1-9][0-9]{0,2}$',
          description: `page size; above ${MAX_ACKNOWLEDGEMENTS_PAGE} counts as ${MAX_ACKNOWLEDGEMENTS_PAGE}`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        acknowledgements: Type.Array(Acknowledgement),
        next: Type.Union([Type.String(), Type.Null()], {
          description: 'the `after` of the next page; null: the last page',
        }),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const limit = Math.min(Number(query.limit ?? MAX_ACKNOWLEDGEMENTS_PAGE), MAX_ACKNOWLEDGEMENTS_PAGE);
    const rows = await deps.stores.completeness.acknowledgements(
      auth.orgId,
      query.after === undefined ? null : keyOf(query.after),
      limit,
    );
    return {
      acknowledgements: rows.map(wire),
      next: rows.length === limit ? cursorOf(rows[rows.length - 1]!) : null,
    };
  },
});
