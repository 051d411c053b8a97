/**
 * The settings of `custos server`: their names as flags, environment variables and
 * config-file keys, and the raw schema every source is validated against. One table,
 * so the CLI, the loader and docs/operations.md cannot drift apart.
 */
import { Type, type Static } from 'typebox';
import {
  DEFAULT_ARCHIVE_HAND_IN_DAYS,
  DEFAULT_DATA_DIR,
  DEFAULT_LISTEN_HOST,
  DEFAULT_LISTEN_PORT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_STORE,
  RATE_LIMIT_ADDRESS_PER_SECOND,
  ENV_PREFIX,
  LOG_SIGNING_KEY_FILE_NAME,
  SQLITE_FILE_NAME,
} from './defaults.js';
import { DEFAULT_BLOB_QUOTA_BYTES } from './messaging-defaults.js';
import { EXECUTE_BUDGET_MS, RECORDS_PER_STEP } from '../disposition/disposition-defaults.js';

/** One setting as it appears in each source. */
export interface SettingInfo {
  /** Config-file key. */
  readonly key: RawSettingKey;
  /** Command-line flag, without the leading dashes. */
  readonly flag: string;
  /** Environment variable. */
  readonly env: string;
  /** Default, as shown in the docs. */
  readonly defaultText: string;
  /** What it does. */
  readonly description: string;
}

const PathString = Type.String({ minLength: 1, maxLength: 4096 });

/** Raw settings as given by any source (all strings): the config-file schema. */
export const RawSettingsSchema = Type.Partial(
  Type.Object(
    {
      data: PathString,
      listen: Type.String({ minLength: 3, maxLength: 300 }),
      store: Type.String({ minLength: 1, maxLength: 2048 }),
      tlsCert: PathString,
      tlsKey: PathString,
      bootstrapOut: PathString,
      logSigningKey: PathString,
      origin: Type.String({ minLength: 1, maxLength: 300 }),
      blobQuota: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }),
      blobSweep: Type.Union([Type.Literal('off'), Type.Literal('on')]),
      addressRateLimit: Type.String({ pattern: '^[1-9][0-9]{0,6}$' }),
      dispositionStep: Type.String({ pattern: '^[1-9][0-9]{0,6}$' }),
      dispositionRequestMs: Type.String({ pattern: '^(0|[1-9][0-9]{0,5})$' }),
      archiveHandInDays: Type.String({ pattern: '^(0|[1-9][0-9]{0,2})$' }),
      logLevel: Type.Union([
        Type.Literal('debug'),
        Type.Literal('info'),
        Type.Literal('warn'),
        Type.Literal('error'),
      ]),
    },
    { additionalProperties: false },
  ),
);

/** Keys of the raw settings. */
export type RawSettingKey = keyof Static<typeof RawSettingsSchema>;

/** A partial set of raw settings from one source. */
export type RawSettings = Partial<Record<RawSettingKey, string>>;

