/**
 * fetchExportRecords by custodian device, against a fake server holding a real test archive
 * (core-sealed records, libsignal batch signatures, a signed checkpoint): pages until the
 * server says done, filters exactly, fetches each attachment once (a missing blob is named,
 * a wrong one stops), refuses records without a batch signature, a proof that does not
 * verify, another org's participant, and a cursor that does not advance.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosError, type AttachmentRef } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { auditEntriesFor, auditListingFor, consistencyAnswerFor } from '../search/enrolment-test-support.js';
import type { ServerHit } from '../search/verify-hit.js';
import { isExportError } from './export-error.js';
import { body, buildTestArchive, ORG, T0, type TestArchive } from './export-test-support.js';
import { fetchExportRecords, type ExportQuery } from './export-fetch.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
/** "Encryption" of the fake blobs: the bytes reversed (the orchestration is under test, not AES). */
const BLOB = new Uint8Array(Buffer.from('attachment ciphertext'));
const BLOB_ID = Buffer.from(sha(BLOB)).toString('hex');
const open = (blob: Uint8Array, ref: AttachmentRef): Uint8Array => {
  if (Buffer.compare(sha(blob), ref.digest) !== 0) throw new Error('digest mismatch');
  return new Uint8Array(Buffer.from(blob).reverse());
};

interface Server {
  session: OfficerSession;
  requests: string[];
}

