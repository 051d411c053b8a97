/** The hand-rendered `envelope` frame is byte for byte the JSON the generic path produced. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { EnvelopeId, QueuedEnvelope } from '../store/messaging-records.js';
import { envelopeFrame, envelopeOut } from './wire.js';

const generic = (e: QueuedEnvelope): string => JSON.stringify({ type: 'envelope', envelope: envelopeOut(e) });

const envelope = fc.record({
  // Any text, not just base64url ids: quotes, backslashes, control and non-ASCII characters must be escaped alike.
  id: fc.string({ unit: 'binary' }),
  orgId: fc.string({ unit: 'binary' }),
  userId: fc.string(),
  deviceId: fc.string(),
  deviceNumber: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  type: fc.integer({ min: 0, max: 255 }),
  content: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  createdAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

type Drawn = typeof envelope extends fc.Arbitrary<infer T> ? T : never;

function queued(v: Drawn): QueuedEnvelope {
  return {
    orgId: v.orgId as OrgId,
    envelopeId: v.id as EnvelopeId,
    recipientDeviceId: v.deviceId as DeviceId,
    sender: {
      orgId: v.orgId as OrgId,
      userId: v.userId as UserId,
      deviceId: v.deviceId as DeviceId,
      deviceNumber: v.deviceNumber,
    },
    type: v.type,
    content: Buffer.from(v.content),
    createdAt: v.createdAt,
    expiresAt: v.createdAt + 1,
  };
}

describe('envelopeFrame', () => {
  it('equals JSON.stringify of envelopeOut, with or without the content text given (property)', () => {
    fc.assert(
      fc.property(envelope, (v) => {
        const e = queued(v);
        expect(envelopeFrame(e)).toBe(generic(e));
        expect(envelopeFrame(e, e.content.toString('base64url'))).toBe(generic(e));
        expect(JSON.parse(envelopeFrame(e))).toEqual({ type: 'envelope', envelope: envelopeOut(e) });
      }),
      { numRuns: 500 },
    );
  });

  it('carries the given content text, so a wrong one would show', () => {
    const e = queued({
      id: 'id',
      orgId: 'org',
      userId: 'user',
      deviceId: 'dev',
      deviceNumber: 1,
      type: 3,
      content: new Uint8Array([1, 2, 3]),
      createdAt: 5,
    });
    expect(envelopeFrame(e, 'AQID')).toBe(generic(e));
    expect(envelopeFrame(e, 'AQIE')).not.toBe(generic(e));
  });
});
