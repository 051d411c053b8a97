/**
 * Quorum unlock (docs/ceremony.md §8): m officers open their share files with their
 * passphrases, core combines the shares of each secret (its checksum proves the result), and
 * each recovered key is checked against the public fingerprint its share files name — so a
 * share of another org, a substituted file or too few shares never yields a key.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  BucketPrivateKey,
  combineShares,
  CustosError,
  isCustosError,
  openShareFile,
  parseShareFile,
  requireQuorum,
  type BucketPublicKey,
  type KdfPolicy,
  type KeyShare,
  type OpenedShareFile,
  type ShareFile,
  type ShareSecretKind,
} from '@custos/core';
import { unwrapBucketKey, type UnwrappedBucketKey } from './bucket-key-wrap.js';
import { x25519PublicKeyOf } from './hpke-box.js';
import { keyFingerprint, SigningKey } from './signing-key.js';

/** The org secrets recovered by a quorum; whichever kinds were given. Wipe with {@link RootKeys.destroy}. */
export interface RootKeys {
  readonly orgId: string;
  /** The org signing key (signs key-manager delegations). */
  readonly signingKey?: SigningKey;
  /** The root archive key: opens every bucket-key wrap addressed to "root". */
  readonly rootArchiveKey?: BucketPrivateKey;
  readonly rootArchivePublicKey?: BucketPublicKey;
  /** The org index secret (32 bytes; derives each bucket's blind-index key). */
  readonly indexSecret?: Uint8Array;
  /** Zeroes the index secret held here. */
  destroy(): void;
}

/** A share file given as a path, or as its text. */
export type ShareFileInput = string | { readonly text: string };

/** Share files derived at once, at most: each scrypt takes 128 MiB and a core (the thread pool has 4). */
const MAX_OPEN_CONCURRENCY = 4;

function readShareText(f: ShareFileInput): string {
  return typeof f === 'string' ? readFileSync(f, 'utf8') : f.text;
}

/** `e` with the file's name (never the passphrase) before its message, so the officer knows whose entry to retype. */
function naming(f: ShareFileInput, i: number, e: unknown): unknown {
  if (!isCustosError(e)) return e;
  const name = typeof f === 'string' ? f : `share file ${i + 1}`;
  return new CustosError(e.code, `${name}: ${e.message}`, { cause: e });
}

/**
 * Refusals the files' cleartext fields already decide, so a quorum that cannot succeed fails
 * before seconds of passphrase KDF: files of two organisations, and per secret kind what
 * combineShares would refuse from the shares' fields alone (core's requireQuorum: mixed
 * splits, one share twice, fewer than the threshold; same codes and messages). The fields are
 * authenticated only when a file is opened, but that can only turn these refusals into
 * others: an edited field fails its file's decryption.
 */
function refuseEarly(parsed: readonly ShareFile[]): void {
  if (parsed.some((p) => p.orgId !== parsed[0]!.orgId))
    throw new CustosError('MALFORMED_SHARE', 'share files of different organisations');
  for (const kind of new Set(parsed.map((p) => p.secretKind)))
    requireQuorum(parsed.filter((p) => p.secretKind === kind).map((p) => ({ ...p, index: p.shareIndex })));
}

/**
 * Opens every file, at most {@link MAX_OPEN_CONCURRENCY} (and one per core) at a time, one
 * secret kind after another (each officer's file of the first kind, then of the next), so a
 * wrong passphrase or a modified file is usually met in the first round; once one fails no
 * other is started, the ones running finish and are wiped, and the first failure is thrown.
 */
