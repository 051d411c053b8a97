/**
 * Officer routes over the archive: blind search over several buckets in one request
 * (officers and auditors) and a custodian device's records in sequence order (officers).
 * Both answer with the exact sealed bytes and what the console needs to verify each record
 * without trusting the server: the device's batch signature material (when stored), an
 * RFC 9162 inclusion proof of the record's log entry and the signed checkpoint the proof
 * leads to.
 *
 * Every call is an audit entry (kind, caller, buckets, counts); the tokens are never logged
 * or audited — their meaning is unknown to the server anyway, but their equality is not.
 */
import { inclusionProof, parseRecord, RECORD_HASH_LENGTH } from '@custos/core';
import { Type, type Static } from 'typebox';
import { defineRoute } from '../http/route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../http/schema-helpers.js';
import { throttleOfficer } from '../alerts/officer-throttle.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import { storeTileReader } from '../log-service/tile-reading.js';
import type { StoredArchiveRecord } from '../store/search-stores.js';
import type { Stores } from '../store/stores.js';
import {
  DEFAULT_SEARCH_PAGE,
  MAX_DATE_TOKENS,
  MAX_DEVICE_RECORDS_PAGE,
  MAX_SEARCH_BUCKETS,
  MAX_SEARCH_PAGE,
  MAX_SEARCH_REQUEST_TOKENS,
  MAX_SEARCH_TOKENS,
  SEARCH_BODY_LIMIT_BYTES,
} from './search-defaults.js';
import { runBucketsSearch, type BucketPosition, type BucketSearch } from './search-query.js';

const TOKEN_BYTES = 16;
const Token = Bytes(TOKEN_BYTES, TOKEN_BYTES, 'a blind token (docs/blind-index.md §3)');
const BucketId = Type.String({ pattern: '^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$', description: 'bucket id' });
const Cursor = Type.String({
  pattern: '^(0|[1-9][0-9]{0,15})$',
  description: 'the `next` of the previous page',
});
const OrgParams = Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false });

const BucketSearchIn = Type.Object(
  {
    bucket: BucketId,
    tokens: Type.Array(Token, {
      minItems: 1,
      maxItems: MAX_SEARCH_TOKENS,
      description: "tokens every hit carries, under this bucket's index key",
    }),
    dates: Type.Optional(
      Type.Array(Token, {
        minItems: 1,
        maxItems: MAX_DATE_TOKENS,
        description:
          "day and month tokens of a date range under this bucket's index key; a hit carries at least one",
      }),
    ),
  },
  { additionalProperties: false },
);

const SearchCursor = Type.Object(
  {
    bucket: BucketId,
    before: Type.Optional(
      Type.String({
        pattern: '^(0|[1-9][0-9]{0,15})$',
        description: "a log index in that bucket: hits below it; absent: from the bucket's newest",
      }),
    ),
  },
  { additionalProperties: false, description: 'the `next` of the previous page' },
);

const SearchBody = Type.Object(
  {
    buckets: Type.Array(BucketSearchIn, {
      minItems: 1,
      maxItems: MAX_SEARCH_BUCKETS,
      description: `the buckets to search, newest first (the order of the results), each once; at most ${MAX_SEARCH_TOKENS} + ${MAX_DATE_TOKENS} tokens a bucket and ${MAX_SEARCH_REQUEST_TOKENS} in all`,
    }),
    device: Type.Optional(Id('only records of this custodian device')),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_SEARCH_PAGE, description: `default ${DEFAULT_SEARCH_PAGE}` }),
    ),
    cursor: Type.Optional(SearchCursor),
  },
  { additionalProperties: false },
);

const Batch = Type.Object(
  {
    firstSeq: Type.Integer({ minimum: 0 }),
    signature: Bytes(64, 64, 'XEdDSA batch signature (docs/archive-format.md §6)'),
    hashes: Type.Array(Bytes(32, 32, 'record hash'), { description: 'every record hash the batch signs' }),
  },
  { additionalProperties: false },
);

const SealedRecordOut = Type.Object(
  {
    record: Bytes(1, 1_114_176, 'the exact sealed record (docs/archive-format.md §5)'),
    hash: Bytes(32, 32, 'SHA-256 of the record'),
    logIndex: Type.Integer({ minimum: 0 }),
    deviceId: Type.String(),
    seq: Type.Integer({ minimum: 0 }),
    bucketId: Type.String(),
    receivedAt: Type.Integer({ minimum: 0 }),
    identityKey: Bytes(33, 33, "the device's identity public key"),
    sessionKey: Bytes(
      1,
      512,
      'the wrapped session key the record is sealed under (docs/archive-format.md §4.1)',
    ),
    batch: Type.Union([Batch, Type.Null()], { description: 'null when no batch signature is stored' }),
    proof: Type.Array(Bytes(32, 32, 'hash'), { description: 'RFC 9162 inclusion proof in the checkpoint' }),
  },
  { additionalProperties: false },
);

