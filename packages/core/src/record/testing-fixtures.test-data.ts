/** Shared fixtures for the record tests (test data only). */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { RecordBody } from './body.js';
import type { RecordHeader } from './header.js';
import { canonicalTokens } from './header.js';
import { bucketId, deviceId, orgId } from './ids.js';
import type { RecordHash, SessionKeyId } from './ids.js';
import { MAX_RECORD_BYTES } from './limits.js';

/** The org, device and bucket most tests use. */
export const CTX = {
  org: orgId('org-acme'),
  device: deviceId('dev-alice-phone'),
  bucket: bucketId('standard-2025'),
};

/** A valid header of {@link CTX} with 12 tokens and random hashes; `over` replaces fields. */
export function sampleHeader(over: Partial<RecordHeader> = {}): RecordHeader {
  return {
    version: 1,
    ...CTX,
    seq: 7,
    prev: randomBytes(32) as Uint8Array as RecordHash,
    sessionKeyId: randomBytes(32) as Uint8Array as SessionKeyId,
    tokens: canonicalTokens(Array.from({ length: 12 }, () => randomBytes(16))),
    sealedBodyBytes: 1056,
    attachmentBytes: 0,
    ...over,
  };
}

/**
 * Valid headers for property tests: `base()` with a drawn sequence number (any, with an
 * all-zero "prev" at 0), up to 40 tokens (put in canonical order) and sizes over their whole
 * ranges.
 */
export function arbitraryHeader(base: () => RecordHeader): fc.Arbitrary<RecordHeader> {
  return fc
    .tuple(
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { maxLength: 40 }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: MAX_RECORD_BYTES }),
    )
    .map(([seq, tokens, attachmentBytes, sealedBodyBytes]) => ({
      ...base(),
      seq,
      tokens: canonicalTokens(tokens),
      attachmentBytes,
      sealedBodyBytes,
      ...(seq === 0 ? { prev: new Uint8Array(32) as RecordHash } : {}),
    }));
}

/** A body using every field. */
export function fullBody(over: Partial<RecordBody> = {}): RecordBody {
  return {
    direction: 'sent',
    kind: 'message',
    messageId: 'msg-0001',
    conversationId: 'conv-42',
    participants: ['alice', 'bob', 'carol'],
    sender: 'alice',
    sentAt: 1_735_689_600_000,
    receivedAt: 1_735_689_600_250,
    serverAt: 1_735_689_600_100,
    text: 'Quarterly numbers are in — 数字 👍',
    attachments: [
      {
        blobId: 'blob-1',
        key: randomBytes(64),
        digest: randomBytes(32),
        size: 123_456,
        contentType: 'application/pdf',
        fileName: 'q4.pdf',
      },
    ],
    replyTo: 'msg-0000',
    timerSeconds: 0,
    archiveNotice: true,
    envelopeHashes: [randomBytes(32), randomBytes(32)],
    ...over,
  };
}

/** A minimal body. */
export function minimalBody(): RecordBody {
  return {
    direction: 'received',
    kind: 'receipt',
    messageId: 'm',
    conversationId: 'c',
    participants: [],
    sender: 's',
    sentAt: 0,
    attachments: [],
    archiveNotice: false,
    envelopeHashes: [],
  };
}
