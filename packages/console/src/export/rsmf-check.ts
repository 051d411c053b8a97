/**
 * The RSMF checks a JSON Schema cannot express (compliance.md, "Beyond the schema"):
 * every referenced participant, conversation and parent id resolves; event ids are
 * unique; every file the manifest names is in the zip; the message has exactly one
 * attachment, rsmf.zip, with rsmf_manifest.json at its root; and the X-RSMF-* header
 * counts and dates match the manifest. Plus the few structural facts those checks rest
 * on, so the checker stands on its own without a schema validator.
 */
import { unzipSync } from 'fflate';
import { ExportError } from './export-error.js';
import { header, multipartParts, parseMessage, partBytes, partFileName } from './mime.js';
import { RSMF_MANIFEST_NAME, RSMF_ZIP_NAME } from './rsmf-file.js';
import { maxOf, minOf } from '../extremes.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const EVENT_TYPES = new Set(['message', 'disclaimer', 'join', 'leave', 'history', 'unknown']);
const EVENT_FIELDS = new Set([
  'id',
  'type',
  'parent',
  'body',
  'participant',
  'conversation',
  'timestamp',
  'deleted',
  'importance',
  'reactions',
  'attachments',
  'edits',
  'custom',
  'direction',
  'read_receipts',
]);

/**
 * Referential problems of a parsed manifest; `zipNames` are the files beside it in the zip
 * (undefined: not checked). Returns every problem found, in manifest order.
 */
export function rsmfManifestProblems(
  m: unknown,
  zipNames?: ReadonlySet<string>,
  expectMajor = '2',
): string[] {
  const p: string[] = [];
  if (!isObj(m)) return ['manifest is not a JSON object'];
  if (typeof m.version !== 'string') p.push('manifest has no version');
  else if (!m.version.startsWith(`${expectMajor}.`))
    p.push(`manifest version ${m.version} is not ${expectMajor}.x`);
  for (const k of ['participants', 'conversations', 'events'])
    if (!Array.isArray(m[k])) p.push(`manifest has no ${k} list`);
  const file = (what: string, name: unknown): void => {
    if (zipNames !== undefined && typeof name === 'string' && !zipNames.has(name))
      p.push(`${what} names file "${name}", which is not in the zip`);
  };
  const people = new Set<string>();
  arr(m.participants).forEach((x, i) => {
    if (!isObj(x) || !isId(x.id)) return void p.push(`participants[${i}] has no string id`);
    if (people.has(x.id)) p.push(`participant id "${x.id}" is not unique`);
    people.add(x.id);
    if (x.avatar !== undefined) file(`participant "${x.id}" avatar`, x.avatar);
  });
  const person = (what: string, id: unknown): void => {
    if (!isId(id)) p.push(`${what} is not a participant id string`);
    else if (!people.has(id)) p.push(`${what} "${id}" is not a participant`);
  };
  const convParts = new Map<string, Set<string>>();
  arr(m.conversations).forEach((x, i) => {
    if (!isObj(x) || !isId(x.id)) return void p.push(`conversations[${i}] has no string id`);
    if (convParts.has(x.id)) p.push(`conversation id "${x.id}" is not unique`);
    const members = new Set<string>();
    convParts.set(x.id, members);
    if (!isId(x.platform)) p.push(`conversation "${x.id}" has no platform`);
    if (x.type !== undefined && x.type !== 'direct' && x.type !== 'channel')
      p.push(`conversation "${x.id}" type is not direct or channel`);
    if (!Array.isArray(x.participants)) p.push(`conversation "${x.id}" has no participants list`);
    const cid = x.id;
    arr(x.participants).forEach((id, j) => {
      person(`conversation "${cid}" participants[${j}]`, id);
      if (typeof id === 'string') members.add(id);
    });
    if (x.custodian !== undefined) {
      person(`conversation "${x.id}" custodian`, x.custodian);
      if (typeof x.custodian === 'string' && !members.has(x.custodian))
        p.push(`conversation "${x.id}" custodian "${x.custodian}" is not one of its participants`);
    }
    if (x.icon !== undefined) file(`conversation "${x.id}" icon`, x.icon);
  });
  const events = arr(m.events);
  const eventConv = new Map<string, unknown>();
  events.forEach((e) => {
    if (!isObj(e) || typeof e.id !== 'string') return;
    if (eventConv.has(e.id)) p.push(`event id "${e.id}" is not unique`);
    eventConv.set(e.id, e.conversation);
  });
  events.forEach((e, i) => {
    const w = `events[${i}]${isObj(e) && typeof e.id === 'string' ? ` ("${e.id}")` : ''}`;
    if (!isObj(e)) return void p.push(`${w} is not an object`);
    for (const k of Object.keys(e))
      if (!EVENT_FIELDS.has(k)) p.push(`${w} has field "${k}", which RSMF 2.0 does not define`);
    if (typeof e.type !== 'string' || !EVENT_TYPES.has(e.type)) p.push(`${w} type is not an RSMF event type`);
    if (e.participant !== undefined) person(`${w} participant`, e.participant);
    if (e.conversation !== undefined && !(isId(e.conversation) && convParts.has(e.conversation)))
      p.push(`${w} conversation "${JSON.stringify(e.conversation) ?? 'undefined'}" is not a conversation`);
    if (e.parent !== undefined) {
      if (!isId(e.parent) || !eventConv.has(e.parent))
        p.push(`${w} parent "${JSON.stringify(e.parent) ?? 'undefined'}" is not an event`);
      else if (eventConv.get(e.parent) !== e.conversation)
        p.push(`${w} parent "${e.parent}" is in another conversation`);
    }
    if (
      e.timestamp !== undefined &&
      (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp)))
    )
      p.push(`${w} timestamp is not a date-time`);
    if (
      e.custom !== undefined &&
      !(
        Array.isArray(e.custom) &&
        e.custom.every((c) => isObj(c) && isId(c.name) && typeof c.value === 'string')
      )
    )
      p.push(`${w} custom is not a list of name/value strings`);
    arr(e.attachments).forEach((a, j) => {
      if (!isObj(a) || !isId(a.id)) p.push(`${w} attachments[${j}] has no id`);
      else file(`${w} attachment`, a.id);
    });
    arr(e.edits).forEach((x, j) =>
      person(`${w} edits[${j}] participant`, isObj(x) ? x.participant : undefined),
    );
    arr(e.read_receipts).forEach((x, j) =>
      person(`${w} read_receipts[${j}] participant`, isObj(x) ? x.participant : undefined),
    );
    arr(e.reactions).forEach((x, j) =>
      arr(isObj(x) ? x.participants : undefined).forEach((id, k) =>
        person(`${w} reactions[${j}] participants[${k}]`, id),
      ),
    );
  });
  return p;
}

