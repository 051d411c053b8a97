/**
 * How users are named on the command line. The server stores no names (a display name must
 * never reach it), so a user's address is `USERID@ORGID` with the server's ids, and each
 * profile keeps its own address book — names to addresses — in its encrypted store
 * (LocalSettings). `--to` and friends accept a name, a unique prefix of one, or an address.
 */
import type { LocalSettings, PeerUser } from '@custos/client';
import { CliFailure } from './command-runner.js';

/** Setting under which the address book is kept. */
const BOOK_SETTING = 'cli-address-book';
/** Longest contact name. */
export const MAX_CONTACT_NAME = 64;
const ID = '[A-Za-z0-9_-]{22}';
const ADDRESS = new RegExp(`^(${ID})@(${ID})$`);

/** One entry: a local name for a user address. */
export interface AddressEntry {
  readonly name: string;
  readonly address: string;
}

/** `USERID@ORGID`. */
export function formatAddress(u: PeerUser): string {
  return `${u.userId}@${u.orgId}`;
}

/** The user of an address, or undefined when `text` is not one. */
export function parseAddress(text: string): PeerUser | undefined {
  const m = ADDRESS.exec(text);
  return m === null ? undefined : { userId: m[1]!, orgId: m[2]! };
}

const SERVER_ID = new RegExp(`^${ID}$`);
/** A participant as archive records name a user: `ORGID.USERID`. */
const RECORD_ADDRESS = new RegExp(`^(${ID})\\.(${ID})$`);

/** Whether `text` has the shape of a server-drawn id (users, devices, organisations). */
export function isServerId(text: string): boolean {
  return SERVER_ID.test(text);
}

/** The user a record participant `ORGID.USERID` names, or undefined when `text` is not one. */
export function parseRecordAddress(text: string): PeerUser | undefined {
  const m = RECORD_ADDRESS.exec(text);
  return m === null ? undefined : { orgId: m[1]!, userId: m[2]! };
}

/** Checks a contact name: 1..64 characters, no '@', no control characters, not starting with '-'. */
export function checkContactName(name: string): string {
  const n = name.normalize('NFC').trim();
  if (n.length === 0 || [...n].length > MAX_CONTACT_NAME)
    throw new CliFailure('CONTACT_NAME_INVALID', `a contact name has 1 to ${MAX_CONTACT_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (n.includes('@') || n.startsWith('-') || /[\u0000-\u001f\u007f]/.test(n))
    throw new CliFailure(
      'CONTACT_NAME_INVALID',
      "a contact name may not contain '@' or control characters, nor start with '-'",
    );
  return n;
}

const same = (a: string, b: string): boolean => a.toLocaleLowerCase() === b.toLocaleLowerCase();

/** The profile's address book. */
export class AddressBook {
  constructor(private readonly settings: LocalSettings) {}

  /** Entries, sorted by name. */
  list(): AddressEntry[] {
    return [...(this.settings.get<AddressEntry[]>(BOOK_SETTING) ?? [])].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  }

  /**
   * Adds `name` for `user`. Adding the same pair again is a no-op; a name already used for
   * another address is refused (names are unique, ignoring case).
   */
  add(name: string, user: PeerUser): AddressEntry {
    const entry = { name: checkContactName(name), address: formatAddress(user) };
    const list = this.list();
    const known = list.find((e) => same(e.name, entry.name));
    if (known !== undefined) {
      if (known.address === entry.address) return known;
      throw new CliFailure(
        'CONTACT_NAME_TAKEN',
        `the name '${known.name}' is already used for ${known.address}: choose another name, or remove it first with 'custos contacts remove ${known.name}'`,
      );
    }
    this.settings.set(BOOK_SETTING, [...list, entry]);
    return entry;
  }

  /** Removes `name`; CliFailure when it is not in the book. */
  remove(name: string): AddressEntry {
    const list = this.list();
    const known = list.find((e) => same(e.name, name));
    if (known === undefined) throw this.#unknown(name, list);
    this.settings.set(
      BOOK_SETTING,
      list.filter((e) => e !== known),
    );
    return known;
  }

  /** The name this profile uses for `user`, if any. */
  nameOf(user: PeerUser): string | undefined {
    const a = formatAddress(user);
    return this.list().find((e) => e.address === a)?.name;
  }

  /** A name for display: the book's name, else the address. */
  label(user: PeerUser): string {
    return this.nameOf(user) ?? formatAddress(user);
  }

  /** Resolves an address, a name or a unique name prefix (ignoring case) to a user. */
  resolve(text: string): PeerUser {
    const direct = parseAddress(text);
    if (direct !== undefined) return direct;
    const list = this.list();
    const exact = list.find((e) => same(e.name, text));
    const hits =
      exact !== undefined
        ? [exact]
        : list.filter((e) => e.name.toLocaleLowerCase().startsWith(text.toLocaleLowerCase()));
    if (hits.length === 1) return parseAddress(hits[0]!.address)!;
    if (hits.length > 1)
      throw new CliFailure(
        'CONTACT_AMBIGUOUS',
        `'${text}' matches several contacts (${hits.map((e) => e.name).join(', ')}): type more of the name, or give the address USERID@ORGID`,
      );
    throw this.#unknown(text, list);
  }

  #unknown(text: string, list: readonly AddressEntry[]): CliFailure {
    const known =
      list.length === 0 ? 'the address book is empty' : `known: ${list.map((e) => e.name).join(', ')}`;
    return new CliFailure(
      'CONTACT_UNKNOWN',
      `no contact named '${text}' (${known}). Add one with 'custos contacts add ${text} USERID@ORGID' (ask the person or your administrator for the address), or give the address itself`,
    );
  }
}
