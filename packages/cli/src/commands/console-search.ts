/** `custos console search QUERY`: blind search of the archive, each hit opened and verified (docs/search.md). */
import { EVENT_KINDS, type EventKind } from '@custos/core';
import {
  officerSearch,
  type OfficerSearchQuery,
  type OfficerSearchResult,
  type VerifiedHit,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { formatAddress } from '../address-book.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { checkNamesOrg, readNamesFile, recordNames } from '../names-file.js';
import { officerParticipant } from '../officer-ids.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';
import { peerText, terminalSafe } from '../terminal-text.js';

const USAGE = `Usage: custos console search [QUERY] --profile DIR [--from DATE] [--to DATE]
         [--participant ADDRESS[,ADDRESS…]] [--conversation ID] [--kind KIND[,KIND…]]
         [--match-case] [--match-diacritics] [--limit N] [--cursor C] [--names FILE]
         [--passphrase-file FILE] [--json]

Finds archived records without showing the server what you search for: the query becomes
blind tokens under each bucket's index key (from your own wrap of the bucket), the server
returns the sealed records that carry them, and this command opens each one, checks the
device's batch signature and the record's inclusion proof in the signed checkpoint, and
keeps only records that match exactly on their text. Results are printed threaded by
conversation, newest page first. A page is one request to the server for every bucket in
range (16 buckets a request), so one search, one audit entry: the buckets and counts only.
A record a revoked device handed in after its revocation is marked HANDED IN: a claim of a
device no longer trusted.

  QUERY                   words (all must occur) and "quoted phrases"; accents are ignored
                          unless --match-diacritics, letter case unless --match-case
  --from DATE, --to DATE  UTC days YYYY-MM-DD, inclusive (--from alone runs to today)
  --participant ADDRESS   a participant's address (USERID@ORGID); several comma-separated
  --conversation ID       one conversation or group id
  --kind KIND             comma-separated, of:
                          ${EVENT_KINDS.join(', ')}
  --limit N               matches per page, 1–100 (default 50)
  --cursor C              the next page, as printed by the previous one
  --names FILE            show senders' names, from an admin's 'custos admin users --names-out'
${OFFICER_OPTIONS_HELP}
See docs/search.md.
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  from: 'string',
  to: 'string',
  participant: 'string',
  conversation: 'string',
  kind: 'string',
  'match-case': 'boolean',
  'match-diacritics': 'boolean',
  limit: 'string',
  cursor: 'string',
  names: 'string',
} as const;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

function utcDay(flag: string, text: string): number {
  const m = DAY.exec(text);
  const t = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== text) {
    throw new UsageError(`--${flag} must be a date YYYY-MM-DD`);
  }
  return t;
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const xs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return xs.length === 0 ? undefined : xs;
}

/** The query the command line describes (exported for tests and `console export`, which may need no term). */
export function searchQueryOf(
  flags: Map<string, string | true>,
  positionals: readonly string[],
  now: number,
  requireTerm = true,
): OfficerSearchQuery {
  const text = positionals.join(' ').trim();
  const from = optionalString(flags, 'from');
  const to = optionalString(flags, 'to');
  if (to !== undefined && from === undefined) throw new UsageError('--to needs --from');
  const range =
    from === undefined
      ? {}
      : {
          from: utcDay('from', from),
          to: (to === undefined ? Math.floor(now / DAY_MS) * DAY_MS : utcDay('to', to)) + DAY_MS - 1,
        };
  if (range.from !== undefined && range.to < range.from) throw new UsageError('--to is before --from');
  const kinds = list(optionalString(flags, 'kind'));
  for (const k of kinds ?? []) {
    if (!(EVENT_KINDS as readonly string[]).includes(k))
      throw new UsageError(`--kind ${k}: not one of ${EVENT_KINDS.join(', ')}`);
  }
  // The CLI's addresses are USERID@ORGID; records name participants ORGID.USERID (client userAddress).
  const participants = list(optionalString(flags, 'participant'))?.map((p) =>
    officerParticipant('participant', p),
  );
  const conversationId = optionalString(flags, 'conversation');
  if (requireTerm && text === '' && participants === undefined && conversationId === undefined) {
    throw new UsageError('give a QUERY, --participant or --conversation');
  }
  return {
    ...(text === '' ? {} : { text }),
    ...(participants === undefined ? {} : { participants }),
    ...(conversationId === undefined ? {} : { conversationId }),
    ...range,
    ...(kinds === undefined ? {} : { kinds: kinds as EventKind[] }),
    matchCase: flags.get('match-case') === true,
    matchDiacritics: flags.get('match-diacritics') === true,
  };
}

/** A record's ORGID.USERID as the CLI's USERID@ORGID (other ids unchanged). */
function address(recordId: string): string {
  const dot = recordId.indexOf('.');
  return dot <= 0
    ? recordId
    : formatAddress({ orgId: recordId.slice(0, dot), userId: recordId.slice(dot + 1) });
}

/** Display names by record address (ORGID.USERID), from --names. */
type Names = ReadonlyMap<string, string>;

/** `Name (USERID@ORGID)` when the names file names the user, else the address; terminal-safe. */
function senderLabel(names: Names | undefined, recordId: string): string {
  const name = names?.get(recordId);
  return name === undefined ? address(recordId) : `${terminalSafe(name)} (${address(recordId)})`;
}

/**
 * What a record's line adds when a revoked device handed it in after its revocation (empty
 * otherwise): a claim of a device no longer trusted (docs/search.md §5).
 */
export function handedInMark(h: VerifiedHit): string {
  return h.afterRevocation === undefined
    ? ''
    : `, HANDED IN after the device's revocation (log ${h.afterRevocation}): a claim of a revoked device`;
}

