/**
 * `custos sync`: fetch and handle every queued envelope, print the new messages, events
 * and warnings, then upload the archive queue and verify receipts for what is uploaded
 * (waiting briefly for the log's next checkpoint, unless --no-wait), warning of gap
 * declarations the server accepted, and record batches it acknowledged, and has not logged
 * long after (archive status: overdue).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  revocationOf,
  type CustosClient,
  type MessageEvent,
  type ProofRound,
  type Revocation,
} from '@custos/client';
import { optionalString } from '../command-flags.js';
import type { CliIo } from '../cli.js';
import { AddressBook } from '../address-book.js';
import { handInJson, handInWindowJson, revokedLines } from '../hand-in-text.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import {
  archiveNoticeLines,
  describeEvent,
  describeUnnamed,
  eventJson,
  shortId,
  unnamedSenders,
} from '../message-format.js';
import { overdueBatches, overdueBatchText, overdueGaps, overdueGapText } from '../awaiting-proof-text.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';
import {
  describeWarning,
  pendingSendJson,
  pendingSendLines,
  takeNewWarnings,
  warningJson,
} from '../warning-display.js';

/** Longest wait for a checkpoint to cover uploaded records (the server signs one every ~250 ms). */
export const PROOF_WAIT_MS = 15_000;
/** Pause between proof rounds while waiting. */
const PROOF_POLL_MS = 300;