const CheckpointOut = Type.Object(
  {
    treeSize: Type.Integer({ minimum: 0 }),
    note: Type.String({ description: 'signed checkpoint note' }),
  },
  { additionalProperties: false },
);

const RecordsResponse = Type.Object(
  {
    records: Type.Array(SealedRecordOut),
    checkpoint: CheckpointOut,
    next: Type.Union([Cursor, Type.Null()]),
  },
  { additionalProperties: false },
);

const SearchResponse = Type.Object(
  {
    records: Type.Array(SealedRecordOut, {
      description: 'bucket by bucket in the order asked, newest first in each',
    }),
    checkpoint: CheckpointOut,
    next: Type.Union([SearchCursor, Type.Null()], {
      description:
        "where the next page starts, as the next request's `cursor`: `{bucket, before}` or `{bucket}`; null after the last",
    }),
  },
  { additionalProperties: false },
);

type RecordOut = Static<typeof SealedRecordOut>;
type BatchOut = Static<typeof Batch>;

/** Proofs, batches and identity keys for `records` against the latest checkpoint. */
async function withVerification(
  stores: Stores,
  orgId: OrgId,
  records: readonly StoredArchiveRecord[],
): Promise<{ out: RecordOut[]; checkpoint: { treeSize: number; note: string } }> {
  const cp = await stores.log.latestCheckpoint(orgId);
  if (cp === undefined) {
    if (records.length === 0) return { out: [], checkpoint: { treeSize: 0, note: '' } };
    throw new ServerError('LOG_NOT_FOUND', 'this organisation has no signed checkpoint yet');
  }
  const tiles = storeTileReader(stores.log, orgId);
  const keys = new Map<string, Buffer>();
  const sessionKeys = new Map<string, Buffer>();
  // A page holds many records of one batch: each batch (and its hashes) is read once.
  const batches = new Map<DeviceId, { count: number; out: BatchOut }[]>();
  const batchOf = async (deviceId: DeviceId, seq: number): Promise<BatchOut | null> => {
    let known = batches.get(deviceId);
    if (known === undefined) batches.set(deviceId, (known = []));
    const hit = known.find((b) => seq >= b.out.firstSeq && seq < b.out.firstSeq + b.count);
    if (hit !== undefined) return hit.out;
    const b = await stores.search.batchCovering(orgId, deviceId, seq);
    if (b === undefined) return null;
    // The batch's own hashes: some of its records may have been disposed of since.
    const own = b.hashes;
    const hashes =
      own !== undefined
        ? Array.from({ length: b.count }, (_, i) =>
            own.subarray(i * RECORD_HASH_LENGTH, (i + 1) * RECORD_HASH_LENGTH),
          )
        : (await stores.archive.range(orgId, deviceId, b.firstSeq, b.firstSeq + b.count - 1)).map(
            (x) => x.hash,
          );
    const batch = {
      firstSeq: b.firstSeq,
      signature: encodeBytes(b.signature),
      hashes: hashes.map((h) => encodeBytes(h)),
    };
    known.push({ count: b.count, out: batch });
    return batch;
  };
  const out: RecordOut[] = [];
  for (const r of records) {
    if (r.logIndex >= cp.treeSize) continue; // not yet covered: the next page of a later call has it
    let key = keys.get(r.deviceId);
    if (key === undefined) {
      const d = await stores.devices.get(orgId, r.deviceId);
      if (d === undefined) throw new ServerError('INTERNAL', 'an archived record names an unknown device');
      keys.set(r.deviceId, (key = d.identityKey));
    }
    const batch = await batchOf(r.deviceId, r.seq);
    const skey = parseRecord(r.bytes).header.sessionKeyId;
    const skeyHex = Buffer.from(skey).toString('hex');
    let wrapped = sessionKeys.get(skeyHex);
    if (wrapped === undefined) {
      wrapped = await stores.search.wrappedSessionKey(orgId, skey);
      if (wrapped === undefined)
        throw new ServerError('INTERNAL', 'an archived record names an unknown session key');
      sessionKeys.set(skeyHex, wrapped);
    }
    const proof = await inclusionProof(r.logIndex, cp.treeSize, tiles);
    out.push({
      record: encodeBytes(r.bytes),
      hash: encodeBytes(r.hash),
      logIndex: r.logIndex,
      deviceId: r.deviceId,
      seq: r.seq,
      bucketId: r.bucketId,
      receivedAt: r.receivedAt,
      identityKey: encodeBytes(key),
      sessionKey: encodeBytes(wrapped),
      batch,
      proof: proof.map((h) => encodeBytes(Buffer.from(h))),
    });
  }
  return { out, checkpoint: { treeSize: cp.treeSize, note: cp.note } };
}

