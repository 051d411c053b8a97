/**
 * docs/api.md's WebSocket section: the frames of `/v1/ws`, JSON and binary. The binary
 * layouts come from core/relay-frames (RELAY_BINARY_PROTOCOL names their version); docs/relay.md
 * tells how delivery and acknowledgement work.
 */
import { RELAY_BINARY_PROTOCOL, RELAY_FRAME_KIND } from '@custos/core';
import {
  RELAY_MAX_ENVELOPE_BYTES,
  RELAY_MAX_ENVELOPES_PER_MESSAGE,
  WS_MAX_ACK_IDS,
} from '../config/messaging-defaults.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const K = RELAY_FRAME_KIND;

/** The section's markdown lines. */
export function renderWebSocketSection(): string[] {
  return [
    '## WebSocket `/v1/ws`',
    '',
    'The delivery socket (see [relay.md](relay.md) for ordering, windows and redelivery). Its first frame must be',
    'the JSON text frame `{"type":"auth","token":"…","deviceId":"…"}`; the server answers',
    '`{"type":"ready","orgId","deviceId","expiresAt"}` or an `error` frame and close code 4001 (4003: revoked).',
    '',
    '| direction | JSON text frame | binary frame (first byte) |',
    '|---|---|---|',
    `| client → server | \`{"type":"send","reqId","message":{…}}\` (the body of \`PUT /v1/messages\`) | send (\`${hex(K.send)}\`) |`,
    `| client → server | \`{"type":"ack","ids":[…],"reqId"?}\` (up to ${WS_MAX_ACK_IDS} ids) | ack (\`${hex(K.ack)}\`) |`,
    `| server → client | \`{"type":"envelope","envelope":{id, sender:{orgId,userId,deviceId,deviceNumber}, type, content, serverTime}}\` | envelope (\`${hex(K.envelope)}\`) |`,
    `| server → client | \`{"type":"sent","reqId","result":{serverTime, envelopes:[{deviceId, envelopeId}]}}\` | sent (\`${hex(K.sent)}\`) |`,
    `| server → client | \`{"type":"acked","reqId"}\` | acked (\`${hex(K.acked)}\`) |`,
    '| server → client | `{"type":"prekeys-low","oneTime","kyber","threshold"}` | — |',
    '| server → client | `{"type":"error","reqId"?,"error":{code,message,details?}}` | — |',
    '',
    `**Binary frames.** A client that offers the WebSocket subprotocol \`${RELAY_BINARY_PROTOCOL}\` (header`,
    '`Sec-WebSocket-Protocol`) and is granted it receives `envelope`, `sent` and `acked` as binary frames and may',
    'send `send` and `ack` as binary frames; JSON frames of every type stay valid both ways, and `auth`, `ready`,',
    '`prekeys-low` and `error` are always JSON. A client that offers no subprotocol speaks JSON only. A frame whose',
    'fields have no binary form (an id that is not 22 characters of canonical base64url, a `reqId` past 2^48 − 1)',
    'goes as JSON on a binary socket too. Layouts, big-endian, `id` = the 16 bytes of a 22-character base64url id:',
    '',
    '| frame | layout |',
    '|---|---|',
    `| send | \`${hex(K.send)}\` reqId:u48 recipientOrg:id recipientUser:id n:u8 then n × (deviceId:id type:u8 length:u32 content) |`,
    `| ack | \`${hex(K.ack)}\` flags:u8 (bit 0: a reqId follows; other bits 0) [reqId:u48] n:u16 then n × id |`,
    `| envelope | \`${hex(K.envelope)}\` id:id senderOrg:id senderUser:id senderDevice:id deviceNumber:u32 type:u8 serverTime:u48 length:u32 content |`,
    `| sent | \`${hex(K.sent)}\` reqId:u48 serverTime:u48 n:u8 then n × (deviceId:id envelopeId:id) |`,
    `| acked | \`${hex(K.acked)}\` reqId:u48 |`,
    '',
    `A binary frame must be exactly its layout, with 1–${RELAY_MAX_ENVELOPES_PER_MESSAGE} envelopes of 1–${RELAY_MAX_ENVELOPE_BYTES} content bytes`,
    `or 1–${WS_MAX_ACK_IDS} ids. Anything else — short, trailing bytes, an unknown first byte or flag, a count or length`,
    'out of range — is answered with an `error` frame (`INVALID_REQUEST`, the message naming the field) and the',
    'socket stays open; a binary frame before `auth` closes it (4001), and a binary frame on a socket that did not',
    'choose the subprotocol is refused with `INVALID_REQUEST`.',
    '',
  ];
}
