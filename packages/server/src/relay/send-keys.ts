/**
 * Idempotent sends: a keyed send's identity (its key and a hash of what it asks) and the
 * check of a remembered answer. The relay (relay-service.ts) answers a repeat of a key from
 * what it remembered, and refuses the key for a different request (IDEMPOTENCY_KEY_REUSED).
 */
import { createHash } from 'node:crypto';
import { Compile } from 'typebox/compile';
import { ServerError } from '../errors.js';
import type { SendKeyRecord } from '../store/messaging-records.js';
import { CorruptRowError } from '../store/row-checks.js';
import { envelopeHash } from './receipts.js';
import type { OutgoingEnvelope } from './relay-service.js';
import { SendResultSchema, type SendResult } from './wire.js';

/** A keyed send's identity: its sender's idempotency key and what the send asks, hashed. */
export interface SendKey {
  /** The idempotency key, as the sender gave it (canonical base64url of SEND_KEY_BYTES bytes). */
  readonly key: string;
  /** {@link sendRequestHash} of the send. */
  readonly requestHash: Buffer;
  /** Each envelope's {@link envelopeHash}, in order: hashed once, for the request hash and the receipts. */
  readonly contentHashes: readonly Buffer[];
}

/** A length prefix's bytes, reused field after field: `Hash.update` copies what it is given. */
const lengthPrefix = Buffer.alloc(4);

/**
 * SHA-256 over what a send asks: the recipient and, in order, every envelope's device, type
 * and content hash (`contentHashes`, each envelope's {@link envelopeHash}). Fields are
 * length-prefixed (4 bytes, big-endian), so no two sends share an encoding. A repeat of a
 * key must hash the same (else IDEMPOTENCY_KEY_REUSED), across releases too: the hashes of
 * remembered sends are in the store.
 */
export function sendRequestHash(
  recipient: { readonly orgId: string; readonly userId: string },
  envelopes: readonly OutgoingEnvelope[],
  contentHashes: readonly Buffer[] = envelopes.map((e) => envelopeHash(e.content)),
): Buffer {
  const h = createHash('sha256');
  const text = (s: string) => {
    lengthPrefix.writeUInt32BE(Buffer.byteLength(s, 'utf8'));
    h.update(lengthPrefix).update(s, 'utf8');
  };
  text(recipient.orgId);
  text(recipient.userId);
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i]!;
    text(e.deviceId);
    text(String(e.type));
    const digest = contentHashes[i]!;
    lengthPrefix.writeUInt32BE(digest.length);
    h.update(lengthPrefix).update(digest);
  }
  return h.digest();
}

/** A keyed send's SendKey: each content hashed once, for the request hash and later the receipts. */
export function sendKeyOf(
  key: string,
  recipient: { readonly orgId: string; readonly userId: string },
  envelopes: readonly OutgoingEnvelope[],
): SendKey {
  const contentHashes = envelopes.map((e) => envelopeHash(e.content));
  return { key, requestHash: sendRequestHash(recipient, envelopes, contentHashes), contentHashes };
}

const checkSendResult = Compile(SendResultSchema);

/**
 * A remembered send's answer, checked like any stored row (style.md §6). Checked by the job
 * that repeats the send (admit), so a corrupt row fails that send alone, not its batch.
 */
export function rememberedAnswer(r: SendKeyRecord): SendResult {
  let answer: unknown;
  try {
    answer = JSON.parse(r.answer);
  } catch {
    answer = undefined;
  }
  if (!checkSendResult.Check(answer))
    throw new ServerError(
      'INTERNAL',
      'the remembered answer of this idempotency key is corrupt (not a send result); nothing was stored',
      { cause: new CorruptRowError('relay_send_keys.answer is not a send result') },
    );
  return answer;
}