/** A device of the caller's org, or DEVICE_NOT_FOUND (another org's device is simply unknown here). */
async function ownDevice(stores: Stores, orgId: OrgId, deviceId: string): Promise<DeviceId> {
  if ((await stores.devices.get(orgId, deviceId as DeviceId)) === undefined) {
    throw new ServerError('DEVICE_NOT_FOUND', 'no such device in this organisation');
  }
  return deviceId as DeviceId;
}

/** A search request decoded and checked against the limits no schema can state. */
interface CheckedSearch {
  readonly buckets: readonly BucketSearch[];
  /** Where the cursor resumes: an index into `buckets` and the position in that bucket. */
  readonly start: number;
  readonly before: number | null;
  /** Query and date tokens of the buckets searched (from `start`), for the audit entry. */
  readonly tokens: number;
}

/**
 * Decodes `body` and refuses, before anything is read or spent, a bucket named twice, more
 * tokens in all than a request may carry, and a cursor outside the request.
 */
function checkedSearch(body: Static<typeof SearchBody>): CheckedSearch {
  const named = new Set<string>();
  const buckets = body.buckets.map((b, i): BucketSearch => {
    if (named.has(b.bucket))
      throw new ServerError('INVALID_REQUEST', `body.buckets.${i}.bucket: named twice`);
    named.add(b.bucket);
    const dates = (b.dates ?? []).map((t, j) => decodeBytes(`body.buckets.${i}.dates.${j}`, t, TOKEN_BYTES));
    return {
      bucketId: b.bucket,
      allOf: b.tokens.map((t, j) => decodeBytes(`body.buckets.${i}.tokens.${j}`, t, TOKEN_BYTES)),
      anyOf: dates.length === 0 ? [] : [dates],
    };
  });
  const total = tokensIn(buckets);
  if (total > MAX_SEARCH_REQUEST_TOKENS) {
    throw new ServerError(
      'INVALID_REQUEST',
      `body.buckets: ${total} tokens in all, at most ${MAX_SEARCH_REQUEST_TOKENS} per request; search the other buckets in a further request`,
    );
  }
  let start = 0;
  let before: number | null = null;
  if (body.cursor !== undefined) {
    const at = body.cursor.bucket;
    start = buckets.findIndex((b) => b.bucketId === at);
    if (start < 0) throw new ServerError('INVALID_REQUEST', 'body.cursor.bucket: not one of body.buckets');
    before = body.cursor.before === undefined ? null : Number(body.cursor.before);
    if (before !== null && !Number.isSafeInteger(before))
      throw new ServerError('INVALID_REQUEST', 'body.cursor.before: beyond 2^53 - 1');
  }
  return { buckets, start, before, tokens: tokensIn(buckets.slice(start)) };
}

/** Query and date tokens of `buckets`: each is one block-list read. */
function tokensIn(buckets: readonly BucketSearch[]): number {
  return buckets.reduce((n, b) => n + b.allOf.length + b.anyOf.flat().length, 0);
}

/** Refuses a bucket this org has not registered: another org's bucket is simply unknown here. */
async function ownBuckets(stores: Stores, orgId: OrgId, buckets: readonly BucketSearch[]): Promise<void> {
  for (const [i, b] of buckets.entries()) {
    if ((await stores.buckets.get(orgId, b.bucketId)) === undefined) {
      throw new ServerError(
        'BUCKET_NOT_FOUND',
        `body.buckets.${i}.bucket: no such bucket in this organisation`,
      );
    }
  }
}

