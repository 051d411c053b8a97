/** PUT /v1/orgs/:orgId/officer-binding: an officer binds the calling device to themself (auth/officer-binding.ts). */
import { Type } from 'typebox';
import { bindOfficerDevice } from '../../auth/officer-binding.js';
import { defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams } from './common-schemas.js';

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
