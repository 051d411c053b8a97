/** Shared fixtures for the record tests (test data only). */
import { randomBytes } from 'node:crypto';
import type { RecordBody } from './body.js';
import { bucketId, deviceId, orgId } from './ids.js';

/** The org, device and bucket most tests use. */
export const CTX = {
  org: orgId('org-acme'),
  device: deviceId('dev-alice-phone'),
  bucket: bucketId('standard-2025'),
};

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
