/** `custos console hold create|list|release`: legal holds that survive retention expiry and disposition (docs/officers.md). */
import {
  listHolds,
  placeHold,
  releaseHold,
  type HoldCriterion,
  type HoldListing,
  type ListedHold,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { fullId, optionalString, UsageError } from '../command-flags.js';
import { runSubcommands, type Subcommand } from '../command-runner.js';
import { checkNamesOrg, readNamesFile } from '../names-file.js';
import { officerUser } from '../officer-ids.js';
import { terminalSafe } from '../terminal-text.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console hold create (--custodian USER | --conversation ID | --from DATE --to DATE
                                   | --query Q) --matter NAME --profile DIR
       custos console hold list [--names FILE] --profile DIR
       custos console hold release HOLD --reason TEXT --profile DIR
       (each also takes --passphrase-file FILE and --json)

A legal hold keeps every record it covers through retention expiry and disposition until it
is released. Placing and releasing are entries in the org's log; a release is signed by the
officer who releases it.

  --custodian USER        every record of the user's devices, present and future (USERID or
                          USERID@ORGID)
  --conversation ID       every record of one conversation or group, in buckets you hold a wrap of
  --from/--to DATE        UTC days YYYY-MM-DD, inclusive: records the server received in that range
                          (with one day before and 30 days after, for clocks and late uploads)
  --query Q               records containing every word of Q, in the buckets you hold a wrap of
  --matter NAME           the matter: stored on the server in clear, only its hash goes into the
                          log; use a matter code rather than a descriptive name
  list                    every hold, active and released, with who placed and released it (user
                          id, and the device the log names); --names FILE (an admin's 'custos admin
                          users --names-out') adds the users' names
  release HOLD            ends a hold; --reason is required (stored for officers, hashed in the
                          log). You sign the release with your officer signing key: the server keeps
                          your signed statement with the act, and every console checks it there,
                          so the server cannot release a hold on its own

The server never sees a --query or --conversation: it gets their blind tokens under each
bucket's index key, and the criterion sealed to every officer, so 'custos org buckets
--ahead' and 'custos console grant-index-keys' extend the hold to buckets registered later.
${OFFICER_OPTIONS_HELP}
See docs/officers.md "Legal holds".
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  custodian: 'string',
  conversation: 'string',
  from: 'string',
  to: 'string',
  query: 'string',
  matter: 'string',
  names: 'string',
  reason: 'string',
} as const;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function utcDay(flag: string, text: string): number {
  const m = DAY.exec(text);
  const t = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== text) {
    throw new UsageError(`--${flag} must be a date YYYY-MM-DD`);
  }
  return t;
}