/** One match as `--json` gives it. */
export function hitJson(h: VerifiedHit, names: Names | undefined) {
  const b = h.body;
  return {
    conversationId: b.conversationId,
    messageId: b.messageId,
    kind: b.kind,
    direction: b.direction,
    sender: address(b.sender),
    ...(names === undefined ? {} : { senderName: names.get(b.sender) ?? null }),
    participants: b.participants.map(address),
    sentAt: b.sentAt,
    ...(b.text === undefined ? {} : { text: b.text }),
    ...(b.edits === undefined ? {} : { edits: b.edits }),
    ...(b.deletes === undefined ? {} : { deletes: b.deletes }),
    ...(b.reactsTo === undefined ? {} : { reactsTo: b.reactsTo, reaction: b.reaction ?? '' }),
    deviceId: h.header.device,
    seq: h.header.seq,
    bucketId: h.bucketId,
    logIndex: h.log.index,
    recordHash: Buffer.from(h.hash).toString('hex'),
    signature: h.signature,
    proof: 'verified',
    handedInAfterRevocation: h.afterRevocation ?? null,
  };
}

function describe(h: VerifiedHit, names: Names | undefined): string {
  const b = h.body;
  const what =
    b.kind === 'message'
      ? (b.text ?? '')
      : b.kind === 'edit'
        ? `(edit of ${b.edits ?? '?'}) ${b.text ?? ''}`
        : b.kind === 'reaction'
          ? `(reaction ${b.reaction ?? ''} to ${b.reactsTo ?? '?'})`
          : b.kind === 'delete'
            ? `(deleted ${b.deletes ?? '?'})`
            : `(${b.kind})`;
  const when = new Date(b.sentAt).toISOString().replace('T', ' ').slice(0, 19);
  return `  ${when}Z  ${senderLabel(names, b.sender)}: ${peerText(what)}  [${h.header.device}#${h.header.seq}, log ${h.log.index}, signature ${h.signature}, proof verified${handedInMark(h)}]`;
}

/**
 * What the search index cannot find, said where an officer would otherwise take "nothing" at
 * its word: records a device sealed before it held its bucket's index key carry no tokens.
 */
export const INDEX_CAVEAT =
  "The search index holds only records sealed after their device got its bucket's index key: " +
  "'custos console completeness' counts the others, and 'custos console export --device' reaches them.";

/** The result as lines for a person. */
export function humanLines(r: OfficerSearchResult, names?: Names): string[] {
  const lines: string[] = [];
  for (const t of r.threads) {
    lines.push(`Conversation ${t.conversationId} (${t.hits.length} match${t.hits.length === 1 ? '' : 'es'})`);
    for (const h of t.hits) lines.push(describe(h, names));
  }
  lines.push(
    `${r.hits.length} match(es) in ${r.threads.length} conversation(s); buckets searched: ${r.bucketsSearched.join(', ') || 'none'}.`,
  );
  if (r.bucketsWithoutWrap.length > 0) {
    lines.push(
      `You hold no wrap of ${r.bucketsWithoutWrap.join(', ')}: another officer must search those buckets.`,
    );
  }
  if (r.next !== null) lines.push(`More: add --cursor ${r.next}`);
  else if (r.hits.length === 0) lines.push(INDEX_CAVEAT);
  return lines;
}

/** Runs `custos console search`. */
export function runConsoleSearch(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console search', usage: USAGE, flags: FLAGS, maxPositionals: 64 },
    args,
    io,
    async (ctx) => {
      const query = searchQueryOf(ctx.flags, ctx.positionals, Date.now());
      const limitText = optionalString(ctx.flags, 'limit');
      const limit = limitText === undefined ? undefined : Number(limitText);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) {
        throw new UsageError('--limit must be 1–100');
      }
      const cursor = optionalString(ctx.flags, 'cursor');
      const namesPath = optionalString(ctx.flags, 'names');
      const namesFile = namesPath === undefined ? undefined : readNamesFile(namesPath);
      const names = namesFile === undefined ? undefined : recordNames(namesFile);
      const r = await withOfficerSession(ctx, (s) => {
        if (namesFile !== undefined) checkNamesOrg(namesFile, namesPath!, s.orgId);
        return officerSearch(s, query, {
          ...(limit === undefined ? {} : { limit }),
          ...(cursor === undefined ? {} : { cursor }),
          onProgress: (m) => ctx.note(`custos console search: ${m}`),
        });
      });
      ctx.result(humanLines(r, names), {
        matches: r.hits.map((h) => hitJson(h, names)),
        threads: r.threads.map((t) => ({
          conversationId: t.conversationId,
          logIndexes: t.hits.map((h) => h.log.index),
        })),
        next: r.next,
        bucketsSearched: r.bucketsSearched,
        bucketsWithoutWrap: r.bucketsWithoutWrap,
        filteredOut: r.filteredOut,
        log: r.log,
      });
      return r.bucketsWithoutWrap.length > 0 && r.hits.length === 0 ? 1 : 0;
    },
  );
}
