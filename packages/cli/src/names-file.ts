/**
 * The names file (docs/officers.md "Names for exports"): the display names an admin's
 * address book gives the organisation's users, and the organisation's own name, written by
 * `custos admin users --names-out FILE` for records officers, who pass it to `custos console
 * export|search --names FILE`. The server never holds names (it routes ciphertext by id),
 * so an officer's renderings would otherwise show only ids. The names are presentation the
 * officer supplies: an export fixes them in its custody manifest, but nothing signs them.
 *
 *   {"format":"custos-names","version":1,"org":{"id":ORGID,"name":NAME},"users":{USERID:NAME,…}}
 *
 * The file comes from outside the officer's console, so it is read strictly: size cap,
 * exactly these fields, ids of the server's shape, names of bounded length without control
 * characters. Renderers escape names for their format in any case (export/mime.ts,
 * event-model.ts displayOf, terminal-text.ts).
 */
import { closeSync, fchmodSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { isServerId, MAX_CONTACT_NAME } from './address-book.js';
import { CliFailure } from './command-runner.js';

/** Value of the file's `format` field. */
export const NAMES_FILE_FORMAT = 'custos-names';
/** The only version written and read. */
export const NAMES_FILE_VERSION = 1;
/** Largest names file read: some 10,000 users with long names. */
export const MAX_NAMES_FILE_BYTES = 1024 * 1024;
/** Longest organisation name accepted (user names: the address book's MAX_CONTACT_NAME). */
export const MAX_ORG_NAME = 128;

/** A names file's content. */
export interface NamesFile {
  readonly org: { readonly id: string; readonly name: string };
  /** Display name by user id (users of `org`). */
  readonly users: ReadonlyMap<string, string>;
}

// C0, DEL, C1, line/paragraph separators and bidi controls: nothing a name needs, and each
// could forge a line or reorder text in a transcript or on a terminal.
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

const invalid = (file: string, what: string): CliFailure =>
  new CliFailure('NAMES_FILE_INVALID', `names file ${file}: ${what}`);

/** `name` if it is a display name of 1 to `max` characters without control characters. */
function checkName(file: string, where: string, name: unknown, max: number): string {
  if (typeof name !== 'string') throw invalid(file, `${where} is not a string`);
  const n = name.normalize('NFC').trim();
  if (n.length === 0 || [...n].length > max) throw invalid(file, `${where} has not 1 to ${max} characters`);
  if (UNSAFE_NAME.test(n)) throw invalid(file, `${where} contains control characters`);
  return n;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(file: string, where: string, o: Record<string, unknown>, keys: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw invalid(file, `${where} has unknown field '${extra[0]!.slice(0, 40)}'`);
}

/** Parses a names file's bytes strictly; `file` names it in errors. */
export function parseNamesFile(bytes: Uint8Array, file: string): NamesFile {
  if (bytes.length > MAX_NAMES_FILE_BYTES) throw invalid(file, `larger than ${MAX_NAMES_FILE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid(file, 'not UTF-8 JSON');
  }
  if (!isObj(v)) throw invalid(file, 'not a JSON object');
  if (v.format !== NAMES_FILE_FORMAT) throw invalid(file, `format is not '${NAMES_FILE_FORMAT}'`);
  if (v.version !== NAMES_FILE_VERSION)
    throw invalid(
      file,
      `version ${String(v.version).slice(0, 20)} is not supported (only ${NAMES_FILE_VERSION})`,
    );
  onlyKeys(file, 'the file', v, ['format', 'version', 'org', 'users']);
  const org = v.org;
  if (!isObj(org)) throw invalid(file, 'org is not an object');
  onlyKeys(file, 'org', org, ['id', 'name']);
  if (typeof org.id !== 'string' || !isServerId(org.id))
    throw invalid(file, 'org.id is not an organisation id');
  const orgName = checkName(file, 'org.name', org.name, MAX_ORG_NAME);
  if (!isObj(v.users)) throw invalid(file, 'users is not an object');
  const users = new Map<string, string>();
  for (const [id, name] of Object.entries(v.users)) {
    if (!isServerId(id)) throw invalid(file, `users has a key that is not a user id ('${id.slice(0, 40)}')`);
    users.set(id, checkName(file, `the name of user ${id}`, name, MAX_CONTACT_NAME));
  }
  return { org: { id: org.id, name: orgName }, users };
}

/** Reads and parses the names file at `path` (size checked before reading). */
export function readNamesFile(path: string): NamesFile {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw invalid(path, 'not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    throw invalid(path, 'cannot be read');
  }
  if (size > MAX_NAMES_FILE_BYTES) throw invalid(path, `larger than ${MAX_NAMES_FILE_BYTES} bytes`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw invalid(path, 'cannot be read');
  }
  return parseNamesFile(bytes, path);
}

/** The file's bytes: pretty JSON (an admin may read it before handing it over), users sorted by id. */
export function serializeNamesFile(n: NamesFile): Uint8Array {
  const users = Object.fromEntries([...n.users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const doc = { format: NAMES_FILE_FORMAT, version: NAMES_FILE_VERSION, org: n.org, users };
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
}

/**
 * Writes `n` to `path`, mode 0600 (it says who is in the organisation): created 0600, and an
 * existing file is set to 0600 before it is overwritten. The content is checked as a reader
 * would check it, so an admin never hands over a file officers cannot use.
 */
export function writeNamesFile(path: string, n: NamesFile): void {
  const bytes = serializeNamesFile(n);
  parseNamesFile(bytes, path);
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** NAMES_FILE_INVALID unless `n` is the file of organisation `orgId` (the officer's own). */
export function checkNamesOrg(n: NamesFile, file: string, orgId: string): void {
  if (n.org.id !== orgId) throw invalid(file, `it names organisation ${n.org.id}, not yours (${orgId})`);
}

/**
 * The display names an export or search uses, by record address (`ORGID.USERID`); the
 * organisation's name under `orgKey` when given (the custodian string of an export whose
 * custodian is the organisation).
 */
export function recordNames(n: NamesFile, orgKey?: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [userId, name] of n.users) out.set(`${n.org.id}.${userId}`, name);
  if (orgKey !== undefined) out.set(orgKey, n.org.name);
  return out;
}
