/**
 * Loads the server configuration once: flags > environment (CUSTOS_*) > JSON config file >
 * named defaults. Every value is validated, the result is frozen, and a bad value stops
 * start-up with a ConfigError naming the setting and its source (never echoing a store URL,
 * which may hold a password).
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Compile } from 'typebox/compile';
import { ConfigError } from './config-error.js';
import {
  DEFAULT_ARCHIVE_HAND_IN_DAYS,
  MAX_ARCHIVE_HAND_IN_DAYS,
  DEFAULT_DATA_DIR,
  DEFAULT_LISTEN_HOST,
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_STORE,
  RATE_LIMIT_ADDRESS_PER_SECOND,
  LOG_SIGNING_KEY_FILE_NAME,
  SQLITE_FILE_NAME,
} from './defaults.js';
import { DEFAULT_BLOB_QUOTA_BYTES } from './messaging-defaults.js';
import { EXECUTE_BUDGET_MS, RECORDS_PER_STEP } from '../disposition/disposition-defaults.js';
import {
  CONFIG_FILE_ENV,
  CONFIG_FILE_FLAG,
  RawSettingsSchema,
  SETTINGS,
  type RawSettingKey,
  type RawSettings,
} from './settings.js';

/** Log levels, most verbose first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the store lives. */
export type StoreConfig =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** The validated, frozen server configuration. */
export interface ServerConfig {
  readonly dataDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly store: StoreConfig;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly bootstrapOut: string | null;
  readonly logSigningKeyFile: string;
  /** Public origin devices sign into auth responses; null means "derive from the bound address". */
  readonly origin: string | null;
  readonly logLevel: LogLevel;
  /** Bytes of blobs each organisation may store. */
  readonly blobQuotaBytes: number;
  /** Whether the blob sweep runs (`blobSweep` setting, off by default). */
  readonly blobSweep: boolean;
  /** Sustained requests per second from one address. */
  readonly addressRateLimitPerSecond: number;
  /** Records one disposition step deletes (one transaction). */
  readonly dispositionStepRecords: number;
  /** Milliseconds one disposition execute request works (at least one step). */
  readonly dispositionRequestMs: number;
  /** Milliseconds after its revocation during which a device may still hand in archive records (0: none). */
  readonly archiveHandInMs: number;
}

/** What the loader reads; injectable for tests. */
export interface ConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly readFile?: (path: string) => string;
}

const rawSettingsCheck = Compile(RawSettingsSchema);

/** `1,234,567`: numbers in messages, grouped as docs/operations.md writes them. */
const grouped = (n: number): string => n.toLocaleString('en-US');

/**
 * What a setting accepts, in words, for a value its schema refused — the schema's own message
 * ("must match pattern …", "must be equal to constant") names no allowed value. Undefined
 * for settings whose message is already plain. Only these settings' values are echoed: none
 * can hold a secret (a store URL may, and is never echoed).
 */
function expectedText(key: string, value: string | undefined): string | undefined {
  const schema = (
    RawSettingsSchema.properties as Record<string, { anyOf?: { const?: unknown }[]; pattern?: string }>
  )[key];
  const got = value === undefined ? '' : `, got '${value}'`;
  const choices = schema?.anyOf?.map((s) => s.const).filter((c): c is string => typeof c === 'string');
  if (choices !== undefined && choices.length > 0)
    return `must be one of ${choices.map((c) => `'${c}'`).join(', ')}${got}`;
  // Whole-number settings: '^[1-9][0-9]{0,N}$' (1 and up) or '^(0|[1-9][0-9]{0,N})$' (0 and up).
  const digits = /^\^\(?(0\|)?\[1-9\]\[0-9\]\{0,(\d+)\}\)?\$$/.exec(schema?.pattern ?? '');
  if (digits !== null) {
    const max = 10 ** (Number(digits[2]) + 1) - 1;
    return `must be a whole number from ${digits[1] === undefined ? 1 : 0} to ${grouped(max)}${got}`;
  }
  return undefined;
}