/** POST /v1/orgs/:orgId/archive/search */
export const archiveSearchRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/archive/search',
  summary:
    'Blind search (docs/search.md): over up to ' +
    `${MAX_SEARCH_BUCKETS} buckets, each with its own tokens, the sealed records whose headers carry every ` +
    'token of their bucket (and one of its date tokens), bucket by bucket in the order given, newest first in each, each with its batch signature material and an inclusion proof in the latest ' +
    'checkpoint. Records are searchable about a second after ingest. Officers and auditors; one request is one ' +
    'search: one audit entry naming the buckets, with token and result counts, never the tokens, and one token of the ' +
    'per-device rate limit.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  body: SearchBody,
  bodyLimit: SEARCH_BODY_LIMIT_BYTES,
  response: { status: 200, schema: SearchResponse },
  errors: ['DEVICE_NOT_FOUND', 'BUCKET_NOT_FOUND', 'LOG_NOT_FOUND'],
  async handler({ auth, body, reply }, deps) {
    // The request's shape and limits are checked before it spends a rate-limit token; the token is
    // spent before the store is read, so looking up the up to 16 buckets and the device it names
    // is paid for like a search, even when one of them is unknown (refused then, with no audit entry).
    const search = checkedSearch(body);
    await throttleOfficer(deps, auth, 'search', reply);
    await ownBuckets(deps.stores, auth.orgId, search.buckets);
    const device =
      body.device === undefined ? undefined : await ownDevice(deps.stores, auth.orgId, body.device);
    const page = await runBucketsSearch(deps.stores, auth.orgId, {
      buckets: search.buckets,
      ...(device === undefined ? {} : { deviceId: device }),
      limit: body.limit ?? DEFAULT_SEARCH_PAGE,
      start: search.start,
      before: search.before,
    });
    const { out, checkpoint } = await withVerification(deps.stores, auth.orgId, page.hits);
    const searched = search.buckets.slice(search.start).map((b) => b.bucketId);
    await deps.stores.withTransaction((tx) =>
      deps.audit.record(tx, auth.orgId, {
        kind: 'archive.search',
        actorDeviceId: auth.deviceId,
        subject: auth.orgId,
        // Buckets and counts only: MUST NOT carry the tokens.
        detail: `buckets=${searched.join(',')} tokens=${search.tokens} results=${out.length}`,
        at: deps.clock(),
      }),
    );
    return { records: out, checkpoint, next: page.next === null ? null : cursorOut(page.next) };
  },
});

/** The `next` of a search answer. */
function cursorOut(at: BucketPosition): Static<typeof SearchCursor> {
  return at.before === null ? { bucket: at.bucketId } : { bucket: at.bucketId, before: String(at.before) };
}

/** GET /v1/orgs/:orgId/archive/records */
export const deviceRecordsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/archive/records',
  summary:
    "A custodian device's archived records from sequence number `fromSeq`, ascending (export by custodian), " +
    'with the same verification material as search. Officers only; audited with the device and the count.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  query: Type.Object(
    {
      device: Id('custodian device'),
      fromSeq: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'default 0' })),
      limit: Type.Optional(
        Type.String({
          pattern: '^[1-9][0-9]{0,2}$',
          description: `1–${MAX_DEVICE_RECORDS_PAGE}, default 100`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: RecordsResponse },
  errors: ['DEVICE_NOT_FOUND', 'LOG_NOT_FOUND'],
  async handler({ auth, query, reply }, deps) {
    await throttleOfficer(deps, auth, 'read', reply);
    const limit = Number(query.limit ?? '100');
    if (limit > MAX_DEVICE_RECORDS_PAGE) {
      throw new ServerError('INVALID_REQUEST', `query.limit: at most ${MAX_DEVICE_RECORDS_PAGE}`);
    }
    const fromSeq = Number(query.fromSeq ?? '0');
    if (!Number.isSafeInteger(fromSeq))
      throw new ServerError('INVALID_REQUEST', 'query.fromSeq: beyond 2^53 - 1');
    const device = await ownDevice(deps.stores, auth.orgId, query.device);
    const rows = await deps.stores.search.deviceRecords(auth.orgId, device, fromSeq, limit + 1);
    const { out, checkpoint } = await withVerification(deps.stores, auth.orgId, rows.slice(0, limit));
    await deps.stores.withTransaction((tx) =>
      deps.audit.record(tx, auth.orgId, {
        kind: 'archive.read',
        actorDeviceId: auth.deviceId,
        subject: device,
        detail: `results=${out.length}`,
        at: deps.clock(),
      }),
    );
    // Records not yet in a checkpoint are left for a later call, so the cursor stops before them.
    const last = out[out.length - 1];
    const more = rows.length > limit || out.length < Math.min(rows.length, limit);
    return {
      records: out,
      checkpoint,
      next: more ? String(last === undefined ? fromSeq : last.seq + 1) : null,
    };
  },
});