describe('fetchExportRecords (by device)', () => {
  let archive: TestArchive;
  let hits: ServerHit[];
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-export-fetch-'));
    const att: AttachmentRef = {
      blobId: BLOB_ID,
      key: new Uint8Array(32).fill(3),
      digest: sha(BLOB),
      size: BLOB.length,
      contentType: 'text/plain',
      fileName: 'a.txt',
    };
    archive = await buildTestArchive(
      Array.from({ length: 7 }, (_, i) => ({
        device: 'dev-a',
        // Record 0 lists its attachment's blob in its header, record 2 does not (an older client).
        ...(i === 0 ? { blobIds: [BLOB_ID] } : {}),
        body: body({
          messageId: `m-${i}`,
          text: i % 2 === 0 ? `budget item ${i}` : `lunch ${i}`,
          sentAt: T0 + i,
          attachments: i === 0 || i === 2 ? [att] : [],
        }),
      })),
      3,
    );
    const sessionKey = archive.sessionKeys.get('dev-a')!;
    hits = archive.input.records.map((r) => ({
      record: b64(r.sealed),
      hash: b64(r.hash),
      logIndex: r.log.index,
      deviceId: r.header.device,
      seq: r.header.seq,
      bucketId: r.header.bucket,
      receivedAt: r.log.loggedAt,
      identityKey: b64(r.batch.identityKey),
      sessionKey: b64(sessionKey),
      batch: {
        firstSeq: r.batch.firstSeq,
        signature: b64(r.batch.signature),
        hashes: r.batch.hashes.map(b64),
      },
      proof: r.log.proof.map(b64),
    }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fake server: the records route in pages of `page`, blobs by id; `edit` changes answers. */
  function server(
    o: {
      page?: number;
      edit?: (h: ServerHit) => ServerHit;
      blobs?: Map<string, Uint8Array>;
      stuck?: boolean;
      /** Rows of `GET …/archive/gaps`, and whether the server cut the list. */
      gaps?: Record<string, unknown>[];
      gapsTruncated?: boolean;
    } = {},
  ): Server {
    const requests: string[] = [];
    const page = o.page ?? 2;
    const note = archive.input.records[0]!.log.checkpoint;
    const profile = mkdtempSync(join(dir, 'profile-'));
    // The enrolment acts are logged after the records: one log, as the profile's checks require.
    const enrolments = [{ deviceId: 'dev-a', identityKey: archive.input.records[0]!.batch.identityKey }];
    const session = {
      orgId: ORG,
      dir: profile,
      api: {
        call: (_method: string, path: string) =>
          Promise.resolve(
            consistencyAnswerFor(path, auditEntriesFor(ORG, enrolments, archive.entries)) ?? {},
          ),
      },
      call: (method: string, path: string) => {
        requests.push(`${method} ${path}`);
        if (path === `/v1/orgs/${ORG}/log`) return Promise.resolve({ ...archive.input.log });
        if (path.startsWith(`/v1/orgs/${ORG}/audit`))
          return Promise.resolve(
            auditListingFor(
              ORG,
              { origin: archive.input.log.origin, signerKey: archive.signerKey },
              enrolments,
              archive.entries,
            ),
          );
        if (path === `/v1/orgs/${ORG}/archive/gaps`)
          return Promise.resolve({ gaps: o.gaps ?? [], truncated: o.gapsTruncated ?? false });
        const u = new URL(`http://x${path}`);
        if (u.pathname === `/v1/orgs/${ORG}/log/proof/inclusion`)
          return Promise.resolve({
            index: Number(u.searchParams.get('index')),
            treeSize: Number(u.searchParams.get('treeSize')),
            proof: [b64(new Uint8Array(32).fill(9))],
          });
        const from = Number(u.searchParams.get('fromSeq'));
        const all = hits.filter((h) => h.deviceId === u.searchParams.get('device') && h.seq >= from);
        const records = all.slice(0, page).map(o.edit ?? ((h) => h));
        const more = all.length > page;
        return Promise.resolve({
          records,
          checkpoint: { treeSize: 7, note },
          next: o.stuck === true ? String(from) : more ? String(records[records.length - 1]!.seq + 1) : null,
        });
      },
      download: (path: string) => {
        requests.push(`GET ${path}`);
        const b = (o.blobs ?? new Map([[BLOB_ID, BLOB]])).get(path.slice('/v1/blobs/'.length));
        if (b === undefined)
          return Promise.reject(
            new ConsoleError('SERVER_REFUSED', 'GET /v1/blobs: BLOB_NOT_FOUND', {
              serverCode: 'BLOB_NOT_FOUND',
            }),
          );
        return Promise.resolve(b);
      },
    } as unknown as OfficerSession;
    return { session, requests };
  }

  const run = (s: Server, q: Partial<ExportQuery> = {}) =>
    fetchExportRecords(
      s.session,
      { devices: ['dev-a'], ...q },
      { openAttachment: open, bucketKey: () => Promise.resolve(archive.bucketKey) },
    );

  it('pages until done, opens every record, fetches each attachment once', async () => {
    const s = server();
    const counts: number[] = [];
    const r = await fetchExportRecords(
      s.session,
      { devices: ['dev-a'] },
      {
        openAttachment: open,
        bucketKey: () => Promise.resolve(archive.bucketKey),
        onProgress: (c) => counts.push(c.opened),
      },
    );
    expect(r.records.map((x) => x.body.messageId)).toEqual(Array.from({ length: 7 }, (_, i) => `m-${i}`));
    expect(s.requests.filter((q) => q.includes('/archive/records'))).toHaveLength(4);
    expect(s.requests.filter((q) => q.includes('/v1/blobs/'))).toHaveLength(1);
    expect(r.attachmentsReferenced).toBe(2);
    expect(r.attachmentsMissing).toEqual([]);
    // The record whose header does not list the blob its body names is reported.
    expect(r.attachmentsNotListed).toEqual([{ record: 'dev-a#2', blobIds: [BLOB_ID] }]);
    expect(r.records[0]!.attachments?.get(BLOB_ID)).toEqual(new Uint8Array(Buffer.from(BLOB).reverse()));
    expect(r.log).toEqual(archive.input.log);
    expect(counts[counts.length - 1]).toBe(7);
  });

  it("carries the devices' gap declarations in or beside the exported run, proven in the records' checkpoint", async () => {
    // The fetch only gathers; buildExport checks each signature and proof (custody-gaps.test.ts).
    const doc = new Uint8Array([1, 2, 3]);
    const row = (deviceId: string, firstSeq: number, lastSeq: number, logIndex: number) => ({
      deviceId,
      firstSeq,
      lastSeq,
      reason: 'server-restored',
      logIndex,
      receivedAt: T0 + 9,
      declaration: b64(doc),
    });
    const s = server({
      gaps: [
        row('dev-a', 7, 9, 5), // touches the exported 0…6
        row('dev-a', 9, 12, 6), // beyond it
        row('dev-b', 0, 2, 4), // another device
        row('dev-a', 7, 9, 7), // logged after the checkpoint (size 7)
      ],
    });
    const r = await run(s);
    const note = archive.input.records[0]!.log.checkpoint;
    expect(r.gapDeclarations).toEqual([
      {
        document: doc,
        log: { index: 5, loggedAt: T0 + 9, proof: [new Uint8Array(32).fill(9)], checkpoint: note },
      },
    ]);
    expect(s.requests.filter((q) => q.includes('/log/proof/inclusion'))).toEqual([
      `GET /v1/orgs/${ORG}/log/proof/inclusion?index=5&treeSize=7`,
    ]);
    await expect(run(server({ gapsTruncated: true }))).rejects.toSatisfy(
      (e) => e instanceof ConsoleError && /only part of the organisation's gap declarations/.test(e.message),
    );
  });

  it('filters exactly on the plaintext', async () => {
    const r = await run(server(), { text: 'budget', kinds: ['message'] });
    expect(r.records.map((x) => x.body.text)).toEqual([
      'budget item 0',
      'budget item 2',
      'budget item 4',
      'budget item 6',
    ]);
    expect(r.filteredOut).toBe(3);
  });

  it('names a blob the server no longer holds, and stops on one with other bytes', async () => {
    const gone = await run(server({ blobs: new Map() }));
    expect(gone.attachmentsMissing).toEqual([BLOB_ID]);
    expect(gone.records[0]!.attachments).toBeUndefined();
    const wrong = new Map([[BLOB_ID, new Uint8Array([1, 2, 3])]]);
    await expect(run(server({ blobs: wrong }))).rejects.toSatisfy(
      (e) => isExportError(e, 'EXPORT_INVALID_INPUT') && /does not match/.test(e.message),
    );
  });

  it('refuses a record without a batch signature', async () => {
    const s = server({ edit: (h) => (h.seq === 4 ? { ...h, batch: null } : h) });
    await expect(run(s)).rejects.toSatisfy(
      (e) => isExportError(e, 'RECORD_NOT_SIGNED') && e.message.includes('dev-a#4'),
    );
  });

  it('refuses a proof that does not verify', async () => {
    const flip = (p: string) => {
      const b = Buffer.from(p, 'base64url');
      b[0] = b[0]! ^ 1;
      return b.toString('base64url');
    };
    const s = server({
      edit: (h) => (h.seq === 3 ? { ...h, proof: [flip(h.proof[0]!), ...h.proof.slice(1)] } : h),
    });
    await expect(run(s)).rejects.toSatisfy((e) => e instanceof CustosError && e.code === 'INVALID_PROOF');
  });

  it("refuses another organisation's participant before asking the server anything", async () => {
    const s = server();
    await expect(run(s, { participants: ['other-org.alice'] })).rejects.toSatisfy(
      (e) => e instanceof ConsoleError && e.code === 'INVALID_OPTIONS',
    );
    expect(s.requests).toEqual([]);
  });

  it('stops on a cursor that does not advance', async () => {
    await expect(run(server({ stuck: true }))).rejects.toSatisfy(
      (e) => e instanceof ConsoleError && /does not advance/.test(e.message),
    );
  });
});
