/** Options, progress events and results of the key ceremony, and the checks on its options. */
import type { HttpFetch } from '@custos/client/http-fetch';
import { MIN_PASSPHRASE_LENGTH, type ArchivePolicyName, type SealShareOptions } from '@custos/core';
import { ConsoleError, isConsoleError } from './console-error.js';
import { MAX_OFFICERS, MAX_ORG_NAME_LENGTH, MIN_OFFICERS } from './defaults.js';

/** What a ceremony needs. */
export interface CeremonyOptions {
  /** Server base URL, e.g. `https://custos.example.org`. */
  readonly server: string;
  readonly bootstrapToken: string;
  readonly name: string;
  /** n: officers, each with a share, a key pair and a profile. */
  readonly officers: number;
  /** m: shares needed to recover an org secret. */
  readonly threshold: number;
  /** Output folder; must not exist yet (its staging folder may, to resume). */
  readonly out: string;
  /** The n officer passphrases in officer order; called only when a step needs them. */
  readonly passphrases: () => Promise<readonly string[]>;
  /** Clock (ms); fixes bucket periods and windows. */
  readonly now?: () => number;
  /** scrypt options of share and officer key files. Tests only may pass `allowWeakKdfForTests`. */
  readonly kdf?: SealShareOptions;
  /**
   * Whether the org archives (default `required`). Signed with the org signing key into the
   * archive policy statement devices verify; a `none` org gets no bucket keys.
   */
  readonly archivePolicy?: ArchivePolicyName;
  /** Replaces the HTTP transport (tests drop the connection after the server answered). */
  readonly fetch?: HttpFetch;
}

/** One progress report. */
export interface CeremonyProgressEvent {
  readonly step: string;
  readonly message: string;
}

/** Receives progress reports (the CLI prints them on stderr). */
export type CeremonyProgress = (event: CeremonyProgressEvent) => void;

/** What a finished ceremony made. */
export interface CeremonyResult {
  readonly orgId: string;
  readonly name: string;
  readonly server: string;
  readonly signingKeyFingerprint: string;
  readonly rootArchiveKeyFingerprint: string;
  readonly keyManagerFingerprint: string;
  readonly out: string;
  readonly orgFile: string;
  readonly adminProfile: string;
  readonly officers: readonly {
    readonly officerIndex: number;
    readonly shareIndex: number;
    readonly profileDir: string;
    readonly shareFiles: readonly string[];
  }[];
  readonly buckets: readonly string[];
  readonly archivePolicy: ArchivePolicyName;
  /** True when this run resumed an interrupted ceremony. */
  readonly resumed: boolean;
}

/** Checks options before anything is generated or sent; INVALID_OPTIONS names the option. */
export function checkOptions(o: CeremonyOptions): void {
  const bad = (what: string): never => {
    throw new ConsoleError('INVALID_OPTIONS', what);
  };
  let url: URL;
  try {
    url = new URL(o.server);
  } catch {
    return bad('--server must be a URL such as https://custos.example.org');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') bad('--server must be an http or https URL');
  if (!/^cb1\.[A-Za-z0-9_-]{43}$/.test(o.bootstrapToken)) bad('--bootstrap is not a bootstrap token (cb1.…)');
  if (o.name.trim().length === 0 || o.name.length > MAX_ORG_NAME_LENGTH)
    bad(`--name must be 1..${MAX_ORG_NAME_LENGTH} characters`);
  if (!Number.isInteger(o.officers) || o.officers < MIN_OFFICERS || o.officers > MAX_OFFICERS) {
    bad(`--officers must be an integer ${MIN_OFFICERS}..${MAX_OFFICERS}`);
  }
  if (!Number.isInteger(o.threshold) || o.threshold < 2 || o.threshold > o.officers) {
    bad('--threshold must be an integer from 2 to the number of officers');
  }
}

/** Asks for passphrases once and checks them. */
export function passphraseSource(o: CeremonyOptions): () => Promise<readonly string[]> {
  let cached: Promise<readonly string[]> | undefined;
  return () =>
    (cached ??= o.passphrases().then((p) => {
      if (p.length !== o.officers)
        throw new ConsoleError('INVALID_OPTIONS', `need ${o.officers} passphrases, got ${p.length}`);
      p.forEach((s, i) => {
        if ([...s.normalize('NFKC')].length < MIN_PASSPHRASE_LENGTH) {
          throw new ConsoleError(
            'INVALID_OPTIONS',
            `officer ${i + 1}'s passphrase is shorter than ${MIN_PASSPHRASE_LENGTH} characters`,
          );
        }
      });
      return p;
    }));
}

/** Turns the server's bootstrap refusals into errors that say what happened and what to do. */
export function bootstrapError(e: unknown): never {
  if (isConsoleError(e) && e.serverCode === 'BOOTSTRAP_USED') {
    throw new ConsoleError(
      'BOOTSTRAP_USED',
      'the server refused the bootstrap token because it has already been used: a bootstrap token creates exactly one ' +
        'organisation, and this one has created its organisation. Nothing was registered by this run. For a new ' +
        "organisation, ask the server operator for a new token ('custos server bootstrap-token' on the server). If an " +
        "earlier run of this ceremony lost the server's answer, that organisation cannot be completed.",
      { cause: e, serverCode: 'BOOTSTRAP_USED' },
    );
  }
  if (isConsoleError(e) && e.serverCode === 'BOOTSTRAP_INVALID') {
    throw new ConsoleError(
      'BOOTSTRAP_INVALID',
      "the server refused the bootstrap token: it is not a token this server issued (at first start, or by 'custos " +
        "server bootstrap-token'), or it was mistyped. Nothing was registered: rerun with the right token to continue.",
      { cause: e, serverCode: 'BOOTSTRAP_INVALID' },
    );
  }
  throw e;
}