/** Parses, merges, validates and freezes the configuration; throws ConfigError on the first bad value. */
export function loadConfig(sources: ConfigSources): ServerConfig {
  const flags = parseFlags(sources.argv);
  const env = readEnv(sources.env);
  const configPath = flags.configFile ?? sources.env[CONFIG_FILE_ENV];
  const file =
    configPath === undefined || configPath === ''
      ? {}
      : readConfigFile(resolve(sources.cwd, configPath), sources.readFile);

  const merged = new Map<RawSettingKey, { value: string; source: string }>();
  for (const s of SETTINGS) {
    const fromFlag = flags.values[s.key];
    const fromEnv = env[s.key];
    const fromFile = file[s.key];
    if (fromFlag !== undefined) merged.set(s.key, { value: fromFlag, source: `flag --${s.flag}` });
    else if (fromEnv !== undefined) merged.set(s.key, { value: fromEnv, source: `environment ${s.env}` });
    else if (fromFile !== undefined) merged.set(s.key, { value: fromFile, source: 'config file' });
  }
  // Every source is checked against the same schema, so a flag gets the same limits as a file key.
  const asObject = Object.fromEntries([...merged].map(([k, v]) => [k, v.value]));
  if (!rawSettingsCheck.Check(asObject)) {
    const first = [...rawSettingsCheck.Errors(asObject)].find((e) => e.instancePath !== '') ?? null;
    const key = (first?.instancePath.slice(1) ?? 'unknown') as RawSettingKey;
    const given = merged.get(key);
    const source = given?.source ?? 'input';
    throw new ConfigError(
      key,
      `invalid value from ${source}: ${expectedText(key, given?.value) ?? first?.message ?? 'does not match the schema'}`,
    );
  }
  const get = (key: RawSettingKey): { value: string; source: string } | undefined => merged.get(key);
  const cwd = sources.cwd;

  const dataDir = resolve(cwd, get('data')?.value ?? DEFAULT_DATA_DIR);
  const listen = parseListen(get('listen'));
  const store = parseStore(get('store'), dataDir);
  const tlsCert = get('tlsCert');
  const tlsKey = get('tlsKey');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const missing = tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    throw new ConfigError(missing, 'TLS needs both --tls-cert and --tls-key');
  }
  const tls =
    tlsCert !== undefined && tlsKey !== undefined
      ? { certFile: resolve(cwd, tlsCert.value), keyFile: resolve(cwd, tlsKey.value) }
      : null;
  if (tls === null && !isLoopbackHost(listen.host)) {
    throw new ConfigError(
      'listen',
      `${listen.host} is not a loopback address; listening on it needs TLS (--tls-cert and --tls-key)`,
    );
  }
  const bootstrapOut = get('bootstrapOut');
  const keyFile = get('logSigningKey');
  const config: ServerConfig = {
    dataDir,
    listen,
    store,
    tls,
    bootstrapOut: bootstrapOut === undefined ? null : resolve(cwd, bootstrapOut.value),
    logSigningKeyFile:
      keyFile === undefined ? resolve(dataDir, LOG_SIGNING_KEY_FILE_NAME) : resolve(cwd, keyFile.value),
    origin: parseOrigin(get('origin')),
    logLevel: (get('logLevel')?.value ?? DEFAULT_LOG_LEVEL) as LogLevel,
    blobQuotaBytes: parseBlobQuota(get('blobQuota')),
    blobSweep: get('blobSweep')?.value === 'on',
    addressRateLimitPerSecond: parseAddressRateLimit(get('addressRateLimit')),
    // The schema's patterns already bound both to safe non-negative integers (step ≥ 1).
    dispositionStepRecords: Number(get('dispositionStep')?.value ?? RECORDS_PER_STEP),
    dispositionRequestMs: Number(get('dispositionRequestMs')?.value ?? EXECUTE_BUDGET_MS),
    archiveHandInMs: parseHandInDays(get('archiveHandInDays')),
  };
  return deepFreeze(config);
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

function parseFlags(argv: readonly string[]): { values: RawSettings; configFile: string | undefined } {
  const options: Record<string, { type: 'string' }> = { [CONFIG_FILE_FLAG]: { type: 'string' } };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (e) {
    // parseArgs names the offending flag in its message; it never contains a value.
    const message = e instanceof Error ? e.message : 'unreadable arguments';
    throw new ConfigError('arguments', message, { cause: e });
  }
  const values: RawSettings = {};
  for (const s of SETTINGS) {
    const v = parsed.values[s.flag];
    if (typeof v === 'string') values[s.key] = v;
  }
  const configFile = parsed.values[CONFIG_FILE_FLAG];
  return { values, configFile: typeof configFile === 'string' ? configFile : undefined };
}