async function openAll(
  texts: readonly string[],
  parsed: readonly ShareFile[],
  shareFiles: readonly ShareFileInput[],
  passphrases: readonly string[],
  policy: KdfPolicy,
): Promise<OpenedShareFile[]> {
  const kinds = [...new Set(parsed.map((p) => p.secretKind))];
  const order = parsed
    .map((p, i) => ({ i, rank: kinds.indexOf(p.secretKind) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.i);
  const opened: (OpenedShareFile | undefined)[] = new Array<OpenedShareFile | undefined>(texts.length);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < order.length) {
      const i = order[next++]!;
      try {
        opened[i] = await openShareFile(texts[i]!, passphrases[i]!, policy);
      } catch (e) {
        failure ??= { error: naming(shareFiles[i]!, i, e) };
      }
    }
  };
  const width = Math.max(1, Math.min(MAX_OPEN_CONCURRENCY, availableParallelism(), order.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== undefined) {
    for (const o of opened) o?.share.share.fill(0);
    throw failure.error;
  }
  return opened as OpenedShareFile[];
}

/**
 * Opens `shareFiles[i]` with `passphrases[i]` and recovers every secret kind present. All files
 * must belong to one org; each kind present needs its threshold of shares (SHARES_INSUFFICIENT),
 * and a recovered key must match its files' fingerprint (HASH_MISMATCH).
 */
export async function unlockRoot(
  shareFiles: readonly ShareFileInput[],
  passphrases: readonly string[],
  policy: KdfPolicy = {},
): Promise<RootKeys> {
  if (shareFiles.length === 0) throw new CustosError('SHARES_INSUFFICIENT', 'no share files given');
  if (shareFiles.length !== passphrases.length) {
    throw new CustosError('INVALID_ARGUMENT', 'give one passphrase per share file');
  }
  const texts = shareFiles.map(readShareText);
  const parsed = texts.map((t, i) => {
    try {
      return parseShareFile(t, policy);
    } catch (e) {
      throw naming(shareFiles[i]!, i, e);
    }
  });
  refuseEarly(parsed);
  const opened = await openAll(texts, parsed, shareFiles, passphrases, policy);
  const orgId = opened[0]!.orgId;
  if (opened.some((o) => o.orgId !== orgId))
    throw new CustosError('MALFORMED_SHARE', 'share files of different organisations');
  const byKind = new Map<ShareSecretKind, { shares: KeyShare[]; fingerprint: string | null }>();
  for (const o of opened) {
    const entry = byKind.get(o.secretKind) ?? { shares: [], fingerprint: o.publicKeyFingerprint };
    if (entry.fingerprint !== o.publicKeyFingerprint) {
      throw new CustosError('MALFORMED_SHARE', `${o.secretKind} share files name different public keys`);
    }
    entry.shares.push(o.share);
    byKind.set(o.secretKind, entry);
  }
  const keys: { -readonly [K in keyof RootKeys]?: RootKeys[K] } = {};
  for (const [kind, { shares, fingerprint }] of byKind) {
    const secret = await combineShares(shares);
    try {
      if (kind === 'org-signing-key') {
        const k = SigningKey.fromSeed(secret);
        if (fingerprint !== null && keyFingerprint(k.publicKey) !== fingerprint) {
          throw new CustosError(
            'HASH_MISMATCH',
            'the recovered org signing key does not match its fingerprint',
          );
        }
        keys.signingKey = k;
      } else if (kind === 'org-root-archive-key') {
        const pub = await x25519PublicKeyOf(secret);
        if (fingerprint !== null && keyFingerprint(pub.toBytes()) !== fingerprint) {
          throw new CustosError(
            'HASH_MISMATCH',
            'the recovered root archive key does not match its fingerprint',
          );
        }
        keys.rootArchiveKey = await BucketPrivateKey.fromBytes(secret);
        keys.rootArchivePublicKey = pub;
      } else {
        keys.indexSecret = Uint8Array.from(secret);
      }
    } finally {
      secret.fill(0);
    }
    for (const s of shares) s.share.fill(0);
  }
  const indexSecret = keys.indexSecret;
  return {
    orgId,
    ...keys,
    destroy: () => indexSecret?.fill(0),
  };
}

/** Opens a bucket-key wrap addressed to "root" with the recovered root archive key. */
export async function unwrapWithRoot(root: RootKeys, wrap: Uint8Array): Promise<UnwrappedBucketKey> {
  if (root.rootArchiveKey === undefined) {
    throw new CustosError(
      'SHARES_INSUFFICIENT',
      'the root archive key was not unlocked (no org-root-archive-key shares given)',
    );
  }
  const w = await unwrapBucketKey(wrap, root.rootArchiveKey);
  if (w.to !== 'root' || w.org !== root.orgId)
    throw new CustosError('DECRYPTION_FAILED', 'the wrap is not addressed to this root');
  return w;
}
