/**
 * `custos org unlock`: a quorum of share files acts as the root for one operation
 * (docs/officers.md §5): re-issuing the key-manager delegation, or rotating the key-manager
 * key. The recovered secrets
 * live only in this process and are dropped when it ends; nothing is written but the
 * profile's org.json.
 */
import {
  DEFAULT_DELEGATION_DAYS,
  MAX_DELEGATION_DAYS,
  extendedDelegationEnd,
  reissueDelegation,
  rotateKeyManager,
  rotateRootKey,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import {
  OFFICER_FLAGS,
  OFFICER_OPTIONS_HELP,
  SHARE_FLAGS,
  SHARE_OPTIONS_HELP,
  unlockShares,
  utc,
  withOfficerSession,
} from './console-officer.js';
import { newPassphrases } from './org-officers.js';

const USAGE = `Usage: custos org unlock --profile DIR --shares LIST --reissue-delegation [--days N]
       custos org unlock --profile DIR --shares LIST --rotate-key-manager [--days N]
       custos org unlock --profile DIR --shares LIST --rotate-root --out DIR
                        [--new-passphrase-file FILE]
       (each also takes --passphrase-file FILE, --share-passphrase-file FILE and --json)

Combines a quorum (m) of the officers' share files to act as the organisation's root for one
operation, run from one officer's profile (its officer device registers the result).

  --reissue-delegation    sign a new key-manager delegation with the org signing key and
                          register it: same key-manager key, same start, valid until the end
                          of the UTC month N days from now. Needs org-signing-key shares.
  --rotate-key-manager    generate a NEW key-manager key, sign its delegation (valid from now
                          until the end of the UTC month N days from now) with the org signing
                          key, wrap the key to the root and every officer, and register it.
                          Buckets made before keep working; run 'custos org buckets --ahead'
                          next so devices move to buckets signed by the new key. Needs
                          org-signing-key shares.
  --rotate-root           generate a NEW root archive key, split it m-of-n to the current
                          officers (new org-root-archive-key share files under --out), re-wrap
                          every bucket key (and the key-manager key) to it and register it,
                          signed by the org signing key; the server replaces the old root
                          wraps. A rerun with the same --out resumes an interrupted rotation.
                          Needs org-signing-key and org-root-archive-key shares (share folders).
  --out DIR               (--rotate-root) a new folder for the new shares and org.json
  --new-passphrase-file FILE
                          (--rotate-root) one passphrase per officer, in officer order: it
                          seals their new root share; otherwise typed
  --days N                validity from now, in days (default ${DEFAULT_DELEGATION_DAYS}, at most ${MAX_DELEGATION_DAYS})
${SHARE_OPTIONS_HELP}${OFFICER_OPTIONS_HELP}
Adding or removing an officer is 'custos org officers'; rotating the org signing key and the
index secret is not implemented (see docs/officers.md §5). Nothing is changed when a share is
missing, modified or its passphrase is wrong.
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  ...SHARE_FLAGS,
  'reissue-delegation': 'boolean',
  'rotate-key-manager': 'boolean',
  'rotate-root': 'boolean',
  out: 'string',
  'new-passphrase-file': 'string',
  days: 'string',
} as const;

/** Runs `custos org unlock`. */
export function runOrgUnlock(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'org unlock', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const reissue = ctx.flags.has('reissue-delegation');
      const rotate = ctx.flags.has('rotate-key-manager');
      const rotateRoot = ctx.flags.has('rotate-root');
      if ([reissue, rotate, rotateRoot].filter(Boolean).length !== 1)
        throw new UsageError(
          'choose one operation: --reissue-delegation, --rotate-key-manager or --rotate-root',
        );
      if (rotateRoot) {
        const out = requireString(ctx.flags, 'out');
        const r = await withOfficerSession(ctx, async (session) => {
          const root = await unlockShares(ctx, ['org-signing-key', 'org-root-archive-key']);
          try {
            ctx.note('custos org unlock: org signing key and root archive key recovered; rotating the root');
            return await rotateRootKey(session, root, {
              out,
              passphrases: () =>
                newPassphrases(
                  ctx,
                  session.officer.org.officers.map((o) => o.index),
                ),
              now: Date.now(),
              progress: (m) => ctx.note(`custos org unlock: ${m}`),
            });
          } finally {
            root.destroy();
          }
        });
        ctx.result(
          [
            `Root archive key rotated${r.resumed ? ' (resumed)' : ''}: ${r.previousFingerprint} -> ${r.rootArchiveKeyFingerprint}.`,
            `${r.rewrapped.length} bucket keys re-wrapped to the new root${r.keyManagerRewrapped ? ', and the key-manager key' : ''}; the old root wraps on the server are gone.`,
            `New root shares (quorum ${r.threshold} of ${r.officers.length}) are under ${r.out}/shares: hand each officer their org-root-archive-key.share.json and destroy the old one.`,
          ],
          { operation: 'rotate-root', ...r },
        );
        return;
      }
      const daysText = optionalString(ctx.flags, 'days');
      if (daysText !== undefined && !/^[1-9][0-9]{0,4}$/.test(daysText))
        throw new UsageError(`--days must be an integer from 1 to ${MAX_DELEGATION_DAYS}`);
      const days = daysText === undefined ? DEFAULT_DELEGATION_DAYS : Number(daysText);
      if (days > MAX_DELEGATION_DAYS)
        throw new UsageError(`--days must be an integer from 1 to ${MAX_DELEGATION_DAYS}`);
      if (rotate) {
        const r = await withOfficerSession(ctx, async (session) => {
          const root = await unlockShares(ctx, ['org-signing-key']);
          try {
            ctx.note('custos org unlock: org signing key recovered; rotating the key-manager key');
            return await rotateKeyManager(session, root, days, Date.now());
          } finally {
            root.destroy();
          }
        });
        ctx.result(
          [
            `Key-manager key rotated: ${r.previousFingerprint} -> ${r.keyManagerFingerprint}, valid ${utc(r.notBefore)} to ${utc(r.notAfter)} UTC.`,
            `The new key is wrapped to ${r.wrappedTo.join(', ')} (officer indexes and the root archive key).`,
            "Next: 'custos org buckets --ahead N --shares …' so devices move to buckets signed by the new key.",
          ],
          { operation: 'rotate-key-manager', ...r },
        );
        return;
      }
      const r = await withOfficerSession(ctx, async (session) => {
        // A delegation that would not be extended is refused before the shares are opened.
        await extendedDelegationEnd(session, days, Date.now());
        const root = await unlockShares(ctx, ['org-signing-key']);
        try {
          ctx.note('custos org unlock: org signing key recovered; signing the new delegation');
          return await reissueDelegation(session, root, days, Date.now());
        } finally {
          root.destroy();
        }
      });
      ctx.result(
        [
          `Key-manager delegation ${r.changed ? 're-issued' : 'already registered'}: key ${r.keyManagerFingerprint}, valid ${utc(r.notBefore)} to ${utc(r.notAfter)} UTC.`,
          "Other officers' profiles pick it up the next time they run 'custos org buckets'.",
        ],
        { operation: 'reissue-delegation', ...r },
      );
    },
  );
}
