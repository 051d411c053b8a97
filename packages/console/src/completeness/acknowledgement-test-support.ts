/**
 * Tests' finding acknowledgements as a server serves them (GET …/completeness/acknowledgements)
 * and the log entry of their `completeness.acknowledge` act (server completeness routes): the
 * act's document names the acting device, the finding and the time, and its detail commits to
 * the statement's SHA-256 (written out here, not taken from core, so a change there shows).
 */
import { createHash } from 'node:crypto';
import { findingAcknowledgementMessage, type LogEntry } from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { SigningKey } from '../signing-key.js';

/** One acknowledgement as the server lists it. */
export interface ServedAcknowledgement {
  findingId: string;
  statement: string;
  signature: string;
  deviceId: string;
  acknowledgedAt: number;
}

/**
 * `statement` (the encoded acknowledgement of `findingId`) signed with `signer`, as device
 * `deviceId` of `org` sent it at `at`: what the server serves, and the entry its act logs.
 */
export function servedAcknowledgement(o: {
  readonly org: string;
  readonly deviceId: string;
  readonly findingId: string;
  readonly statement: Uint8Array;
  readonly signer: SigningKey;
  readonly at: number;
}): { served: ServedAcknowledgement; entry: LogEntry } {
  const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const served = {
    findingId: o.findingId,
    statement: b64u(o.statement),
    signature: b64u(o.signer.sign(findingAcknowledgementMessage(o.statement))),
    deviceId: o.deviceId,
    acknowledgedAt: o.at,
  };
  const hash = auditDocumentHash(o.org, {
    kind: 'completeness.acknowledge',
    actor: o.deviceId,
    subject: o.findingId,
    at: o.at,
    detail: `statement-sha256=${createHash('sha256').update(o.statement).digest('hex')}`,
  });
  const entry: LogEntry = {
    type: 'audit-event',
    kind: 'completeness-acknowledge',
    hash: Buffer.from(hash, 'hex'),
    size: 100,
    actor: o.deviceId,
    time: o.at,
  };
  return { served, entry };
}
