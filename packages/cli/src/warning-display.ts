/**
 * Warnings the user must see (identity changes, a device added to the account, refused
 * envelopes), shown once each: the number (`Warning.seq`) of the last one shown is kept in the
 * profile's encrypted settings — not its time, which the device clock can repeat or step back.
 * An identity change always says how to compare safety numbers and how to accept the new key;
 * a device added to the account, how to see and revoke the user's devices.
 */
import {
  ClientError,
  isClientError,
  type CustosClient,
  type PeerUser,
  type PendingSendInfo,
  type Warning,
} from '@custos/client';
import { formatAddress, type AddressBook } from './address-book.js';
import { formatTime } from './message-format.js';
import { peerText } from './terminal-text.js';

/** Setting: `seq` of the newest warning already shown. */
const SHOWN_SETTING = 'cli-warnings-shown-seq';
/**
 * Setting of earlier versions: time (ms) of the newest warning shown. Read once, when there is
 * no {@link SHOWN_SETTING} yet, to carry over what was shown; still written beside it (the
 * latest time of a warning shown), so an earlier version run on the profile afterwards shows
 * only what it had not (removing it would make that version show every kept warning again).
 */
const LEGACY_SHOWN_AT_SETTING = 'cli-warnings-shown-at';

/** The user a warning is from (`from` is the SDK's `<org>.<user>` form), if it names one. */
function senderOf(w: Warning): PeerUser | undefined {
  const [orgId, userId] = w.from.split('.');
  return orgId !== undefined && userId !== undefined ? { orgId, userId } : undefined;
}

/** The sender of a warning as a label. */
function sender(w: Warning, book: AddressBook): string {
  const peer = senderOf(w);
  return peer === undefined ? w.from : book.label(peer);
}

/** Lines explaining one warning. */
export function describeWarning(w: Warning, book: AddressBook): string[] {
  const who = sender(w, book);
  if (w.kind === 'identity-changed')
    return [
      `WARNING [${formatTime(w.at)}]: the identity key of a device of ${who} changed; its messages are refused.`,
      `  Compare safety numbers with ${who} in person: 'custos safety-number ${who}'. If they match, accept`,
      `  the new key with 'custos safety-number ${who} --accept'. If not, someone may be intercepting.`,
    ];
  // Whoever holds a device of this user reads what is sent to them: as loud as an identity change.
  if (w.kind === 'own-device-added')
    return [
      `WARNING [${formatTime(w.at)}]: ${peerText(w.detail)}.`,
      `  'custos devices list' shows your devices and their keys; 'custos devices revoke DEVICE' removes one.`,
    ];
  return [`warning [${formatTime(w.at)}]: ${w.kind} from ${who}: ${peerText(w.detail)}`];
}

/**
 * How its tries went: `2 failed tries`, and those at which the server could not be reached
 * (not failed tries: nothing was sent) — `3 tries could not reach the server`.
 */
function triesWords(p: PendingSendInfo): string {
  const unreached = `${p.unreached} ${p.unreached === 1 ? 'try' : 'tries'} could not reach the server`;
  if (p.unreached === 0) return `${p.tries} failed tries`;
  return p.tries === 0 ? unreached : `${p.tries} failed tries, ${unreached}`;
}

/** A pending send without its article: `message to Bob since 2026-11-28 03:41 UTC (2 failed tries)`. */
function pendingSendWords(
  p: PendingSendInfo,
  book: AddressBook,
  groupNameOf: (id: string) => string | undefined,
): string {
  const to =
    p.group === undefined
      ? p.recipients.map((u) => book.label(u)).join(', ')
      : `group ${peerText(groupNameOf(p.group) ?? p.group)}`;
  return `${p.kind} to ${to} since ${formatTime(p.since)} UTC (${triesWords(p)})`;
}

/**
 * A pending send in words: what, to whom, since when, and how many tries failed
 * (`a message to Bob since 2026-11-28 03:41 UTC (2 failed tries)`, `an edit to …`).
 */
export function pendingSendText(
  p: PendingSendInfo,
  book: AddressBook,
  groupNameOf: (id: string) => string | undefined,
): string {
  return `${/^[aeiou]/.test(p.kind) ? 'an' : 'a'} ${pendingSendWords(p, book, groupNameOf)}`;
}

/**
 * SEND_BLOCKED in the user's words. The SDK names the pending send that holds a send back by
 * ids (`<org>.<user>`, a group id) and its age in minutes; worded again here with the address
 * book's names, the group's name and the time it began, as `custos pending` lists it. Done
 * while the profile is open (the runner explains a failure after it closed); any other error
 * is returned as it is.
 */
