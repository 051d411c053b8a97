/**
 * The public read side of each org's log, for devices, auditors and witnesses (no account,
 * rate limited per address): checkpoint and history, proofs, receipts, and C2SP
 * tlog-tiles tiles and entry bundles. Everything served is covered by a signed checkpoint.
 */
import {
  consistencyProof,
  CustosError,
  formatReceipt,
  inclusionProof,
  parseTilePath,
  TILE_WIDTH,
} from '@custos/core';
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import type { OrgId } from '../../ids.js';
import {
  CHECKPOINT_PAGE_MAX,
  IMMUTABLE_CACHE_CONTROL,
  SHORT_CACHE_CONTROL,
} from '../../log-service/log-defaults.js';
import { entryBundleBytes, storeTileReader, tileBytes } from '../../log-service/tile-reading.js';
import type { StoredCheckpoint } from '../../store/log-stores.js';
import type { Stores } from '../../store/stores.js';
import { defineRoute, PUBLIC } from '../route-def.js';
import { Bytes, encodeBytes, Id } from '../schema-helpers.js';
import { OrgParams } from './common-schemas.js';

const Count = (description: string) => Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description });

function count(field: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ServerError('INVALID_REQUEST', `${field}: beyond 2^53 - 1`);
  return n;
}

async function latest(stores: Stores, orgId: OrgId): Promise<StoredCheckpoint> {
  const cp = await stores.log.latestCheckpoint(orgId);
  if (cp === undefined)
    throw new ServerError('LOG_NOT_FOUND', 'this organisation has no signed checkpoint yet');
  return cp;
}

/** Maps core's "that size or index is not in this tree" to a 400 naming it. */
function asRequestError(e: unknown): never {
  if (e instanceof CustosError) throw new ServerError('INVALID_REQUEST', e.message, { cause: e });
  throw e;
}

const Proof = Type.Array(Bytes(32, 32, 'hash'), { description: 'RFC 9162 proof hashes' });

/** GET /v1/orgs/:orgId/log */
export const logInfoRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log',
  summary: "The log's origin, verifier key (signed-note format) and latest signed checkpoint.",
  access: PUBLIC,
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        origin: Type.String(),
        verifierKey: Type.String({ description: '<origin>+<key id>+<base64 key>' }),
        treeSize: Type.Integer({ minimum: 0 }),
        checkpoint: Type.String({ description: 'the signed checkpoint note' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params }, deps) {
    const orgId = params.orgId as OrgId;
    const tree = await deps.stores.log.tree(orgId);
    if (tree === undefined)
      throw new ServerError(
        'LOG_NOT_FOUND',
        (await deps.stores.orgs.get(orgId)) === undefined
          ? 'no organisation with this id on this server: check the org id and the server URL'
          : 'this organisation has no log yet: its first checkpoint is signed within a second of its creation',
      );
    const cp = await latest(deps.stores, orgId);
    return { origin: tree.origin, verifierKey: tree.verifierKey, treeSize: cp.treeSize, checkpoint: cp.note };
  },
});

/** GET /v1/orgs/:orgId/log/checkpoint */
export const checkpointRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/checkpoint',
  summary: 'The latest signed checkpoint (C2SP tlog-checkpoint), as text/plain.',
  access: PUBLIC,
  params: OrgParams,
  response: { status: 200, schema: Type.String({ description: 'signed note' }) },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params, reply }, deps) {
    const cp = await latest(deps.stores, params.orgId as OrgId);
    void reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', SHORT_CACHE_CONTROL);
    return cp.note;
  },
});

/** GET /v1/orgs/:orgId/log/checkpoints */
export const checkpointHistoryRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/checkpoints',
  summary:
    'Signed checkpoints in ascending tree size after `after` (exclusive), for auditors replaying history.',
  access: PUBLIC,
  params: OrgParams,
  query: Type.Object(
    {
      after: Type.Optional(Count('tree size (exclusive), default 0')),
      limit: Type.Optional(
        Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `1–${CHECKPOINT_PAGE_MAX}` }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        checkpoints: Type.Array(
          Type.Object(
            { treeSize: Type.Integer({ minimum: 0 }), note: Type.String() },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ params, query }, deps) {
    const limit = Math.min(Number(query.limit ?? CHECKPOINT_PAGE_MAX), CHECKPOINT_PAGE_MAX);
    const after = query.after === undefined ? 0 : count('query.after', query.after);
    const rows = await deps.stores.log.checkpoints(params.orgId as OrgId, after, limit);
    return { checkpoints: rows.map((c) => ({ treeSize: c.treeSize, note: c.note })) };
  },
});

