/**
 * Re-derives docs/vectors/gap-declaration-v1.json: one declaration per reason (GAP_REASONS),
 * each message byte for byte from its fields, and each document's signature verifying with
 * the vector identity key (XEdDSA is randomised: the signature must verify, not reproduce).
 * Run with CUSTOS_WRITE_VECTORS=1 to regenerate the file after a deliberate change; a new
 * reason adds a vector and leaves the others as they are.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { deviceId, orgId, toHex, type RecordHash } from '../record/ids.js';
import {
  GAP_REASONS,
  decodeGapDeclaration,
  encodeGapMessage,
  signGapDeclaration,
  verifyGapDeclaration,
  type GapDeclaration,
  type GapReason,
} from './gap-declaration.js';

const FILE = fileURLToPath(new URL('../../../../docs/vectors/gap-declaration-v1.json', import.meta.url));
const seed = (label: string): Buffer => createHash('sha256').update(`custos vector v1: ${label}`).digest();
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

const CTX = { org: orgId('org-example'), device: deviceId('device-7') };
const identitySeed = seed('gap declaration identity private key');
const identity = PrivateKey.deserialize(Uint8Array.from(identitySeed));

/** The declared runs, one per reason: a run after a stored head, and one from sequence number 0. */
const RUNS: Record<GapReason, { firstSeq: number; lastSeq: number }> = {
  'server-restored': { firstSeq: 3, lastSeq: 5 },
  'device-lost': { firstSeq: 0, lastSeq: 2 },
  'bucket-disposed': { firstSeq: 6, lastSeq: 9 },
};

function declaration(reason: GapReason): GapDeclaration {
  const { firstSeq, lastSeq } = RUNS[reason];
  return {
    ...CTX,
    firstSeq,
    lastSeq,
    prev: (firstSeq === 0 ? new Uint8Array(32) : Uint8Array.from(seed(`${reason} prev`))) as RecordHash,
    resume: Uint8Array.from(seed(`${reason} resume`)) as RecordHash,
    reason,
  };
}

interface VectorFile {
  description: string;
  identity: { privateKey: string; publicKey: string };
  declarations: {
    org: string;
    device: string;
    firstSeq: number;
    lastSeq: number;
    prev: string;
    resume: string;
    reason: string;
    message: string;
    document: string;
  }[];
}

function derive(documents?: ReadonlyMap<string, string>): VectorFile {
  return {
    description:
      'Custos gap declaration test vectors (docs/archive-format.md §6.1), one per reason. All byte strings are lower-case hex. ' +
      'Each message is deterministic; each document is the message followed by an XEdDSA signature, which is randomised: it must verify with identity.publicKey, not reproduce.',
    identity: {
      privateKey: toHex(identitySeed),
      publicKey: toHex(identity.getPublicKey().serialize()),
    },
    declarations: GAP_REASONS.map((reason) => {
      const d = declaration(reason);
      return {
        org: d.org,
        device: d.device,
        firstSeq: d.firstSeq,
        lastSeq: d.lastSeq,
        prev: toHex(d.prev),
        resume: toHex(d.resume),
        reason,
        message: toHex(encodeGapMessage(d)),
        document: documents?.get(reason) ?? toHex(signGapDeclaration(identity, d)),
      };
    }),
  };
}

describe('docs/vectors/gap-declaration-v1.json', () => {
  it('is re-derived byte for byte, one declaration per reason, and each document verifies', () => {
    if (process.env.CUSTOS_WRITE_VECTORS === '1')
      writeFileSync(FILE, JSON.stringify(derive(), null, 2) + '\n');
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as VectorFile;
    expect(derive(new Map(file.declarations.map((v) => [v.reason, v.document])))).toEqual(file);
    expect(file.declarations.map((v) => v.reason)).toEqual([...GAP_REASONS]);
    for (const v of file.declarations) {
      expect(v.document.startsWith(v.message)).toBe(true);
      expect(verifyGapDeclaration(hex(file.identity.publicKey), hex(v.document))).toEqual(
        declaration(v.reason as GapReason),
      );
    }
  });

  it('the bucket-disposed vector carries its reason as the last field of the message', () => {
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as VectorFile;
    const v = file.declarations.find((x) => x.reason === 'bucket-disposed')!;
    const message = Buffer.from(hex(v.message));
    expect(message.subarray(message.length - 16).equals(Buffer.from('\u000fbucket-disposed', 'ascii'))).toBe(
      true,
    );
    expect(decodeGapDeclaration(hex(v.document)).declaration.reason).toBe('bucket-disposed');
  });
});
