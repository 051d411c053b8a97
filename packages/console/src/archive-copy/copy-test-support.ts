/**
 * A fake Custos server for archive-copy tests, over a real signed log: archive-record
 * entries committing to record bytes, filler audit entries, disposition entries; an Ed25519
 * signed checkpoint; entry bundles, RFC 9162 consistency proofs and the records route served
 * as the server serves them. Org keys are real too (org signing key, delegation, bucket
 * documents), so the copy's signatures verify. The test grows the log, and makes the
 * server lie, by changing `FakeOrg` between runs.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  appendEntries,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  generateSignerKey,
  parseSignerKey,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
  signCheckpoint,
  type BucketId,
  type DeviceId,
  type LogEntry,
  type OrgId,
} from '@custos/core';
import { buildDelegationChain } from '../key-manager-chain.js';
import type { OfficerSession, VerifiedServerBucket } from '../officer-session.js';
import { httpOfficerSession } from '../officer-session-test-support.js';
import { consistencyAnswerFor } from '../search/enrolment-test-support.js';
import { keyFingerprint, SigningKey } from '../signing-key.js';

/** The org of the fake server (22 characters, as server ids are). */
export const ORG = 'OrgOrgOrgOrgOrgOrgOrg1';
/** Two custodian devices. */
export const DEV_A = 'DevADevADevADevADevAAA';
export const DEV_B = 'DevBDevBDevBDevBDevBBB';
/** Two buckets: one kept, one to be disposed of. */
export const KEPT = 'standard-2026-01';
export const SHORT = 'transitory-2026-01';
const ORIGIN = `custos.test/${ORG}`;
const T0 = Date.UTC(2026, 0, 5);

/** One record of the fake archive. */
export interface FakeRecord {
  readonly device: string;
  readonly seq: number;
  readonly bucket: string;
  readonly bytes: Uint8Array;
  readonly logIndex: number;
}