/** GET /v1/orgs/:orgId/log/tile/* */
export const tileRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/tile/*',
  summary:
    'C2SP tlog-tiles: `tile/<L>/<N>[.p/<W>]` (hash tiles) and `tile/entries/<N>[.p/<W>]` (entry bundles) under ' +
    'the log prefix `/v1/orgs/:orgId/log/`. Full tiles are immutable and cached for a year.',
  access: PUBLIC,
  params: Type.Object(
    {
      orgId: Id('organisation id'),
      '*': Type.String({ maxLength: 128, description: 'tile path after tile/' }),
    },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: Type.Unknown({ description: 'application/octet-stream' }) },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params, reply }, deps) {
    const orgId = params.orgId as OrgId;
    let parsed;
    try {
      parsed = parseTilePath(`tile/${params['*']}`);
    } catch (e) {
      throw new ServerError('NOT_FOUND', 'Not found.', { cause: e });
    }
    const cp = await latest(deps.stores, orgId);
    const width = parsed.kind === 'tile' ? parsed.tile.width : parsed.bundle.width;
    const bytes =
      parsed.kind === 'tile'
        ? await tileBytes(deps.stores.log, orgId, parsed.tile, cp.treeSize)
        : await entryBundleBytes(deps.stores.log, orgId, parsed.bundle.index, width, cp.treeSize);
    if (bytes === undefined) throw new ServerError('LOG_NOT_FOUND', 'no such tile in the latest checkpoint');
    void reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', width === TILE_WIDTH ? IMMUTABLE_CACHE_CONTROL : SHORT_CACHE_CONTROL);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
});

/** GET /v1/orgs/:orgId/log/proof/inclusion */
export const inclusionProofRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/proof/inclusion',
  summary:
    'Inclusion proof of the entry at `index` in the tree of `treeSize` (default and maximum: the latest ' +
    "checkpoint). Entries are addressed by index only: ingest returns each record's index, exports carry them.",
  access: PUBLIC,
  params: OrgParams,
  query: Type.Object(
    {
      index: Count('leaf index'),
      treeSize: Type.Optional(Count('tree size, at most the latest checkpoint')),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      { index: Type.Integer({ minimum: 0 }), treeSize: Type.Integer({ minimum: 0 }), proof: Proof },
      { additionalProperties: false },
    ),
  },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params, query }, deps) {
    const orgId = params.orgId as OrgId;
    const cp = await latest(deps.stores, orgId);
    const treeSize = query.treeSize === undefined ? cp.treeSize : count('query.treeSize', query.treeSize);
    if (treeSize > cp.treeSize) {
      throw new ServerError(
        'INVALID_REQUEST',
        `query.treeSize: beyond the latest checkpoint (${cp.treeSize})`,
      );
    }
    const index = count('query.index', query.index);
    if (index >= treeSize)
      throw new ServerError('LOG_NOT_FOUND', `index ${index} is not below tree size ${treeSize}`);
    const proof = await inclusionProof(index, treeSize, storeTileReader(deps.stores.log, orgId)).catch(
      asRequestError,
    );
    return { index, treeSize, proof: proof.map((h) => encodeBytes(Buffer.from(h))) };
  },
});

/** GET /v1/orgs/:orgId/log/proof/consistency */
export const consistencyProofRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/proof/consistency',
  summary:
    'Consistency proof from tree size `from` (≥ 1) to `to` (default and maximum: the latest checkpoint).',
  access: PUBLIC,
  params: OrgParams,
  query: Type.Object(
    { from: Count('first tree size'), to: Type.Optional(Count('second tree size')) },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      { from: Type.Integer({ minimum: 0 }), to: Type.Integer({ minimum: 0 }), proof: Proof },
      { additionalProperties: false },
    ),
  },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params, query }, deps) {
    const orgId = params.orgId as OrgId;
    const cp = await latest(deps.stores, orgId);
    const from = count('query.from', query.from);
    const to = query.to === undefined ? cp.treeSize : count('query.to', query.to);
    if (to > cp.treeSize)
      throw new ServerError('INVALID_REQUEST', `query.to: beyond the latest checkpoint (${cp.treeSize})`);
    const proof = await consistencyProof(from, to, storeTileReader(deps.stores.log, orgId)).catch(
      asRequestError,
    );
    return { from, to, proof: proof.map((h) => encodeBytes(Buffer.from(h))) };
  },
});

/** GET /v1/orgs/:orgId/log/receipts/:index */
export const receiptRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/log/receipts/:index',
  summary:
    'A c2sp.org/tlog-proof@v1 receipt (text/plain) for the entry at `index`: its inclusion proof to the latest ' +
    'signed checkpoint, which it embeds.',
  access: PUBLIC,
  params: Type.Object(
    { orgId: Id('organisation id'), index: Count('leaf index') },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: Type.String({ description: 'tlog-proof@v1 text' }) },
  errors: ['LOG_NOT_FOUND'],
  async handler({ params, reply }, deps) {
    const orgId = params.orgId as OrgId;
    const cp = await latest(deps.stores, orgId);
    const index = count('params.index', params.index);
    if (index >= cp.treeSize) {
      throw new ServerError(
        'LOG_NOT_FOUND',
        `entry ${index} is not yet covered by a checkpoint (size ${cp.treeSize})`,
      );
    }
    const proof = await inclusionProof(index, cp.treeSize, storeTileReader(deps.stores.log, orgId));
    void reply.header('content-type', 'text/plain; charset=utf-8');
    return formatReceipt({ index, proof, checkpoint: cp.note });
  },
});
