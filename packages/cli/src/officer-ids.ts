/**
 * Users and devices on an officer command line. An officer profile has no address book (the
 * console is not a messaging client), so where a device command would take `alice`, an
 * officer command needs the address or id itself. These checks run before the passphrase is
 * asked for: without them a name reached the server, which answered with its id pattern
 * (`body.custodian: must match pattern …`), or — for a search participant — matched nothing
 * and the search reported 0 matches as if the user had no records.
 */
import { isServerId, parseAddress, parseRecordAddress } from './address-book.js';
import { UsageError } from './command-flags.js';

/** Where an officer finds users' addresses. */
const WHERE_USERS =
  "officer profiles keep no address book: give the address USERID@ORGID ('custos admin users' on an administrator's device lists every user's)";

/** A user as an officer command takes it: a user id or an address USERID@ORGID; UsageError otherwise. */
export function officerUser(flag: string, text: string): string {
  if (isServerId(text) || parseAddress(text) !== undefined) return text;
  throw new UsageError(`--${flag} ${text}: not a user id or address; ${WHERE_USERS}`);
}

/** A participant as records name it (ORGID.USERID), from an address USERID@ORGID or that form itself. */
export function officerParticipant(flag: string, text: string): string {
  const u = parseAddress(text);
  if (u !== undefined) return `${u.orgId}.${u.userId}`;
  if (parseRecordAddress(text) !== undefined) return text;
  throw new UsageError(`--${flag} ${text}: not an address; ${WHERE_USERS}`);
}

/** A device id (22 base64url characters); UsageError otherwise. */
export function officerDevice(flag: string, text: string): string {
  if (isServerId(text)) return text;
  throw new UsageError(
    `--${flag} ${text}: not a device id; 'custos admin devices --user ADDRESS' on an administrator's device lists a user's devices`,
  );
}
