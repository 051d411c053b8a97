/**
 * Attachments (docs/client.md §5): each file is encrypted on the device under a fresh
 * 32-byte key with AES-256-GCM (random 96-bit nonce, AAD ATTACHMENT_AAD), padded first to
 * a size bucket (Signal's 5% steps) so the blob size says little about the file, and
 * uploaded as an opaque content-addressed blob (`PUT /v1/blobs/<hex SHA-256 of the blob>`).
 * The message carries the pointer: blob id, key, digest (SHA-256 of the blob), plaintext
 * size, content type and file name. A receiver checks digest, length and tag before use.
 *
 *   blob = nonce(12) ‖ AES-256-GCM(key, nonce, plaintext ‖ zero padding, AAD) ‖ tag(16)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ClientError, isServerRefusal } from '../errors.js';
import { sha256 } from '../sha256.js';
import { BLOB_ANSWER_LIMIT_BYTES } from '../transport/answer-limits.js';
import type { ApiClient } from '../transport/api-client.js';
import { ATTACHMENT_KEY_BYTES, MAX_SHORT, type AttachmentPointer } from './content-parts.js';

/** Domain-separating AAD of attachment encryption. */
export const ATTACHMENT_AAD = Buffer.from('custos-attachment-v1', 'utf8');
/** Largest attachment (the server takes blobs up to 25 MiB; padding and framing fit under it). */
export const MAX_ATTACHMENT_BYTES = 23 * 1024 * 1024;
/** Smallest padded size (as Signal). */
const MIN_PADDED = 541;
/** Padding buckets grow by 5%. */
const PAD_STEP = 1.05;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** What the sender says about a file. */
export interface AttachmentMeta {
  readonly contentType: string;
  readonly fileName?: string;
}

/** The padded plaintext length for a file of `size` bytes (Signal's bucket formula). */
export function paddedLength(size: number): number {
  if (size <= MIN_PADDED) return MIN_PADDED;
  return Math.max(size, Math.floor(PAD_STEP ** Math.ceil(Math.log(size) / Math.log(PAD_STEP))));
}

/** The blob length for a file of `size` bytes. */
export function blobLength(size: number): number {
  return NONCE_BYTES + paddedLength(size) + TAG_BYTES;
}

function checkMeta(meta: AttachmentMeta): void {
  for (const [v, what] of [
    [meta.contentType, 'content type'],
    [meta.fileName, 'file name'],
  ] as const)
    if (v !== undefined && (v.length === 0 || Buffer.byteLength(v) > MAX_SHORT))
      throw new ClientError('ATTACHMENT_INVALID', `an attachment ${what} must be 1–${MAX_SHORT} bytes`);
}

/** Encrypts a file under a fresh key. MUST NOT log the pointer: it holds the key. */
export function encryptAttachment(
  bytes: Uint8Array,
  meta: AttachmentMeta,
): { blob: Uint8Array; pointer: AttachmentPointer } {
  checkMeta(meta);
  if (bytes.length > MAX_ATTACHMENT_BYTES)
    throw new ClientError('ATTACHMENT_INVALID', `an attachment is at most ${MAX_ATTACHMENT_BYTES} bytes`);
  const key = randomBytes(ATTACHMENT_KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const plain = Buffer.alloc(paddedLength(bytes.length));
  plain.set(bytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(ATTACHMENT_AAD);
  const blob = new Uint8Array(
    Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
  );
  plain.fill(0);
  const digest = sha256(blob);
  return {
    blob,
    pointer: {
      blobId: Buffer.from(digest).toString('hex'),
      key: new Uint8Array(key),
      digest,
      size: bytes.length,
      contentType: meta.contentType,
      ...(meta.fileName === undefined ? {} : { fileName: meta.fileName }),
    },
  };
}

/**
 * Checks a downloaded blob against its pointer and decrypts it: ATTACHMENT_DIGEST_MISMATCH
 * when the SHA-256 differs, ATTACHMENT_INVALID when the length or the GCM tag is wrong.
 */
export function decryptAttachment(blob: Uint8Array, pointer: AttachmentPointer): Uint8Array {
  if (!Buffer.from(sha256(blob)).equals(pointer.digest))
    throw new ClientError('ATTACHMENT_DIGEST_MISMATCH', 'the attachment does not match its digest');
  if (pointer.size > MAX_ATTACHMENT_BYTES || blob.length !== blobLength(pointer.size))
    throw new ClientError('ATTACHMENT_INVALID', 'the attachment length does not match its stated size');
  if (pointer.key.length !== ATTACHMENT_KEY_BYTES)
    throw new ClientError('ATTACHMENT_INVALID', 'the attachment key is malformed');
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  try {
    const d = createDecipheriv('aes-256-gcm', pointer.key, b.subarray(0, NONCE_BYTES)).setAAD(ATTACHMENT_AAD);
    d.setAuthTag(b.subarray(b.length - TAG_BYTES));
    const plain = Buffer.concat([d.update(b.subarray(NONCE_BYTES, b.length - TAG_BYTES)), d.final()]);
    return new Uint8Array(plain.subarray(0, pointer.size));
  } catch (e) {
    throw new ClientError('ATTACHMENT_INVALID', 'the attachment does not decrypt under its key', {
      cause: e,
    });
  }
}

/** Encrypts and uploads a file; resolves to the pointer to put in a message. */
export async function uploadAttachment(
  api: ApiClient,
  bytes: Uint8Array,
  meta: AttachmentMeta,
): Promise<AttachmentPointer> {
  const { blob, pointer } = encryptAttachment(bytes, meta);
  await api.request('PUT', `/v1/blobs/${pointer.blobId}`, { bytes: blob });
  return pointer;
}

/** Downloads, checks and decrypts an attachment (a missing blob is ATTACHMENT_INVALID). */
export async function downloadAttachment(api: ApiClient, pointer: AttachmentPointer): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(pointer.blobId))
    throw new ClientError('ATTACHMENT_INVALID', 'the attachment blob id is malformed');
  let blob: unknown;
  try {
    blob = await api.request('GET', `/v1/blobs/${pointer.blobId}`, {
      as: 'bytes',
      maxAnswerBytes: BLOB_ANSWER_LIMIT_BYTES,
    });
  } catch (e) {
    if (isServerRefusal(e, 'BLOB_NOT_FOUND'))
      throw new ClientError('ATTACHMENT_INVALID', 'the attachment blob is not on the server', { cause: e });
    throw e;
  }
  if (!(blob instanceof Uint8Array)) throw new ClientError('SERVER_RESPONSE_INVALID', 'a blob is not bytes');
  return decryptAttachment(blob, pointer);
}
