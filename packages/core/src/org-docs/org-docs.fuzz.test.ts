/**
 * Fuzzing every signed organisation document reader: each returns or throws a CustosError —
 * never a raw TypeError or RangeError — on random bytes, on mutated documents, and on validly
 * signed payloads of every CBOR shape: mutated payloads, non-map values, and maps with the
 * document's own fields holding values of any type (which reach the field checks behind the
 * signature). The valid seeds are accepted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { ed25519PrivateKeyFromSeed, ed25519RawPublicKey, ed25519Sign } from '../note/ed25519.js';
import { encodeDeterministic } from '../record/deterministic-cbor.js';
import { cborShapes, defaultFuzzRuns, mutationsOf } from '../testing/fuzz.js';
import {
  BUCKET_KEY_DOMAIN,
  KEY_MANAGER_DELEGATION_DOMAIN,
  OFFICER_LIST_DOMAIN,
  ROOT_KEY_DOMAIN,
  STANDING_CRITERION_DOMAIN,
  openBucketKeyDocument,
  openKeyManagerDelegation,
  openOfficerList,
  openRootKeyStatement,
  openStandingCriterion,
  decodePayloadMap,
  signedMessage,
  splitSignedDocument,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
  sealOfficerList,
  sealRootKeyStatement,
  sealStandingCriterion,
} from './index.js';

/** Five readers share one file: half the default runs each keeps the CI run well under 10 s. */
const RUNS = Math.max(100, Math.floor(defaultFuzzRuns() / 2));
const privateKey = ed25519PrivateKeyFromSeed(new Uint8Array(32).fill(7));
const publicKey = ed25519RawPublicKey(privateKey);
const signer = { sign: (m: Uint8Array): Uint8Array => ed25519Sign(privateKey, m) };
const ID = 'AAAAAAAAAAAAAAAAAAAAAA';

interface Format {
  readonly name: string;
  readonly domain: string;
  readonly seed: Uint8Array;
  readonly open: (b: Uint8Array) => unknown;
}

const FORMATS: readonly Format[] = [
  {
    name: 'key-manager delegation',
    domain: KEY_MANAGER_DELEGATION_DOMAIN,
    seed: sealKeyManagerDelegation({ key: publicKey, notBefore: 1, notAfter: 2 }, signer),
    open: (b) => openKeyManagerDelegation(b, publicKey),
  },
  {
    name: 'bucket-key document',
    domain: BUCKET_KEY_DOMAIN,
    seed: sealBucketKeyDocument(
      {
        org: ID,
        bucket: ID,
        retentionClass: 'standard',
        period: '2026-01',
        notBefore: 1,
        notAfter: 2,
        publicKey: new Uint8Array(32),
      },
      signer,
    ),
    open: (b) => openBucketKeyDocument(b, publicKey),
  },
  {
    name: 'officer list',
    domain: OFFICER_LIST_DOMAIN,
    seed: sealOfficerList(
      {
        org: ID,
        quorum: 1,
        officers: [
          { index: 0, publicKey: new Uint8Array(40) },
          { index: 2, publicKey: new Uint8Array(33) },
        ],
        demote: [ID],
        issuedAt: 5,
      },
      signer,
    ),
    open: (b) => openOfficerList(b, publicKey),
  },
  {
    name: 'root key statement',
    domain: ROOT_KEY_DOMAIN,
    seed: sealRootKeyStatement(
      { org: ID, publicKey: new Uint8Array(32).fill(1), previous: new Uint8Array(32).fill(2), issuedAt: 9 },
      signer,
    ),
    open: (b) => openRootKeyStatement(b, publicKey),
  },
  {
    name: 'standing criterion',
    domain: STANDING_CRITERION_DOMAIN,
    seed: sealStandingCriterion(
      {
        org: ID,
        kind: 'rule',
        by: 0,
        seals: [
          { i: 0, enc: new Uint8Array(32), ct: new Uint8Array(20) },
          { i: 1, enc: new Uint8Array(32), ct: new Uint8Array(0) },
        ],
      },
      signer,
    ),
    open: (b) => openStandingCriterion(b, () => publicKey),
  },
];

function neverRaw(open: (b: Uint8Array) => unknown): (b: Uint8Array) => void {
  return (b) => {
    try {
      open(b);
    } catch (e) {
      if (!isCustosError(e)) throw e;
    }
  };
}

describe('org document readers (fuzz)', () => {
  for (const f of FORMATS) {
    it(f.name, () => {
      expect(() => f.open(f.seed)).not.toThrow();
      const { payload } = splitSignedDocument(f.name, f.seed);
      const fields = Object.keys(decodePayloadMap(f.name, payload));
      const sign = (p: Uint8Array): Uint8Array =>
        encodeDeterministic([p, signer.sign(signedMessage(f.domain, p))]);
      const signValue = (value: unknown): Uint8Array => sign(encodeDeterministic(value));
      expect(() => f.open(sign(payload))).not.toThrow();
      const inputs = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        mutationsOf(f.seed),
        mutationsOf(payload).map(sign),
        cborShapes.map(signValue),
        // The document's own fields, each holding a value of any shape.
        fc.record(Object.fromEntries(fields.map((k) => [k, cborShapes]))).map(signValue),
      );
      fc.assert(fc.property(inputs, neverRaw(f.open)), { numRuns: RUNS });
    });
  }
});
