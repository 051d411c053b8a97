/**
 * Fetching the gap declarations an export carries (custody-gaps.ts): the org's accepted
 * declarations (`GET …/archive/gaps`, with the signed documents) of the exported devices
 * whose runs fall in or touch each device's exported sequence numbers, each with the
 * inclusion proof of its `archive-gap` entry in the export's latest checkpoint (`GET
 * …/log/proof/inclusion`). Nothing the server says is trusted here: buildExport checks
 * every declaration's signature, proof and place in the sequence before anything is
 * written, as `custos verify` does, so a wrong answer stops the export naming it.
 */
import { parseCheckpoint } from '@custos/core';
import { GAP_DECLARATIONS_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { ConsoleError } from '../console-error.js';
import { isUint } from '../json-values.js';
import type { OfficerSession } from '../officer-session.js';
import { fromBase64Url } from './byte-encoding.js';
import type { ExportGapDeclaration, ExportRecord } from './export-types.js';

type Json = Record<string, unknown>;
const refused = (m: string): ConsoleError => new ConsoleError('SERVER_REFUSED', m);

/** The tree size of a signed checkpoint note (its signature was verified when its records were). */
function treeSizeOf(note: string): number {
  return parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1)).treeSize;
}

/**
 * The accepted gap declarations of `records`' devices in (or touching) their exported
 * sequence numbers, proven in the latest checkpoint the records are proven against.
 * A declaration logged after that checkpoint is left out: no exported record follows it.
 */
export async function fetchGapEvidence(
  session: OfficerSession,
  records: readonly ExportRecord[],
): Promise<ExportGapDeclaration[]> {
  const ranges = new Map<string, { first: number; last: number }>();
  let checkpoint: { note: string; size: number } | undefined;
  const sizes = new Map<string, number>();
  for (const r of records) {
    const { device, seq } = r.header;
    const range = ranges.get(device);
    if (range === undefined) ranges.set(device, { first: seq, last: seq });
    else {
      range.first = Math.min(range.first, seq);
      range.last = Math.max(range.last, seq);
    }
    let size = sizes.get(r.log.checkpoint);
    if (size === undefined) sizes.set(r.log.checkpoint, (size = treeSizeOf(r.log.checkpoint)));
    if (checkpoint === undefined || size > checkpoint.size) checkpoint = { note: r.log.checkpoint, size };
  }
  if (checkpoint === undefined) return [];
  const listing = await session.call('GET', `/v1/orgs/${session.orgId}/archive/gaps`, undefined, {
    maxAnswerBytes: GAP_DECLARATIONS_ANSWER_LIMIT_BYTES,
  });
  if (!Array.isArray(listing.gaps) || typeof listing.truncated !== 'boolean')
    throw refused('the gap declarations answer lacks gaps or truncated');
  if (listing.truncated)
    throw refused(
      "the server lists only part of the organisation's gap declarations, so the export could not show that it carries every one of its devices'; nothing was written",
    );
  const out: ExportGapDeclaration[] = [];
  for (const g of listing.gaps as Json[]) {
    if (
      typeof g.deviceId !== 'string' ||
      !isUint(g.firstSeq) ||
      !isUint(g.lastSeq) ||
      !isUint(g.logIndex) ||
      !isUint(g.receivedAt) ||
      typeof g.declaration !== 'string'
    )
      throw refused(
        'a gap declaration in the answer lacks its device, sequence numbers, log index or document',
      );
    const range = ranges.get(g.deviceId);
    if (range === undefined || g.lastSeq + 1 < range.first || g.firstSeq > range.last + 1) continue;
    if (g.logIndex >= checkpoint.size) continue;
    const document = fromBase64Url(g.declaration);
    if (document === undefined)
      throw refused(`the gap declaration at log index ${g.logIndex} is not base64url`);
    const p = await session.call(
      'GET',
      `/v1/orgs/${session.orgId}/log/proof/inclusion?index=${g.logIndex}&treeSize=${checkpoint.size}`,
    );
    const proof = Array.isArray(p.proof)
      ? p.proof.map((h) => (typeof h === 'string' ? fromBase64Url(h) : undefined))
      : [];
    if (!Array.isArray(p.proof) || proof.some((h) => h === undefined))
      throw refused(`the inclusion proof of log index ${g.logIndex} is not a list of base64url hashes`);
    out.push({
      document,
      log: {
        index: g.logIndex,
        loggedAt: g.receivedAt,
        proof: proof as Uint8Array[],
        checkpoint: checkpoint.note,
      },
    });
  }
  return out;
}