/** The one criterion the flags name; a usage error for none, several, or half a range. */
export function holdCriterionOf(flags: Map<string, string | true>): HoldCriterion {
  const custodian = optionalString(flags, 'custodian');
  const conversation = optionalString(flags, 'conversation');
  const query = optionalString(flags, 'query');
  const from = optionalString(flags, 'from');
  const to = optionalString(flags, 'to');
  if ((from === undefined) !== (to === undefined))
    throw new UsageError('a date range needs both --from and --to');
  const given = [custodian, conversation, query, from].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new UsageError('give exactly one of --custodian, --conversation, --from/--to or --query');
  if (custodian !== undefined) return { custodian: officerUser('custodian', custodian) };
  if (conversation !== undefined) return { conversationId: conversation };
  if (query !== undefined) return { query };
  const range = { from: utcDay('from', from!), to: utcDay('to', to!) };
  if (range.to < range.from) throw new UsageError('--to is before --from');
  return range;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Display names by user id, from --names. */
type Names = ReadonlyMap<string, string>;

/** `NAME (USERID)` when the names file names the user, else the id; terminal-safe. */
const person = (id: string, names: Names | undefined): string => {
  const name = names?.get(id.split('@')[0]!);
  return name === undefined ? id : `${terminalSafe(name)} (${id})`;
};

function scopeText(h: HoldListing, names?: Names): string {
  if (h.kind === 'custodian') return `custodian ${h.custodian === null ? '?' : person(h.custodian, names)}`;
  if (h.kind === 'dates') return `received ${day(h.from ?? 0)} to ${day((h.to ?? 1) - 1)}`;
  return `${h.kind} in ${h.buckets.length} bucket(s)`;
}

const minute = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;

/**
 * Who acted: the user (a records officer needs the person) and the device (what the log
 * names, for matching against it). The server knows no display names and officer profiles
 * keep no address book, so the user is their id.
 */
const actor = (user: string | null, device: string, names: Names | undefined): string =>
  user === null ? `device ${device}` : `user ${person(user, names)} (device ${device})`;

/** One line of `hold list`; users by name too when `names` (from --names) names them. */
export function holdLine(h: ListedHold, names?: Names): string {
  const placed = `${h.holdId}  ${h.matter}  ${scopeText(h, names)}  placed ${minute(h.createdAt)} by ${actor(h.createdByUser, h.createdBy, names)}`;
  if (h.releasedAt === null) return `${placed}  ACTIVE`;
  const by = h.releasedBy === null ? '' : ` by ${actor(h.releasedByUser, h.releasedBy, names)}`;
  return `${placed}  released ${minute(h.releasedAt)}${by}: ${h.releaseReason ?? ''}`;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  create: {
    max: 0,
    async run(ctx) {
      const criterion = holdCriterionOf(ctx.flags);
      const matter = optionalString(ctx.flags, 'matter');
      if (matter === undefined || matter.trim() === '') throw new UsageError('--matter NAME is required');
      const r = await withOfficerSession(ctx, (s) =>
        placeHold(s, criterion, matter, (m) => ctx.note(`custos console hold: ${m}`)),
      );
      const lines = [`Hold ${r.hold.holdId} placed (${r.hold.matter}): ${scopeText(r.hold)}.`];
      if (r.bucketsWithoutWrap.length > 0)
        lines.push(
          `You hold no wrap of ${r.bucketsWithoutWrap.join(', ')}: those buckets are NOT covered; another officer must place the hold there.`,
        );
      // Token holds match the blind tokens in records' headers; records a device sealed
      // before it held the bucket's index key have none, and this hold misses them.
      if (r.hold.kind === 'query' || r.hold.kind === 'conversation')
        lines.push(
          "Records archived before their device held its bucket's index key carry no search tokens and are NOT covered " +
            "('custos console completeness' counts them): a custodian or date hold covers those.",
        );
      ctx.result(lines, r);
      return 0;
    },
  },
  list: {
    max: 0,
    async run(ctx) {
      const namesPath = optionalString(ctx.flags, 'names');
      const namesFile = namesPath === undefined ? undefined : readNamesFile(namesPath);
      const holds = await withOfficerSession(ctx, (s) => {
        if (namesFile !== undefined) checkNamesOrg(namesFile, namesPath!, s.orgId);
        return listHolds(s);
      });
      ctx.result(holds.length === 0 ? ['No legal holds.'] : holds.map((h) => holdLine(h, namesFile?.users)), {
        holds,
      });
      return 0;
    },
  },
  release: {
    max: 1,
    async run(ctx) {
      const holdId = ctx.positionals[0];
      if (holdId === undefined) throw new UsageError('give the HOLD id to release');
      fullId(holdId, 'HOLD', "as 'custos console hold list' shows it");
      const reason = optionalString(ctx.flags, 'reason');
      if (reason === undefined || reason.trim() === '') throw new UsageError('--reason TEXT is required');
      const releasedAt = await withOfficerSession(ctx, (s) => releaseHold(s, holdId, reason));
      ctx.result(`Hold ${holdId} released (signed by you as officer).`, { holdId, releasedAt });
      return 0;
    },
  },
};

/** Runs `custos console hold …`. */
export function runConsoleHold(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'console hold', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
