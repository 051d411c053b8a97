import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fuzzParser } from '../testing/fuzz.js';
import { decodeRelayClientFrame, decodeRelayServerFrame, encodeRelayFrame } from './relay-frames.js';

const id = (): string => randomBytes(16).toString('base64url');
const limits = { maxEnvelopes: 64, maxContentBytes: 4096, maxAckIds: 1000 };
const clientSeeds = [
  encodeRelayFrame({
    kind: 'send',
    reqId: 9,
    recipient: { orgId: id(), userId: id() },
    envelopes: [
      { deviceId: id(), type: 1, content: randomBytes(40) },
      { deviceId: id(), type: 3, content: randomBytes(3) },
    ],
  }),
  encodeRelayFrame({ kind: 'ack', ids: [id(), id()] }),
  encodeRelayFrame({ kind: 'ack', reqId: 4, ids: [id()] }),
];
const serverSeeds = [
  encodeRelayFrame({
    kind: 'envelope',
    id: id(),
    sender: { orgId: id(), userId: id(), deviceId: id(), deviceNumber: 2 },
    type: 1,
    content: randomBytes(50),
    serverTime: Date.now(),
  }),
  encodeRelayFrame({
    kind: 'sent',
    reqId: 3,
    serverTime: 1,
    envelopes: [{ deviceId: id(), envelopeId: id() }],
  }),
  encodeRelayFrame({ kind: 'acked', reqId: 3 }),
];

describe('fuzz: relay binary frames', () => {
  it('decodeRelayClientFrame returns or throws CustosError, never hangs', () => {
    const report = fuzzParser((b) => decodeRelayClientFrame(b, limits), clientSeeds, { seed: 21 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
  });

  it('decodeRelayServerFrame returns or throws CustosError, never hangs', () => {
    const report = fuzzParser((b) => decodeRelayServerFrame(b), serverSeeds, { seed: 22 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
  });
});