/** Every setting, in documentation order. */
export const SETTINGS: readonly SettingInfo[] = [
  {
    key: 'data',
    flag: 'data',
    env: `${ENV_PREFIX}DATA`,
    defaultText: `\`${DEFAULT_DATA_DIR}\``,
    description: 'Data folder: SQLite database, log-signing key. Created with mode 0700.',
  },
  {
    key: 'listen',
    flag: 'listen',
    env: `${ENV_PREFIX}LISTEN`,
    defaultText: `\`${DEFAULT_LISTEN_HOST}:${DEFAULT_LISTEN_PORT}\``,
    description: 'HOST:PORT (IPv6 as `[::1]:8443`); port 0 picks a free port. Non-loopback needs TLS.',
  },
  {
    key: 'store',
    flag: 'store',
    env: `${ENV_PREFIX}STORE`,
    defaultText: `\`${DEFAULT_STORE}\` (\`<data>/${SQLITE_FILE_NAME}\`)`,
    description: '`sqlite` or a `postgres://` / `postgresql://` connection URL.',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: `${ENV_PREFIX}TLS_CERT`,
    defaultText: 'none',
    description: 'PEM certificate chain file; with `tlsKey`, serves HTTPS.',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: `${ENV_PREFIX}TLS_KEY`,
    defaultText: 'none',
    description: 'PEM private key file for `tlsCert`.',
  },
  {
    key: 'bootstrapOut',
    flag: 'bootstrap-out',
    env: `${ENV_PREFIX}BOOTSTRAP_OUT`,
    defaultText: 'none',
    description: 'On first start, also write the bootstrap token to this file (mode 0600).',
  },
  {
    key: 'logSigningKey',
    flag: 'log-signing-key',
    env: `${ENV_PREFIX}LOG_SIGNING_KEY_FILE`,
    defaultText: `\`<data>/${LOG_SIGNING_KEY_FILE_NAME}\``,
    description: 'Ed25519 log-signing key (PKCS#8 PEM, mode 0600); generated there if absent.',
  },
  {
    key: 'origin',
    flag: 'origin',
    env: `${ENV_PREFIX}ORIGIN`,
    defaultText: 'from `listen`',
    description: 'Public origin (`https://custos.example.org`) that devices sign into their auth response.',
  },
  {
    key: 'blobQuota',
    flag: 'blob-quota',
    env: `${ENV_PREFIX}BLOB_QUOTA`,
    defaultText: `\`${DEFAULT_BLOB_QUOTA_BYTES}\` (10 GiB)`,
    description: 'Bytes of encrypted attachments (blobs) each organisation may store.',
  },
  {
    key: 'blobSweep',
    flag: 'blob-sweep',
    env: `${ENV_PREFIX}BLOB_SWEEP`,
    defaultText: '`off`',
    description:
      '`on`: delete blobs no archived record lists, 68 days after their last upload (docs/operations.md, "How long a blob lives"). Off by default: devices keep no attachment copies, so the server\'s blob is the only one their conversation history has.',
  },
  {
    key: 'addressRateLimit',
    flag: 'address-rate-limit',
    env: `${ENV_PREFIX}ADDRESS_RATE_LIMIT`,
    defaultText: `\`${RATE_LIMIT_ADDRESS_PER_SECOND}\``,
    description:
      'Sustained requests per second from one network address (bursts of six times that). Raise it when many devices share an address.',
  },
  {
    key: 'dispositionStep',
    flag: 'disposition-step',
    env: `${ENV_PREFIX}DISPOSITION_STEP`,
    defaultText: `\`${RECORDS_PER_STEP}\``,
    description:
      'Records one disposition step deletes, in one transaction (1–9,999,999). Lower it if ingest stalls while a disposition runs: SQLite has one writer, and a step holds it.',
  },
  {
    key: 'dispositionRequestMs',
    flag: 'disposition-request-ms',
    env: `${ENV_PREFIX}DISPOSITION_REQUEST_MS`,
    defaultText: `\`${EXECUTE_BUDGET_MS}\``,
    description:
      "Milliseconds one disposition execute request works before it answers with its progress (0–999,999; each request does at least one step, so 0 means one step per request). Keep it under your proxy's read timeout.",
  },
  {
    key: 'archiveHandInDays',
    flag: 'archive-hand-in-days',
    env: `${ENV_PREFIX}ARCHIVE_HAND_IN_DAYS`,
    defaultText: `\`${DEFAULT_ARCHIVE_HAND_IN_DAYS}\``,
    description:
      'Days after its revocation during which a device may still upload the archive records it sealed before it (0–365; 0: none). Ingest only: it can do nothing else. See docs/threat-model.md, "Revoked devices and their archive queue".',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: `${ENV_PREFIX}LOG_LEVEL`,
    defaultText: `\`${DEFAULT_LOG_LEVEL}\``,
    description: '`debug`, `info`, `warn` or `error`. No level logs bodies, headers or tokens.',
  },
];

/** The `--config FILE` flag and its environment variable (not a setting itself). */
export const CONFIG_FILE_FLAG = 'config';
/** Environment variable naming the config file. */
export const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG`;
