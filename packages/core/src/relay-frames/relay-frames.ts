/**
 * Binary frames of the relay socket (`/v1/ws` with the WebSocket subprotocol
 * RELAY_BINARY_PROTOCOL): the hot frames — send, ack, envelope, sent, acked — as fixed
 * layouts instead of JSON with base64 content. `auth`, `ready`, `prekeys-low` and `error`
 * stay JSON text frames. Layouts (big-endian; an id is the 16 bytes its 22-character
 * base64url text stands for; docs/api.md "WebSocket"):
 *
 *   send     0x01 reqId:u48 recipientOrg:id recipientUser:id n:u8 n×(device:id type:u8 len:u32 content)
 *   ack      0x02 flags:u8 (bit 0: reqId follows) [reqId:u48] n:u16 n×id
 *   envelope 0x81 id:id senderOrg:id senderUser:id senderDevice:id deviceNumber:u32 type:u8
 *                 serverTime:u48 len:u32 content
 *   sent     0x82 reqId:u48 serverTime:u48 n:u8 n×(device:id envelope:id)
 *   acked    0x83 reqId:u48
 *
 * A frame is exactly its layout: a short frame, trailing bytes, an unknown kind or flag, a
 * count or length out of the limits each throw a CustosError naming what was wrong.
 */
import { CustosError } from '../errors.js';

/** The WebSocket subprotocol that selects these frames (version 1 of the layouts above). */
export const RELAY_BINARY_PROTOCOL = 'custos.relay.bin.1';

/** Frame kinds (the first byte): client frames below 0x80, server frames from 0x80. */
export const RELAY_FRAME_KIND = {
  send: 0x01,
  ack: 0x02,
  envelope: 0x81,
  sent: 0x82,
  acked: 0x83,
} as const;

/** Bytes of an id in a frame. */
export const RELAY_ID_BYTES = 16;
/** Largest request id (48 bits). */
export const RELAY_MAX_REQ_ID = 2 ** 48 - 1;
const ACK_HAS_REQ_ID = 0x01;
const U48 = 6;

/** Bounds a decoder enforces (the server passes its configured limits). */
export interface RelayFrameLimits {
  /** Most envelopes in one send frame (≤ 255). */
  readonly maxEnvelopes: number;
  /** Most content bytes of one envelope. */
  readonly maxContentBytes: number;
  /** Most ids in one ack frame (≤ 65,535). */
  readonly maxAckIds: number;
}

/** A message as a send frame carries it. */
export interface RelaySendFrame {
  readonly kind: 'send';
  readonly reqId: number;
  readonly recipient: { readonly orgId: string; readonly userId: string };
  readonly envelopes: readonly {
    readonly deviceId: string;
    readonly type: number;
    readonly content: Uint8Array;
  }[];
}
/** An acknowledgement of delivered envelopes. */
export interface RelayAckFrame {
  readonly kind: 'ack';
  readonly reqId?: number;
  readonly ids: readonly string[];
}
/** A delivered envelope. */
export interface RelayEnvelopeFrame {
  readonly kind: 'envelope';
  readonly id: string;
  readonly sender: {
    readonly orgId: string;
    readonly userId: string;
    readonly deviceId: string;
    readonly deviceNumber: number;
  };
  readonly type: number;
  readonly content: Uint8Array;
  readonly serverTime: number;
}
/** The answer to a send: the stored envelopes' ids. */
export interface RelaySentFrame {
  readonly kind: 'sent';
  readonly reqId: number;
  readonly serverTime: number;
  readonly envelopes: readonly { readonly deviceId: string; readonly envelopeId: string }[];
}
/** The answer to an ack with a reqId: its deletes are committed. */
export interface RelayAckedFrame {
  readonly kind: 'acked';
  readonly reqId: number;
}
/** A frame a client sends. */
export type RelayClientFrame = RelaySendFrame | RelayAckFrame;
/** A frame the server sends. */
export type RelayServerFrame = RelayEnvelopeFrame | RelaySentFrame | RelayAckedFrame;

function malformed(message: string): CustosError {
  return new CustosError('MALFORMED_INPUT', `relay frame: ${message}`);
}

