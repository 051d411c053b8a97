/**
 * PUT /v1/orgs/:orgId/officer-binding: an officer binds the calling device to themself
 * (auth/officer-binding.ts). GET /v1/orgs/:orgId/officer-bindings: the org's bindings with their
 * signed statements, so a console can check each `officer-bind` act of the log itself rather
 * than take the server's word on which officer stands behind a device (docs/officers.md §2).
 */
import { Type } from 'typebox';
import { bindOfficerDevice } from '../../auth/officer-binding.js';
import { defineRoute } from '../route-def.js';
import type { DeviceId } from '../../ids.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams, pageLimit, PageQuery } from './common-schemas.js';

/** Largest binding statement accepted (a signed CBOR map of a few short fields). */
const MAX_BINDING_BYTES = 1024;

/** PUT /v1/orgs/:orgId/officer-binding */
export const bindOfficerRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/officer-binding',
  summary:
    'Binds the calling device (its user has the role officer) to an officer of the current officer list, with a ' +
    'statement that officer signed with their officer signing key naming the org, the device, the SHA-256 of its identity key, ' +
    'the officer index and the time (within 10 minutes of now). Officer routes refuse an officer device without a ' +
    'binding to a listed officer (OFFICER_NOT_BOUND). Audit act `officer.bind`; the same officer again is idempotent.',
  // The one officer route an unbound officer device may call: it is how it gets bound.
  access: { kind: 'device', roles: ['officer'], unboundOfficers: true },
  params: OrgParams,
  body: Type.Object(
    {
      statement: Bytes(
        1,
        MAX_BINDING_BYTES,
        'officer-device binding signed by the officer (docs/officers.md §2)',
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        deviceId: Id('the calling device'),
        officerIndex: Type.Integer({ minimum: 0, description: 'the officer the device acts for' }),
        boundAt: Millis,
        changed: Type.Boolean({ description: 'false when the device was already bound to this officer' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['OFFICER_BINDING_INVALID', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const statement = decodeBytes('body.statement', body.statement);
    const r = await bindOfficerDevice(deps.stores, deps.audit, auth, statement, deps.clock());
    return { deviceId: auth.deviceId, officerIndex: r.officerIndex, boundAt: r.boundAt, changed: r.stored };
  },
});

/** GET /v1/orgs/:orgId/officer-bindings */
export const listOfficerBindingsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/officer-bindings',
  summary:
    "The org's officer-device bindings by device id, each with the statement as stored: the officer-signed " +
    'document (docs/keys.md §2 envelope `[payload, signature]`, domain `custos-officer-device-binding-v1`) whose ' +
    'SHA-256 the `officer-bind` audit act commits to. Every binding ever made is listed, its officer still in the ' +
    'list or not (bindings never change). Consoles verify each act of the log against its statement and the ' +
    'officer list in force (docs/officers.md §2). Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  query: PageQuery,
  response: {
    status: 200,
    schema: Type.Object(
      {
        bindings: Type.Array(
          Type.Object(
            {
              deviceId: Id('the bound officer device'),
              officerIndex: Type.Integer({ minimum: 0, description: 'the officer the statement names' }),
              boundAt: Millis,
              statement: Bytes(
                1,
                MAX_BINDING_BYTES,
                "the officer-signed binding (payload and the officer's Ed25519 signature)",
              ),
            },
            { additionalProperties: false },
          ),
        ),
        next: Type.Union([Id('pass as `after` for the next page'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const limit = pageLimit(query.limit);
    const rows = await deps.stores.devices.officerBindings(auth.orgId, {
      after: (query.after as DeviceId | undefined) ?? null,
      limit,
    });
    return {
      bindings: rows.map((b) => ({
        deviceId: b.deviceId,
        officerIndex: b.officerIndex,
        boundAt: b.boundAt,
        statement: encodeBytes(b.statement),
      })),
      next: rows.length === limit ? (rows.at(-1)?.deviceId ?? null) : null,
    };
  },
});