/** The parsed parts of a checked .rsmf file. */
export interface RsmfContents {
  readonly headers: ReadonlyMap<string, string>;
  readonly manifest: Obj;
  readonly zipNames: ReadonlySet<string>;
  readonly transcript: string;
}

// Only the manifest is inflated (the checks need the other files' names, not their bytes), and
// only up to this declared size: a hostile zip cannot make the verifier allocate without bound.
const MAX_RSMF_MANIFEST_BYTES = 256 * 1024 * 1024;

function unzipManifest(zip: Uint8Array, p: string[]): { manifest: unknown; names: Set<string> } | undefined {
  const names = new Set<string>();
  let tooBig = false;
  let raw: Uint8Array | undefined;
  try {
    raw = unzipSync(zip, {
      filter: (f) => {
        if (!f.name.endsWith('/')) names.add(f.name);
        if (f.name !== RSMF_MANIFEST_NAME) return false;
        tooBig = f.originalSize > MAX_RSMF_MANIFEST_BYTES;
        return !tooBig;
      },
    })[RSMF_MANIFEST_NAME];
  } catch {
    p.push(`${RSMF_ZIP_NAME} is not a readable zip`);
    return undefined;
  }
  if (tooBig) {
    p.push(`${RSMF_MANIFEST_NAME} declares more than ${MAX_RSMF_MANIFEST_BYTES} bytes`);
    return undefined;
  }
  if (raw === undefined) {
    p.push(`${RSMF_ZIP_NAME} has no ${RSMF_MANIFEST_NAME} at its root`);
    return undefined;
  }
  try {
    return { manifest: JSON.parse(Buffer.from(raw).toString('utf8')) as unknown, names };
  } catch {
    p.push(`${RSMF_MANIFEST_NAME} is not JSON`);
    return undefined;
  }
}