/** Reads a frame field by field; every read checks that the bytes are there. */
class Reader {
  private o = 1;
  constructor(private readonly b: Buffer) {}
  private need(n: number, what: string): number {
    const at = this.o;
    if (at + n > this.b.length) throw malformed(`ends inside ${what} (byte ${at} of ${this.b.length})`);
    this.o = at + n;
    return at;
  }
  u8(what: string): number {
    return this.b[this.need(1, what)]!;
  }
  u16(what: string): number {
    return this.b.readUInt16BE(this.need(2, what));
  }
  u32(what: string): number {
    return this.b.readUInt32BE(this.need(4, what));
  }
  u48(what: string): number {
    return this.b.readUIntBE(this.need(U48, what), U48);
  }
  id(what: string): string {
    const at = this.need(RELAY_ID_BYTES, what);
    return this.b.toString('base64url', at, at + RELAY_ID_BYTES);
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.b.subarray(at, at + n);
  }
  end(): void {
    if (this.o !== this.b.length) throw malformed(`${this.b.length - this.o} bytes after the frame's end`);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a frame from a client (send or ack); MALFORMED_INPUT / OVERSIZED_INPUT otherwise. */
export function decodeRelayClientFrame(bytes: Uint8Array, limits: RelayFrameLimits): RelayClientFrame {
  const b = asBuffer(bytes);
  if (b.length === 0) throw malformed('empty');
  const r = new Reader(b);
  const kind = b[0];
  if (kind === RELAY_FRAME_KIND.send) {
    const reqId = r.u48('reqId');
    const orgId = r.id('recipient.orgId');
    const userId = r.id('recipient.userId');
    const n = r.u8('the envelope count');
    if (n < 1 || n > limits.maxEnvelopes)
      throw malformed(`${n} envelopes, expected 1–${limits.maxEnvelopes}`);
    const envelopes: RelaySendFrame['envelopes'][number][] = [];
    for (let i = 0; i < n; i++) {
      const deviceId = r.id(`envelopes.${i}.deviceId`);
      const type = r.u8(`envelopes.${i}.type`);
      const length = r.u32(`envelopes.${i}.length`);
      if (length < 1) throw malformed(`envelopes.${i}: empty content`);
      if (length > limits.maxContentBytes)
        throw new CustosError(
          'OVERSIZED_INPUT',
          `relay frame: envelopes.${i}: ${length} content bytes, at most ${limits.maxContentBytes}`,
        );
      envelopes.push({ deviceId, type, content: r.bytes(length, `envelopes.${i}.content`) });
    }
    r.end();
    return { kind: 'send', reqId, recipient: { orgId, userId }, envelopes };
  }
  if (kind === RELAY_FRAME_KIND.ack) {
    const flags = r.u8('flags');
    if ((flags & ~ACK_HAS_REQ_ID) !== 0) throw malformed(`unknown ack flags 0x${flags.toString(16)}`);
    const reqId = (flags & ACK_HAS_REQ_ID) !== 0 ? r.u48('reqId') : undefined;
    const n = r.u16('the id count');
    if (n < 1 || n > limits.maxAckIds) throw malformed(`${n} ids, expected 1–${limits.maxAckIds}`);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(r.id(`ids.${i}`));
    r.end();
    return reqId === undefined ? { kind: 'ack', ids } : { kind: 'ack', reqId, ids };
  }
  throw malformed(`unknown client frame kind 0x${(kind ?? 0).toString(16)}`);
}

/** Decodes a frame from the server (envelope, sent or acked); MALFORMED_INPUT otherwise. */
export function decodeRelayServerFrame(bytes: Uint8Array): RelayServerFrame {
  const b = asBuffer(bytes);
  if (b.length === 0) throw malformed('empty');
  const r = new Reader(b);
  const kind = b[0];
  if (kind === RELAY_FRAME_KIND.envelope) {
    const id = r.id('id');
    const orgId = r.id('sender.orgId');
    const userId = r.id('sender.userId');
    const deviceId = r.id('sender.deviceId');
    const deviceNumber = r.u32('sender.deviceNumber');
    const type = r.u8('type');
    const serverTime = r.u48('serverTime');
    const length = r.u32('content length');
    if (length < 1) throw malformed('empty content');
    const content = r.bytes(length, 'content');
    r.end();
    return {
      kind: 'envelope',
      id,
      sender: { orgId, userId, deviceId, deviceNumber },
      type,
      content,
      serverTime,
    };
  }
  if (kind === RELAY_FRAME_KIND.sent) {
    const reqId = r.u48('reqId');
    const serverTime = r.u48('serverTime');
    const n = r.u8('the envelope count');
    const envelopes: { deviceId: string; envelopeId: string }[] = [];
    for (let i = 0; i < n; i++)
      envelopes.push({
        deviceId: r.id(`envelopes.${i}.deviceId`),
        envelopeId: r.id(`envelopes.${i}.envelopeId`),
      });
    r.end();
    return { kind: 'sent', reqId, serverTime, envelopes };
  }
  if (kind === RELAY_FRAME_KIND.acked) {
    const reqId = r.u48('reqId');
    r.end();
    return { kind: 'acked', reqId };
  }
  throw malformed(`unknown server frame kind 0x${(kind ?? 0).toString(16)}`);
}

/** Writes ids and integers into a frame of known size; checks each value fits its field. */
class Writer {
  readonly b: Buffer;
  private o = 0;
  constructor(size: number) {
    this.b = Buffer.allocUnsafe(size);
  }
  u8(v: number, what: string): void {
    this.o = this.b.writeUInt8(check(v, 0xff, what), this.o);
  }
  u16(v: number, what: string): void {
    this.o = this.b.writeUInt16BE(check(v, 0xffff, what), this.o);
  }
  u32(v: number, what: string): void {
    this.o = this.b.writeUInt32BE(check(v, 0xffffffff, what), this.o);
  }
  u48(v: number, what: string): void {
    this.o = this.b.writeUIntBE(check(v, RELAY_MAX_REQ_ID, what), this.o, U48);
  }
  id(s: string, what: string): void {
    // Only canonical 22-character base64url text of 16 bytes round-trips through 16 bytes:
    // checked on the text (no string made back from the bytes: four ids per envelope frame).
    if (!isCanonicalId(s) || this.b.write(s, this.o, RELAY_ID_BYTES, 'base64url') !== RELAY_ID_BYTES)
      throw new CustosError('INVALID_ARGUMENT', `relay frame: ${what} is not a 16-byte base64url id`);
    this.o += RELAY_ID_BYTES;
  }
  bytes(v: Uint8Array): void {
    this.b.set(v, this.o);
    this.o += v.length;
  }
}

/**
 * Whether `s` is the canonical unpadded base64url text of 16 bytes: 22 characters of the
 * base64url alphabet, the last carrying 2 bits of the 16th byte and 4 zero bits (A, Q, g or w).
 * Node's decoder also takes `+`, `/` and other bits there, which would not round-trip.
 */
export function isCanonicalId(s: string): boolean {
  if (s.length !== 22) return false;
  for (let i = 0; i < 21; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f;
    if (!ok) return false;
  }
  const last = s.charCodeAt(21);
  return last === 0x41 || last === 0x51 || last === 0x67 || last === 0x77;
}

function check(v: number, max: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > max)
    throw new CustosError('INVALID_ARGUMENT', `relay frame: ${what} must be an integer in 0–${max}`);
  return v;
}

/** Encodes a client or server frame (INVALID_ARGUMENT when a field does not fit its layout). */
export function encodeRelayFrame(f: RelayClientFrame | RelayServerFrame): Buffer {
  const ID = RELAY_ID_BYTES;
  switch (f.kind) {
    case 'send': {
      let size = 1 + U48 + 2 * ID + 1;
      for (const e of f.envelopes) size += ID + 1 + 4 + e.content.length;
      const w = new Writer(size);
      w.u8(RELAY_FRAME_KIND.send, 'kind');
      w.u48(f.reqId, 'reqId');
      w.id(f.recipient.orgId, 'recipient.orgId');
      w.id(f.recipient.userId, 'recipient.userId');
      w.u8(f.envelopes.length, 'the envelope count');
      f.envelopes.forEach((e, i) => {
        w.id(e.deviceId, `envelopes.${i}.deviceId`);
        w.u8(e.type, `envelopes.${i}.type`);
        w.u32(e.content.length, `envelopes.${i}.length`);
        w.bytes(e.content);
      });
      return w.b;
    }
    case 'ack': {
      const w = new Writer(1 + 1 + (f.reqId === undefined ? 0 : U48) + 2 + f.ids.length * ID);
      w.u8(RELAY_FRAME_KIND.ack, 'kind');
      w.u8(f.reqId === undefined ? 0 : ACK_HAS_REQ_ID, 'flags');
      if (f.reqId !== undefined) w.u48(f.reqId, 'reqId');
      w.u16(f.ids.length, 'the id count');
      f.ids.forEach((id, i) => w.id(id, `ids.${i}`));
      return w.b;
    }
    case 'envelope': {
      const w = new Writer(1 + 4 * ID + 4 + 1 + U48 + 4 + f.content.length);
      w.u8(RELAY_FRAME_KIND.envelope, 'kind');
      w.id(f.id, 'id');
      w.id(f.sender.orgId, 'sender.orgId');
      w.id(f.sender.userId, 'sender.userId');
      w.id(f.sender.deviceId, 'sender.deviceId');
      w.u32(f.sender.deviceNumber, 'sender.deviceNumber');
      w.u8(f.type, 'type');
      w.u48(f.serverTime, 'serverTime');
      w.u32(f.content.length, 'content length');
      w.bytes(f.content);
      return w.b;
    }
    case 'sent': {
      const w = new Writer(1 + 2 * U48 + 1 + f.envelopes.length * 2 * ID);
      w.u8(RELAY_FRAME_KIND.sent, 'kind');
      w.u48(f.reqId, 'reqId');
      w.u48(f.serverTime, 'serverTime');
      w.u8(f.envelopes.length, 'the envelope count');
      f.envelopes.forEach((e, i) => {
        w.id(e.deviceId, `envelopes.${i}.deviceId`);
        w.id(e.envelopeId, `envelopes.${i}.envelopeId`);
      });
      return w.b;
    }
    case 'acked': {
      const w = new Writer(1 + U48);
      w.u8(RELAY_FRAME_KIND.acked, 'kind');
      w.u48(f.reqId, 'reqId');
      return w.b;
    }
  }
}