function readEnv(env: Readonly<Record<string, string | undefined>>): RawSettings {
  const out: RawSettings = {};
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') out[s.key] = v;
  }
  return out;
}

function readConfigFile(path: string, readFile?: (p: string) => string): RawSettings {
  let text: string;
  try {
    text = readFile === undefined ? readFileSync(path, 'utf8') : readFile(path);
  } catch (e) {
    throw new ConfigError('config', `cannot read config file ${path}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('config', `config file ${path} is not valid JSON`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config', `config file ${path} must hold a JSON object`);
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  const out: RawSettings = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k)) throw new ConfigError(k, `unknown key in config file ${path}`);
    if (typeof v !== 'string') throw new ConfigError(k, `config file ${path}: value must be a string`);
    out[k as RawSettingKey] = v;
  }
  return out;
}

function parseListen(given: { value: string; source: string } | undefined): { host: string; port: number } {
  if (given === undefined) return { host: DEFAULT_LISTEN_HOST, port: DEFAULT_LISTEN_PORT };
  const m =
    /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(given.value) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(given.value);
  const host = m?.[1];
  const port = Number(m?.[2]);
  const bracketed = given.value.startsWith('[');
  if (host === undefined || !Number.isInteger(port) || port > 65535 || (bracketed && !isIPv6(host))) {
    throw new ConfigError(
      'listen',
      `expected HOST:PORT (e.g. 127.0.0.1:8443) from ${given.source}, got '${given.value}'`,
    );
  }
  return { host, port };
}

function parseStore(given: { value: string; source: string } | undefined, dataDir: string): StoreConfig {
  const value = given?.value ?? DEFAULT_STORE;
  if (value === 'sqlite') return { kind: 'sqlite', path: resolve(dataDir, SQLITE_FILE_NAME) };
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (
    url === null ||
    (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') ||
    url.hostname === ''
  ) {
    // MUST NOT echo the value: a connection URL may carry a password.
    throw new ConfigError(
      'store',
      `expected 'sqlite' or a postgres:// URL with a host (from ${given?.source ?? 'default'})`,
    );
  }
  return { kind: 'postgres', url: value };
}

function parseBlobQuota(given: { value: string; source: string } | undefined): number {
  if (given === undefined) return DEFAULT_BLOB_QUOTA_BYTES;
  const n = Number(given.value);
  if (!Number.isSafeInteger(n))
    throw new ConfigError('blobQuota', `expected a byte count (from ${given.source})`);
  return n;
}

function parseAddressRateLimit(given: { value: string; source: string } | undefined): number {
  if (given === undefined) return RATE_LIMIT_ADDRESS_PER_SECOND;
  const n = Number(given.value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(
      'addressRateLimit',
      `expected requests per second, 1 or more (from ${given.source})`,
    );
  return n;
}

/** The hand-in window in ms: whole days, 0 (no hand-in) up to MAX_ARCHIVE_HAND_IN_DAYS. */
function parseHandInDays(given: { value: string; source: string } | undefined): number {
  const days = given === undefined ? DEFAULT_ARCHIVE_HAND_IN_DAYS : Number(given.value);
  if (!Number.isSafeInteger(days) || days < 0 || days > MAX_ARCHIVE_HAND_IN_DAYS)
    throw new ConfigError(
      'archiveHandInDays',
      `expected whole days from 0 to ${MAX_ARCHIVE_HAND_IN_DAYS} (from ${given?.source ?? 'default'})`,
    );
  return days * 24 * 60 * 60 * 1000;
}

function parseOrigin(given: { value: string; source: string } | undefined): string | null {
  if (given === undefined) return null;
  let url: URL | null = null;
  try {
    url = new URL(given.value);
  } catch {
    url = null;
  }
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new ConfigError(
      'origin',
      `expected an origin such as https://custos.example.org (from ${given.source})`,
    );
  }
  return url.origin;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