export function blockedInUserTerms(
  e: unknown,
  book: AddressBook,
  groupNameOf: (id: string) => string | undefined,
): unknown {
  if (!isClientError(e, 'SEND_BLOCKED') || e.pending === undefined) return e;
  return new ClientError(
    'SEND_BLOCKED',
    `not sent: an earlier ${pendingSendWords(e.pending, book, groupNameOf)} is still pending`,
    { cause: e, pending: e.pending },
  );
}

/** The JSON form of a pending send: the SDK's, with recipients as addresses. */
export function pendingSendJson(p: PendingSendInfo): Record<string, unknown> {
  return { ...p, recipients: p.recipients.map(formatAddress) };
}

/**
 * A line for each send still pending after a sync: every later send waits for it (SEND_BLOCKED),
 * so the user must see it, that sync — not sending the text again — finishes it, and how to
 * give up on one the server keeps failing.
 */
export function pendingSendLines(
  pending: readonly PendingSendInfo[],
  book: AddressBook,
  groupNameOf: (id: string) => string | undefined,
): string[] {
  return pending.map(
    (p) =>
      `Still pending: ${pendingSendText(p, book, groupNameOf)}; later sends wait for it. 'custos sync' sends it again (do not send the text again); if it keeps failing, 'custos pending --discard' gives up on the oldest.`,
  );
}

/** The JSON form of a warning. */
export function warningJson(w: Warning, book: AddressBook): Record<string, unknown> {
  const peer = senderOf(w);
  return {
    seq: w.seq,
    at: w.at,
    kind: w.kind,
    from: peer === undefined ? w.from : formatAddress(peer),
    fromName: peer === undefined ? null : (book.nameOf(peer) ?? null),
    detail: w.detail,
  };
}

/** What taking warnings reads and writes. */
type WarningSource = Pick<CustosClient, 'warnings' | 'settings'>;

/**
 * The warnings of `all` not shown before, by the settings of a profile that has no
 * {@link SHOWN_SETTING} yet: all of them for a new one; for one upgraded from a version that
 * kept the time of the last shown, those after that time, as that version would have shown.
 */
function unshownBeforeSeq(settings: WarningSource['settings'], all: readonly Warning[]): Warning[] {
  const shownAt = settings.get<number>(LEGACY_SHOWN_AT_SETTING);
  return shownAt === undefined ? [...all] : all.filter((w) => w.at > shownAt);
}

/** Warnings not shown before, oldest first; marks them shown. */
export function takeNewWarnings(client: WarningSource): Warning[] {
  const settings = client.settings;
  const all = client.warnings();
  const shownSeq = settings.get<number>(SHOWN_SETTING);
  const fresh =
    shownSeq === undefined ? unshownBeforeSeq(settings, all) : all.filter((w) => w.seq > shownSeq);
  const newest = all.at(-1)?.seq ?? 0;
  if (shownSeq === undefined || newest > shownSeq) {
    settings.set(SHOWN_SETTING, newest);
    // The latest time, not the newest warning's: after the device clock stepped back an
    // earlier version would otherwise show the warnings stamped after it again.
    const shownAt = settings.get<number>(LEGACY_SHOWN_AT_SETTING);
    const latest = Math.max(shownAt ?? -Infinity, ...all.map((w) => w.at));
    if (Number.isFinite(latest) && latest !== shownAt) settings.set(LEGACY_SHOWN_AT_SETTING, latest);
  }
  return fresh;
}

/** The warnings an action recorded, and those from before it that had not been shown yet. */
export interface WarningsOfAction<T> {
  readonly result: T;
  /** What the action recorded (e.g. a discard: what it says happened to each recipient). */
  readonly added: Warning[];
  /** Recorded before the action and not shown yet: not the action's, but due now. */
  readonly earlier: Warning[];
}

/**
 * Runs `act` and takes the warnings it recorded (numbered after the newest before it) apart
 * from earlier ones not shown yet, so a command reports exactly what its action recorded and
 * still shows each warning once; marks both shown. When `act` fails nothing is marked (the
 * next sync shows what it recorded).
 */
export async function takeWarningsOf<T>(
  client: WarningSource,
  act: () => Promise<T>,
): Promise<WarningsOfAction<T>> {
  const newestBefore = client.warnings().at(-1)?.seq ?? 0;
  const result = await act();
  const unshown = takeNewWarnings(client);
  const added = client.warnings().filter((w) => w.seq > newestBefore);
  const earlier = unshown.filter((w) => w.seq <= newestBefore);
  return { result, added, earlier };
}