/** Problems of a bare RSMF zip (rsmf.zip on its own, as some tools exchange it). */
export function rsmfZipProblems(zip: Uint8Array): string[] {
  const p: string[] = [];
  const z = unzipManifest(zip, p);
  return z === undefined ? p : [...p, ...rsmfManifestProblems(z.manifest, z.names)];
}

/** Problems of a whole .rsmf message, and what it holds when it could be read. */
export function rsmfFileProblems(bytes: Uint8Array): { problems: string[]; contents?: RsmfContents } {
  const p: string[] = [];
  let msg;
  let parts;
  try {
    msg = parseMessage(Buffer.from(bytes).toString('utf8'));
    parts = multipartParts(msg);
  } catch (e) {
    return { problems: [e instanceof ExportError ? e.message : 'not a MIME message'] };
  }
  const version = header(msg, 'x-rsmf-version');
  if (version === undefined) p.push('no X-RSMF-Version header');
  const attachments = parts.filter((x) => partFileName(x) !== undefined);
  if (attachments.length !== 1)
    p.push(`has ${attachments.length} attachments; an RSMF file has exactly one, ${RSMF_ZIP_NAME}`);
  const zipPart = attachments.find((x) => partFileName(x) === RSMF_ZIP_NAME);
  if (zipPart === undefined) return { problems: [...p, `no ${RSMF_ZIP_NAME} attachment`] };
  const z = unzipManifest(partBytes(zipPart), p);
  if (z === undefined) return { problems: p };
  p.push(...rsmfManifestProblems(z.manifest, z.names));
  const m = z.manifest as Obj;
  if (version !== undefined && m.version !== version)
    p.push(`X-RSMF-Version ${version} differs from the manifest's ${String(m.version)}`);
  const events = arr(m.events).filter(isObj);
  const count = header(msg, 'x-rsmf-eventcount');
  if (count !== undefined && count !== String(events.length))
    p.push(`X-RSMF-EventCount ${count} differs from the manifest's ${events.length} events`);
  const attCount = header(msg, 'x-rsmf-attachmentcount');
  const nAtt = events.reduce((n, e) => n + arr(e.attachments).length, 0);
  if (attCount !== undefined && attCount !== String(nAtt))
    p.push(`X-RSMF-AttachmentCount ${attCount} differs from the manifest's ${nAtt} attachments`);
  const times = events
    .map((e) => (typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN))
    .filter((t) => !Number.isNaN(t));
  const dateCheck = (name: string, want: number | undefined): void => {
    const v = header(msg, name);
    if (v === undefined) return;
    if (want === undefined || Date.parse(v) !== want)
      p.push(`${name} ${v} differs from the manifest's events`);
  };
  dateCheck('x-rsmf-begindate', times.length === 0 ? undefined : minOf(times));
  dateCheck('x-rsmf-enddate', times.length === 0 ? undefined : maxOf(times));
  const collection = header(msg, 'x-rsmf-eventcollectionid');
  if (collection !== undefined && m.eventcollectionid !== undefined && m.eventcollectionid !== collection)
    p.push('X-RSMF-EventCollectionID differs from the manifest');
  const text = parts.find(
    (x) => partFileName(x) === undefined && /text\/plain/i.test(header(x, 'content-type') ?? ''),
  );
  return {
    problems: p,
    contents: {
      headers: new Map(msg.headers),
      manifest: m,
      zipNames: z.names,
      transcript: text === undefined ? '' : Buffer.from(partBytes(text)).toString('utf8'),
    },
  };
}

/** Throws RSMF_INVALID naming the first problem of the .rsmf file `name`. */
export function assertRsmfFile(bytes: Uint8Array, name: string): RsmfContents {
  const r = rsmfFileProblems(bytes);
  if (r.problems.length > 0 || r.contents === undefined)
    throw new ExportError('RSMF_INVALID', `${name}: ${r.problems[0] ?? 'unreadable'}`, { file: name });
  return r.contents;
}
