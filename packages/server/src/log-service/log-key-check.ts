/**
 * The start-up check that the log-signing key is the one the store's logs were created
 * with. Each log records its origin and verifier key when it is created and never changes
 * them (docs/log.md §10), so a server signing with another key — a restore without the key
 * file, a wrong --log-signing-key path, a key generated because the file was missing — would
 * serve that verifier key beside checkpoints it does not verify: every device's receipt check
 * and every auditor's witness fails, and the bad checkpoints stay in the store for good.
 * Refusing to start is the only safe answer; `custos doctor` reports the same mismatch.
 */
import { ConfigError } from '../config/config-error.js';
import type { LogStore } from '../store/log-stores.js';
import { logVerifierKey, type LogKey } from './checkpoint-signing.js';

/**
 * Throws ConfigError (setting `logSigningKey`) when a log in the store was created with
 * another key than `key`. `created`: the key was generated on this start because `path` held
 * none, so the message says to restore the file rather than to pick another one.
 */
export async function checkLogSigningKey(
  log: Pick<LogStore, 'logKeys'>,
  key: LogKey,
  path: string,
  created: boolean,
): Promise<void> {
  const logs = await log.logKeys();
  const foreign = logs.filter((l) => logVerifierKey(l.origin, key) !== l.verifierKey);
  if (foreign.length === 0) return;
  const which = `${foreign.length} of the ${logs.length} organisation log(s) in the store (org ${foreign[0]!.orgId}${foreign.length > 1 ? ', …' : ''})`;
  throw new ConfigError(
    'logSigningKey',
    created
      ? `there was no key at ${path}, but ${which} were signed with one: restore that key file from its backup (or point --log-signing-key at it) and start again; a new key would sign checkpoints that no device or auditor accepts (the generated file was removed)`
      : `${path} is not the key ${which} were signed with: use the key file they were signed with (--log-signing-key); another key would sign checkpoints that no device or auditor accepts`,
  );
}
