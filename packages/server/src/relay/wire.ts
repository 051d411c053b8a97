/**
 * The relay's wire shapes, shared by the HTTP routes and the WebSocket: the message a
 * device sends, the envelope it receives, and the WebSocket frames. One TypeBox schema
 * each, so validation and docs/api.md come from the same place.
 */
import { encodeRelayFrame } from '@custos/core';
import { Type, type Static } from 'typebox';
import {
  RELAY_MAX_ENVELOPE_BYTES,
  RELAY_MAX_ENVELOPES_PER_MESSAGE,
  WS_MAX_ACK_IDS,
} from '../config/messaging-defaults.js';
import { Bytes, encodeBytes, Id } from '../http/schema-helpers.js';
import { Millis } from '../http/routes/common-schemas.js';
import type { QueuedEnvelope } from '../store/messaging-records.js';

/** Bytes of a send's idempotency key (random, chosen by the sending device). */
export const SEND_KEY_BYTES = 16;

/** A libsignal ciphertext message type (opaque to the server). */
export const EnvelopeTypeSchema = Type.Integer({
  minimum: 0,
  maximum: 255,
  description: 'libsignal CiphertextMessageType (opaque to the server)',
});

/** An envelope id. */
export const EnvelopeIdSchema = Id('envelope id (random)');

/** A message: one envelope per current device of the recipient user. */
export const OutgoingMessageSchema = Type.Object(
  {
    recipient: Type.Object(
      {
        orgId: Id("the recipient's organisation (any organisation on this server)"),
        userId: Id('the recipient user'),
      },
      { additionalProperties: false },
    ),
    envelopes: Type.Array(
      Type.Object(
        {
          deviceId: Id('a current device of the recipient user'),
          type: EnvelopeTypeSchema,
          content: Bytes(1, RELAY_MAX_ENVELOPE_BYTES, 'ciphertext for that device'),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: RELAY_MAX_ENVELOPES_PER_MESSAGE },
    ),
    idempotencyKey: Type.Optional(
      Bytes(
        SEND_KEY_BYTES,
        SEND_KEY_BYTES,
        'chosen by the sender for this send: a repeat within 24 h gets the first answer (docs/relay.md)',
      ),
    ),
  },
  { additionalProperties: false },
);
/** A message as validated. */
export type OutgoingMessage = Static<typeof OutgoingMessageSchema>;

/** What the server answers once a message is stored. */
export const SendResultSchema = Type.Object(
  {
    serverTime: Millis,
    envelopes: Type.Array(
      Type.Object(
        { deviceId: Id('recipient device'), envelopeId: EnvelopeIdSchema },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** A send result. */
export type SendResult = Static<typeof SendResultSchema>;

/** An envelope as delivered (WebSocket `envelope` frame and `GET /v1/messages`). */
export const EnvelopeSchema = Type.Object(
  {
    id: EnvelopeIdSchema,
    sender: Type.Object(
      {
        orgId: Id('sender organisation'),
        userId: Id('sender user'),
        deviceId: Id('sender device'),
        deviceNumber: Type.Integer({ description: 'libsignal device number of the sender' }),
      },
      { additionalProperties: false },
    ),
    type: EnvelopeTypeSchema,
    content: Bytes(1, RELAY_MAX_ENVELOPE_BYTES, 'the ciphertext exactly as sent'),
    serverTime: Millis,
  },
  { additionalProperties: false },
);
/** A delivered envelope. */
export type EnvelopeOut = Static<typeof EnvelopeSchema>;

/** Renders a queued envelope for delivery. */
export function envelopeOut(e: QueuedEnvelope): EnvelopeOut {
  return {
    id: e.envelopeId,
    sender: {
      orgId: e.sender.orgId,
      userId: e.sender.userId,
      deviceId: e.sender.deviceId,
      deviceNumber: e.sender.deviceNumber,
    },
    type: e.type,
    content: encodeBytes(e.content),
    serverTime: e.createdAt,
  };
}

/**
 * An envelope handed to sockets right after its commit. `contentText`, when set, is its
 * content as canonical unpadded base64url, the JSON sender's own text (see envelopeFrame).
 */
export interface DeliveredEnvelope extends QueuedEnvelope {
  readonly contentText?: string | undefined;
}

/** The binary `envelope` frame of `e` (subprotocol RELAY_BINARY_PROTOCOL; core/relay-frames). */
export function envelopeBinaryFrame(e: QueuedEnvelope): Buffer {
  return encodeRelayFrame({
    kind: 'envelope',
    id: e.envelopeId,
    sender: e.sender,
    type: e.type,
    content: e.content,
    serverTime: e.createdAt,
  });
}

/**
 * The text of the `envelope` frame for `e`: the same JSON as
 * `JSON.stringify({ type: 'envelope', envelope: envelopeOut(e) })`, rendered without the
 * intermediate objects. `contentText` is `e.content` as canonical unpadded base64url when
 * the caller already has it (the sender's own text, checked canonical on receipt).
 */
export function envelopeFrame(e: QueuedEnvelope, contentText: string = encodeBytes(e.content)): string {
  const s = e.sender;
  // Strings go through JSON.stringify (quotes and escapes); numbers are integers from the store or the clock.
  return (
    `{"type":"envelope","envelope":{"id":${JSON.stringify(e.envelopeId)},"sender":{"orgId":${JSON.stringify(s.orgId)},` +
    `"userId":${JSON.stringify(s.userId)},"deviceId":${JSON.stringify(s.deviceId)},"deviceNumber":${s.deviceNumber}},` +
    `"type":${e.type},"content":${JSON.stringify(contentText)},"serverTime":${e.createdAt}}}`
  );
}

/** Frames a client sends over `/v1/ws`. */
export const ClientFrameSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('auth'),
      token: Type.String({ minLength: 1, maxLength: 256 }),
      deviceId: Id('the device the token was issued to'),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('ack'),
      ids: Type.Array(EnvelopeIdSchema, { minItems: 1, maxItems: WS_MAX_ACK_IDS }),
      reqId: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('send'),
      reqId: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      message: OutgoingMessageSchema,
    },
    { additionalProperties: false },
  ),
]);
/** A client frame as validated. */
export type ClientFrame = Static<typeof ClientFrameSchema>;