const USAGE = `Usage: custos sync [--no-wait] [--save-attachments DIR] [--profile DIR]
                   [--passphrase-file FILE] [--json]

Fetches new messages and events from the server and prints them, shows warnings (identity
changes, refused envelopes), uploads this device's archive records and verifies the log's
receipts for them. On a revoked device it uploads what its archive queue still holds (the
server takes it for a while after the revocation), says what it could not, and exits 1.
Message ids are shown as #abcd1234 ('custos send --reply abcd1234 …').

  --no-wait               do not wait for a checkpoint to cover records just uploaded
  --save-attachments DIR  download the new messages' files into DIR (each checked against
                          its digest)
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, 'no-wait': 'boolean', 'save-attachments': 'string' } as const;

/** A file name safe to write: the sender's name without folders or control characters. */
export function safeFileName(name: string | undefined, fallback: string): string {
  const clean = [...basename(name ?? '')]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u007f' || ch === '/' || ch === '\\' ? '_' : ch))
    .join('')
    .replace(/^\.+/, '');
  return clean === '' ? fallback : clean;
}

/** Downloads (digest-checked by the SDK) and writes each attachment of `events` into `dir`. */
async function saveAttachments(
  client: CustosClient,
  events: readonly MessageEvent[],
  dir: string,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: string[] = [];
  for (const e of events)
    for (const [i, a] of (e.content.attachments ?? []).entries()) {
      const path = join(dir, `${shortId(e.content.id)}-${i}-${safeFileName(a.fileName, 'attachment')}`);
      writeFileSync(path, await client.downloadAttachment(a), { mode: 0o600 });
      out.push(path);
    }
  return out;
}

/** What {@link flushAndVerify} did, and what its last round left waiting. */
export interface FlushResult {
  readonly uploaded: number;
  readonly verified: number;
  /** Records and accepted declarations not proven yet (client ProofRound `waiting`). */
  readonly waiting: number;
  /** Of `waiting`, declarations not in the log GAP_PROOF_WAIT_MS after their acceptance. */
  readonly unlogged: number;
  /** Record batches not in the log GAP_PROOF_WAIT_MS after their acknowledgement. */
  readonly unloggedBatches: number;
  /** Of `waiting`, the records of `unloggedBatches`. */
  readonly unloggedRecords: number;
}

/**
 * Uploads the queue and verifies proofs, polling until nothing worth waiting for waits or
 * `waitMs` passes. A gap declaration the server accepted, or a record batch it acknowledged,
 * but still has not logged GAP_PROOF_WAIT_MS after (client `unlogged`, `unloggedBatches`) is
 * not worth waiting for: each round checks it once, and this sync moves on — a server that
 * never logs one made every sync wait `waitMs`.
 */
export async function flushAndVerify(client: CustosClient, waitMs: number): Promise<FlushResult> {
  const first = await client.flushArchive();
  let uploaded = first.uploaded;
  const proofs = first.proofs;
  let verified = proofs.verified;
  const end = Date.now() + waitMs;
  let last: ProofRound = proofs;
  while (last.waiting > last.unlogged + last.unloggedRecords && Date.now() < end) {
    await new Promise((r) => setTimeout(r, PROOF_POLL_MS));
    const next = await client.flushArchive();
    uploaded += next.uploaded;
    verified += next.proofs.verified;
    last = next.proofs;
  }
  const { waiting, unlogged, unloggedBatches, unloggedRecords } = last;
  return { uploaded, verified, waiting, unlogged, unloggedBatches, unloggedRecords };
}

/**
 * A revoked device's sync: hands in what its archive queue holds (the server takes it for a
 * while after the revocation) and says what it uploaded and what it could not; exit 1.
 */
async function handInRevoked(ctx: CommandContext, client: CustosClient, r: Revocation): Promise<number> {
  ctx.note('custos sync: this device has been revoked; uploading what its archive queue holds…');
  const h = await client.handInArchive();
  ctx.result(revokedLines(r, h, 'sync'), {
    revoked: { revokedAt: r.revokedAt, ...handInWindowJson(r.handInUntil) },
    archive: handInJson(h, 'sync'),
  });
  return 1;
}

async function sync(ctx: CommandContext): Promise<number | void> {
  // Events that brought a conversation's first notice from an org, receipts included: the
  // delivery receipt for a first message tells its sender before any message comes back.
  const noticed: MessageEvent[] = [];
  const onArchiveNotice = (e: MessageEvent): void => void noticed.push(e);
  return withProfile(
    ctx,
    async (client): Promise<number | void> => {
      const book = new AddressBook(client.settings);
      let events: MessageEvent[];
      try {
        events = await client.sync();
      } catch (e) {
        const revocation = revocationOf(e);
        if (revocation === undefined) throw e;
        return handInRevoked(ctx, client, revocation);
      }
      const warnings = takeNewWarnings(client);
      const saveDir = optionalString(ctx.flags, 'save-attachments');
      const saved = saveDir === undefined ? [] : await saveAttachments(client, events, saveDir);
      const archive = await flushAndVerify(client, ctx.flags.has('no-wait') ? 0 : PROOF_WAIT_MS);
      const status = client.archiveStatus();
      const overdue = overdueGaps(status.gapsAwaitingProof);
      const overdueUploads = overdueBatches(status.batchesAwaitingProof);
      const checkpointWait = archive.waiting - archive.unlogged - archive.unloggedRecords;
      const unnamed = unnamedSenders(events, book, client.contacts());
      const notices = archiveNoticeLines(
        [...events, ...noticed],
        book,
        client.profile.orgId,
        (id) => client.group(id)?.name,
      );
      // Who sent each stored message: an edit of someone else's shows as ignored.
      const senders = new Map(client.messages().map((m) => [m.id, m.from]));
      const pending = client.pendingSends();
      const lines = [
        ...(events.length === 0
          ? ['No new messages.']
          : events.map((e) =>
              describeEvent(e, book, {
                groupNameOf: (id) => client.group(id)?.name,
                senderOf: (id) => senders.get(id),
                self: client.me,
              }),
            )),
        ...notices,
        ...saved.map((f) => `Saved ${f}`),
        ...unnamed.map(describeUnnamed),
        ...warnings.flatMap((w) => describeWarning(w, book)),
        ...pendingSendLines(pending, book, (id) => client.group(id)?.name),
        status.required
          ? `Archive: ${archive.uploaded} uploaded, ${archive.verified} receipts verified` +
            `${checkpointWait > 0 ? `, ${checkpointWait} waiting for a checkpoint` : ''}` +
            `${archive.unloggedBatches > 0 ? `, ${archive.unloggedBatches} batch(es) of records acknowledged but not in the log yet` : ''}` +
            `${archive.unlogged > 0 ? `, ${archive.unlogged} declaration(s) of lost records not in the log yet` : ''}; ${status.queued} in the queue.`
          : `Archive: none — ${client.profile.orgName} does not archive (archive policy none).`,
        ...overdue.map(
          (g) =>
            `WARNING: archive declaration overdue: ${overdueGapText(g)} ('custos archive status'; tell your records officer).`,
        ),
        ...overdueUploads.map(
          (b) =>
            `WARNING: archive upload overdue: ${overdueBatchText(b)} ('custos archive status'; tell your records officer).`,
        ),
      ];
      ctx.result(lines, {
        events: events.map((e) => eventJson(e, book)),
        saved,
        warnings: warnings.map((w) => warningJson(w, book)),
        pendingSends: pending.map(pendingSendJson),
        unnamed,
        archiveNotices: notices,
        archive: {
          ...archive,
          queued: status.queued,
          receipts: status.receipts,
          archivePolicy: status.archivePolicy,
          overdueDeclarations: overdue,
          overdueBatches: overdueUploads,
        },
      });
    },
    { onArchiveNotice },
  );
}

/** Runs `custos sync`. */
export function runSync(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'sync', usage: USAGE, flags: FLAGS, maxPositionals: 0 }, args, io, sync);
}