/** The fake org: its log, records and keys, and the lies its server tells. */
export interface FakeOrg {
  readonly url: string;
  readonly entries: Uint8Array[];
  readonly records: FakeRecord[];
  /** Bucket wraps by bucket, then recipient. */
  readonly wraps: Map<string, Map<string, Uint8Array>>;
  /** Records the server no longer serves (by log index). */
  readonly unserved: Set<number>;
  /** Buckets the server leaves out of its bucket list. */
  readonly unlisted: Set<string>;
  /** Served record bytes replaced (by log index). */
  readonly swapped: Map<number, Uint8Array>;
  /** The tree size the checkpoint signs (default: every entry). */
  signedSize: number | undefined;
  /** Requests seen, path and query. */
  readonly requests: string[];
  /** Appends `count` records of `device` in `bucket` (with a filler audit entry every 7). */
  addRecords(device: string, count: number, bucket?: string): void;
  /**
   * Appends a disposition entry for `bucket` and drops its records and wraps from the server:
   * a made-up one (no certificate served, no `disposition.execute` act, no approvals), which the
   * copy must not believe. The entry commits to `certificate`'s SHA-256 when given.
   */
  dispose(bucket: string, certificate?: Uint8Array): void;
  /** An officer session on this server (no passphrase: the copy opens nothing). */
  session(): OfficerSession;
  close(): Promise<void>;
}

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** Starts a fake server for a new org with an empty log. */
export async function startFakeOrg(): Promise<FakeOrg> {
  const logKey = generateSignerKey(ORIGIN);
  const orgKey = SigningKey.generate();
  const km = SigningKey.generate();
  const delegation = sealKeyManagerDelegation(
    { key: km.publicKey, notBefore: T0 - 86_400_000, notAfter: T0 + 400 * 86_400_000 },
    orgKey,
  );
  const chain = buildDelegationChain([delegation], orgKey.publicKey);
  const buckets: VerifiedServerBucket[] = [KEPT, SHORT].map((bucket, i) => {
    const doc = {
      org: ORG,
      bucket,
      retentionClass: i === 0 ? ('standard' as const) : ('transitory' as const),
      period: '2026-01',
      notBefore: T0,
      notAfter: T0 + 30 * 86_400_000,
      publicKey: new Uint8Array(32).fill(i + 1),
    };
    return { ...doc, document: sealBucketKeyDocument(doc, km), currentKey: true };
  });
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  // The officer profile's org.json: the ceremony's root wrap of KEPT lives only here.
  const orgFile = {
    format: 'custos-org',
    version: 1,
    orgId: ORG,
    signingPublicKey: b64u(orgKey.publicKey),
    signingKeyFingerprint: keyFingerprint(orgKey.publicKey),
    keyManager: { publicKey: b64u(km.publicKey), delegation: b64u(delegation), notBefore: 0, notAfter: 0 },
    buckets: buckets.map((b) => ({
      bucketId: b.bucket,
      retentionClass: b.retentionClass,
      period: b.period,
      notBefore: b.notBefore,
      notAfter: b.notAfter,
      publicKey: b64u(b.publicKey),
      document: b64u(b.document),
      ...(b.bucket === KEPT ? { rootWrap: b64u(new Uint8Array(80).fill(8)) } : {}),
    })),
  };
  const nextSeq = new Map<string, number>();
  const requests: string[] = [];
  const org: FakeOrg = {
    url: '',
    entries: [],
    records: [],
    wraps: new Map([
      [KEPT, new Map([['0', new Uint8Array(80).fill(7)]])],
      [
        SHORT,
        new Map([
          ['0', new Uint8Array(80).fill(7)],
          ['root', new Uint8Array(80).fill(8)],
        ]),
      ],
    ]),
    unserved: new Set(),
    unlisted: new Set(),
    swapped: new Map(),
    signedSize: undefined,
    requests,
    addRecords(device, count, bucket = KEPT) {
      for (let i = 0; i < count; i++) {
        const seq = nextSeq.get(device) ?? 0;
        nextSeq.set(device, seq + 1);
        const bytes = new Uint8Array(Buffer.from(`sealed record ${device}#${seq} in ${bucket} `.repeat(3)));
        const entry: LogEntry = {
          type: 'archive-record',
          org: ORG as OrgId,
          device: device as DeviceId,
          seq,
          bucket: bucket as BucketId,
          hash: sha(bytes),
          size: bytes.length,
          actor: device,
          time: T0 + this.entries.length,
        };
        this.records.push({ device, seq, bucket, bytes, logIndex: this.entries.length });
        this.entries.push(encodeLogEntry(entry));
        if (this.entries.length % 7 === 0)
          this.entries.push(
            encodeLogEntry({
              type: 'audit-event',
              kind: 'archive-search',
              hash: new Uint8Array(32).fill(1),
              size: 1,
              actor: 'officer-device',
              time: T0 + this.entries.length,
            }),
          );
      }
    },
    dispose(bucket, certificate) {
      const gone = this.records.filter((r) => r.bucket === bucket);
      for (const r of gone) this.unserved.add(r.logIndex);
      this.wraps.delete(bucket);
      this.entries.push(
        encodeLogEntry({
          type: 'disposition',
          bucket: bucket as BucketId,
          records: gone.length,
          hash: certificate === undefined ? new Uint8Array(32).fill(9) : sha(certificate),
          size: 100,
          actor: 'officer-device',
          time: T0 + this.entries.length,
        }),
      );
    },
    session() {
      const orgKeys = {
        signingPublicKey: orgKey.publicKey,
        delegation,
        keyManager: chain[0]!.keyManager,
        chain,
      };
      return httpOfficerSession(this.url, ORG, {
        officerIndex: 0,
        officer: {
          profile: { signingKeyFingerprint: keyFingerprint(orgKey.publicKey) },
          org: orgFile,
        },
        orgKeys: () => Promise.resolve(orgKeys),
        serverBuckets: () => Promise.resolve(buckets.filter((b) => !this.unlisted.has(b.bucket))),
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const json = (res: ServerResponse, body: unknown, status = 200) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const checkpointAt = (size: number) =>
    signCheckpoint(
      {
        origin: ORIGIN,
        treeSize: size,
        rootHash: appendEntries(EMPTY_TREE_STATE, org.entries.slice(0, size)).root,
        extensions: [],
      },
      parseSignerKey(logKey.signerKey),
    );
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.pathname}${url.search}`);
    const base = `/v1/orgs/${ORG}`;
    const size = org.signedSize ?? org.entries.length;
    const p = url.pathname;
    if (p === `${base}/log`) {
      json(res, {
        origin: ORIGIN,
        verifierKey: logKey.verifierKey,
        treeSize: size,
        checkpoint: checkpointAt(size),
      });
      return;
    }
    const tile = /\/log\/tile\/entries\/(\d+)(?:\.p\/(\d+))?$/.exec(p);
    if (tile !== null) {
      const n = Number(tile[1]);
      const w = tile[2] === undefined ? 256 : Number(tile[2]);
      res.setHeader('content-type', 'application/octet-stream');
      res.end(Buffer.from(encodeEntryBundle(org.entries.slice(n * 256, n * 256 + w))));
      return;
    }
    const consistency = consistencyAnswerFor(`${p}${url.search}`, org.entries);
    if (consistency !== undefined) {
      json(res, consistency);
      return;
    }
    const wraps = /\/buckets\/([^/]+)\/officer-wraps$/.exec(p);
    if (wraps !== null) {
      const bucket = decodeURIComponent(wraps[1]!);
      json(res, {
        items: [...(org.wraps.get(bucket) ?? new Map<string, Uint8Array>())].map(([recipient, blob]) => ({
          bucketId: bucket,
          recipient,
          blob: Buffer.from(blob).toString('base64url'),
          logIndex: 0,
        })),
      });
      return;
    }
    // No act of the log is a disposition.execute: every disposition entry is unverified.
    if (p === `${base}/audit`) {
      json(res, { acts: [], next: null });
      return;
    }
    if (p === `${base}/archive/records`) {
      const device = url.searchParams.get('device');
      const fromSeq = Number(url.searchParams.get('fromSeq') ?? '0');
      const limit = Math.min(100, Number(url.searchParams.get('limit') ?? '100'));
      const mine = org.records.filter(
        (r) => r.device === device && r.seq >= fromSeq && r.logIndex < size && !org.unserved.has(r.logIndex),
      );
      const page = mine.slice(0, limit);
      json(res, {
        records: page.map((r) => {
          const bytes = org.swapped.get(r.logIndex) ?? r.bytes;
          return {
            record: Buffer.from(bytes).toString('base64url'),
            hash: Buffer.from(sha(bytes)).toString('base64url'),
            logIndex: r.logIndex,
            deviceId: r.device,
            seq: r.seq,
            bucketId: r.bucket,
            receivedAt: T0,
            identityKey: Buffer.alloc(33, 5).toString('base64url'),
            sessionKey: Buffer.from(`session key of ${r.bucket}`).toString('base64url'),
            // Device A signs batches of ten; device B's signatures are not stored.
            batch:
              r.device === DEV_A
                ? { firstSeq: r.seq - (r.seq % 10), signature: `sig-${r.seq - (r.seq % 10)}`, hashes: [] }
                : null,
            proof: [],
          };
        }),
        checkpoint: { treeSize: size, note: checkpointAt(size) },
        next: mine.length > limit ? String(page[page.length - 1]!.seq + 1) : null,
      });
      return;
    }
    json(res, { error: { code: 'NOT_FOUND', message: p } }, 404);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (org as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return org;
}
