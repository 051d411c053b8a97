/**
 * The relay over HTTP: sending a message, and fetching/acknowledging envelopes for devices
 * that cannot hold a socket. Delivery to connected devices is over `/v1/ws`.
 */
import { Type } from 'typebox';
import { HTTP_FETCH_PAGE_MAX, RELAY_MESSAGE_BODY_LIMIT_BYTES } from '../../config/messaging-defaults.js';
import { ServerError } from '../../errors.js';
import { messagingOf } from '../../relay/messaging-services.js';
import {
  EnvelopeIdSchema,
  EnvelopeSchema,
  envelopeOut,
  OutgoingMessageSchema,
  SendResultSchema,
} from '../../relay/wire.js';
import type { EnvelopeId } from '../../store/messaging-records.js';
import { ANY_ROLE, defineRoute } from '../route-def.js';

/** PUT /v1/messages */
export const sendMessageRoute = defineRoute({
  method: 'PUT',
  url: '/v1/messages',
  summary:
    'Sends a message: one envelope per current device of the recipient user (in any organisation on this ' +
    "server), and, when writing to one's own user, per other device of the sender. Answers once every envelope " +
    'and its relay receipt are committed. With an `idempotencyKey`, a repeat of the same send by the same ' +
    'device within the retention window (24 h) answers the first answer again and stores nothing: a device that ' +
    'lost the answer sends again with the same key and the same envelopes.',
  access: ANY_ROLE,
  bodyLimit: RELAY_MESSAGE_BODY_LIMIT_BYTES,
  body: OutgoingMessageSchema,
  response: { status: 200, schema: SendResultSchema },
  errors: ['MISMATCHED_DEVICES', 'IDEMPOTENCY_KEY_REUSED', 'USER_NOT_FOUND', 'QUEUE_FULL', 'LOG_PUSHBACK'],
  async handler({ body, auth }, deps) {
    return messagingOf(deps).relay.send(
      {
        orgId: auth.orgId,
        userId: auth.userId,
        deviceId: auth.deviceId,
        deviceNumber: auth.device.deviceNumber,
      },
      body,
    );
  },
});

const FetchQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,2}$',
        description: `1–${HTTP_FETCH_PAGE_MAX}, default ${HTTP_FETCH_PAGE_MAX}`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** GET /v1/messages */
export const fetchMessagesRoute = defineRoute({
  method: 'GET',
  url: '/v1/messages',
  summary:
    "The calling device's oldest queued envelopes, in order. They stay queued until acknowledged with " +
    '`DELETE /v1/messages/:envelopeId` (or an `ack` frame on the socket).',
  access: ANY_ROLE,
  query: FetchQuery,
  response: {
    status: 200,
    schema: Type.Object(
      {
        envelopes: Type.Array(EnvelopeSchema),
        more: Type.Boolean({ description: 'true when more envelopes wait beyond this page' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ query, auth }, deps) {
    const limit = query.limit === undefined ? HTTP_FETCH_PAGE_MAX : Number(query.limit);
    if (limit > HTTP_FETCH_PAGE_MAX)
      throw new ServerError('INVALID_REQUEST', `query.limit: at most ${HTTP_FETCH_PAGE_MAX}`);
    const rows = await messagingOf(deps).relay.pending(auth.orgId, auth.deviceId, limit + 1);
    return { envelopes: rows.slice(0, limit).map(envelopeOut), more: rows.length > limit };
  },
});

/** DELETE /v1/messages/:envelopeId */
export const ackMessageRoute = defineRoute({
  method: 'DELETE',
  url: '/v1/messages/:envelopeId',
  summary:
    "Acknowledges one envelope of the calling device's queue: it is deleted and never delivered again.",
  access: ANY_ROLE,
  params: Type.Object({ envelopeId: EnvelopeIdSchema }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object({ deleted: Type.Literal(true) }, { additionalProperties: false }),
  },
  errors: ['ENVELOPE_NOT_FOUND'],
  async handler({ params, auth }, deps) {
    const n = await messagingOf(deps).relay.ack(auth.orgId, auth.deviceId, [params.envelopeId as EnvelopeId]);
    if (n === 0) throw new ServerError('ENVELOPE_NOT_FOUND');
    return { deleted: true as const };
  },
});
