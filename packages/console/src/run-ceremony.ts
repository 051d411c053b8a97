/**
 * The key ceremony (docs/ceremony.md), run on an officer's machine, never on the server.
 * Local material is written to a staging folder next to `out` first; the server is called as
 * few times as its API allows; a journal records each completed step so a rerun with the same
 * `out` resumes; at the end secrets that were only needed while running are wiped and the
 * staging tree is renamed to `out` in one step.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  isWellFormedId,
  sealArchivePolicy,
  sealKeyManagerDelegation,
  type ArchivePolicyName,
} from '@custos/core';
import { delegationWindow } from './bucket-periods.js';
import { b64u, CeremonyApi, type CreateOrgRequest } from './ceremony-api.js';
import { CeremonyDeviceKey } from './ceremony-device.js';
import { isDone, JOURNAL_FILE, markDone, readJournal, type Journal } from './ceremony-journal.js';
import { CEREMONY_SECRET_KINDS, ceremonyLayout, type CeremonyLayout } from './ceremony-layout.js';
import { writeCeremonyMaterial } from './ceremony-material.js';
import {
  bootstrapError,
  checkOptions,
  passphraseSource,
  type CeremonyOptions,
  type CeremonyProgress,
  type CeremonyResult,
} from './ceremony-options.js';
import { ConsoleError, isConsoleError } from './console-error.js';
import { STAGING_SUFFIX } from './defaults.js';
import {
  encodeOfficerPublicKey,
  generateOfficerKeys,
  openOfficerKeyFile,
  sealOfficerKeyFile,
  type OfficerKeys,
} from './officer-keys.js';
import {
  generateOrgSecrets,
  openPendingSecrets,
  sealPendingSecrets,
  type OrgSecrets,
} from './org-secrets.js';
import { exists, mkdirPrivate, removeTree, wipeFile, writePrivateFile } from './private-files.js';
import { formatProfileFile, readProfileFile, type AdminProfileFile, type OrgFile } from './profile-files.js';
import { keyFingerprint } from './signing-key.js';

const PENDING_FILE = 'pending-secrets.json';
/** Random bytes of an org id the ceremony chooses (22 base64url characters, as the server's ids). */
const ORG_ID_BYTES = 16;

/** The policy a ceremony states: `required` unless the options say otherwise. */
const policyOf = (o: { readonly archivePolicy?: ArchivePolicyName }): ArchivePolicyName =>
  o.archivePolicy ?? 'required';
const DEVICE_KEY_FILE = 'ceremony-device.key';

/** Step 1: org secrets, officer keys and key files, the signed delegation, the pending file. */
async function sealKeys(
  o: CeremonyOptions,
  staging: string,
  layout: CeremonyLayout,
  passphrases: readonly string[],
  report: (m: string) => void,
): Promise<{ journal: Journal; secrets: OrgSecrets }> {
  const startedAt = (o.now ?? Date.now)();
  const ceremonyId = randomBytes(16).toString('hex');
  report(
    'generating the org signing key, the root archive key, the org index secret and the key-manager key',
  );
  const secrets = await generateOrgSecrets();
  const officers: OfficerKeys[] = [];
  for (let i = 0; i < o.officers; i++) {
    const keys = await generateOfficerKeys(i, secrets.keyManager);
    writePrivateFile(
      layout.officerKeyFile(i),
      await sealOfficerKeyFile(keys, ceremonyId, passphrases[i]!, o.kdf ?? {}),
    );
    officers.push(keys);
    report(`officer ${i + 1}: key pairs generated, key file sealed with their passphrase`);
  }
  const window = delegationWindow(startedAt);
  const delegation = sealKeyManagerDelegation(
    { key: secrets.keyManager.publicKey, ...window },
    secrets.signingKey,
  );
  report(
    `key-manager delegation signed by the org signing key, valid ${new Date(window.notBefore).toISOString()} to ${new Date(window.notAfter).toISOString()}`,
  );
  writePrivateFile(join(staging, PENDING_FILE), await sealPendingSecrets(secrets, ceremonyId, officers));
  // The ceremony names the org itself: the archive policy statement is signed for this id.
  const orgId = randomBytes(ORG_ID_BYTES).toString('base64url');
  const policy = policyOf(o);
  const statement = sealArchivePolicy({ org: orgId, name: o.name, policy }, secrets.signingKey);
  report(
    policy === 'required'
      ? 'archive policy signed by the org signing key: required (every device captures and uploads)'
      : 'archive policy signed by the org signing key: none (devices capture nothing; no bucket keys)',
  );
  const request: CreateOrgRequest = {
    orgId,
    name: o.name,
    signingPublicKey: b64u(secrets.signingKey.publicKey),
    rootArchivePublicKey: b64u(secrets.rootArchivePublicKey.toBytes()),
    keyManager: { delegation: b64u(delegation), ...window },
    officers: officers.map((k) => ({ publicKey: b64u(encodeOfficerPublicKey(k)) })),
    officerQuorum: o.threshold,
    archivePolicyStatement: b64u(statement),
  };
  const journal: Journal = {
    version: 1,
    ceremonyId,
    startedAt,
    options: {
      server: o.server,
      name: o.name,
      officers: o.officers,
      threshold: o.threshold,
      archivePolicy: policy,
    },
    request,
    done: [],
  };
  markDone(staging, journal, 'keys-sealed');
  return { journal, secrets };
}

/** Wipes the staging folder's secrets (pending file, device key, journal) and removes it. */
function wipeStaging(staging: string): void {
  for (const f of [PENDING_FILE, DEVICE_KEY_FILE, JOURNAL_FILE]) wipeFile(join(staging, f));
  removeTree(staging);
}

/** Runs (or resumes) the key ceremony; see docs/ceremony.md. */
export async function runCeremony(
  options: CeremonyOptions,
  progress: CeremonyProgress = () => undefined,
): Promise<CeremonyResult> {
  checkOptions(options);
  const out = resolve(options.out);
  const staging = `${out}${STAGING_SUFFIX}`;
  const tree = join(staging, 'tree');
  const layout = ceremonyLayout(tree);
  const api = new CeremonyApi(options.server, options.fetch);
  const getPassphrases = passphraseSource(options);
  let step = 'check';
  const report = (message: string): void => progress({ step, message });

  if (exists(out)) {
    throw new ConsoleError(
      'OUT_EXISTS',
      `${out} already exists: a ceremony writes a new folder; choose another --out`,
    );
  }
  let journal = readJournal(staging);
  const resumed = journal !== undefined && isDone(journal, 'keys-sealed');
  if (journal !== undefined && resumed) {
    const j = journal.options;
    if (
      j.server !== options.server ||
      j.name !== options.name ||
      j.officers !== options.officers ||
      j.threshold !== options.threshold ||
      policyOf(j) !== policyOf(options)
    ) {
      throw new ConsoleError(
        'STAGING_MISMATCH',
        `${staging} holds an interrupted ceremony with other options (server ${j.server}, name "${j.name}", ` +
          `${j.threshold} of ${j.officers}, archive policy ${policyOf(j)}); rerun with those, or remove the staging folder to start over`,
      );
    }
    report(`resuming the interrupted ceremony in ${staging} (done: ${journal.done.join(', ')})`);
  }
  let secrets: OrgSecrets | undefined;
  if (journal === undefined || !resumed) {
    const passphrases = await getPassphrases();
    removeTree(staging);
    mkdirSync(dirname(out), { recursive: true });
    mkdirPrivate(staging);
    step = 'keys';
    ({ journal, secrets } = await sealKeys(options, staging, layout, passphrases, report));
  }
  const j = journal;

  if (!isDone(j, 'org-created')) {
    step = 'register-org';
    report(`registering the organisation's public keys with ${api.baseUrl}`);
    const org = await api.createOrg(options.bootstrapToken, j.request).catch((e: unknown) => {
      // A used token cannot create this org any more: the staged secrets are useless, wipe them.
      if (isConsoleError(e) && e.serverCode === 'BOOTSTRAP_USED') wipeStaging(staging);
      return bootstrapError(e);
    });
    const expected = keyFingerprint(new Uint8Array(Buffer.from(j.request.signingPublicKey, 'base64url')));
    if (
      org.signingKeyFingerprint !== expected ||
      !org.enrolmentCode.endsWith(`.${expected}`) ||
      !isWellFormedId(org.orgId) ||
      (j.request.orgId !== undefined && org.orgId !== j.request.orgId)
    ) {
      throw new ConsoleError(
        'FINGERPRINT_MISMATCH',
        'the server answered with another org signing-key fingerprint: stop, the server is not trustworthy',
      );
    }
    j.org = org;
    markDone(staging, j, 'org-created');
    report(`organisation ${org.orgId} created; org signing-key fingerprint ${org.signingKeyFingerprint}`);
  }
  const org = j.org!;

  if (!isDone(j, 'material-written')) {
    step = 'material';
    const passphrases = await getPassphrases();
    if (secrets === undefined) {
      const officer = await openOfficerKeyFile(
        readFileSync(layout.officerKeyFile(0), 'utf8'),
        passphrases[0]!,
        options.kdf ?? {},
      );
      secrets = await openPendingSecrets(
        readFileSync(join(staging, PENDING_FILE), 'utf8'),
        j.ceremonyId,
        officer,
      );
    }
    await writeCeremonyMaterial({
      layout,
      orgId: org.orgId,
      server: options.server,
      request: j.request,
      signingKeyFingerprint: org.signingKeyFingerprint,
      startedAt: j.startedAt,
      threshold: options.threshold,
      secrets,
      passphrases,
      kdf: options.kdf ?? {},
      progress: report,
      archivePolicy: policyOf(j.options),
    });
    markDone(staging, j, 'material-written');
  }
  secrets?.indexSecret.fill(0);
  const orgFile = readProfileFile<OrgFile>(layout.orgFile, 'custos-org');

  const deviceKeyPath = join(staging, DEVICE_KEY_FILE);
  if (!isDone(j, 'device-enrolled')) {
    step = 'enrol-device';
    // The key is on disk before the code is spent, so a crash after enrolment can still log in.
    const key = CeremonyDeviceKey.generate();
    writePrivateFile(deviceKeyPath, key.serialize());
    const r = await api.call('POST', `/v1/orgs/${org.orgId}/devices`, {
      ...key.enrolmentBody(api.origin),
      enrolmentCode: org.enrolmentCode,
    });
    if (typeof r.deviceId !== 'string')
      throw new ConsoleError('SERVER_REFUSED', 'device enrolment: no device id');
    j.device = { deviceId: r.deviceId };
    markDone(staging, j, 'device-enrolled');
    report(`transient ceremony device ${r.deviceId} enrolled as the first admin`);
  }
  const deviceId = j.device!.deviceId;
  let auth: Awaited<ReturnType<CeremonyDeviceKey['login']>> | undefined;
  const login = async (): Promise<NonNullable<typeof auth>> =>
    (auth ??= await CeremonyDeviceKey.deserialize(readFileSync(deviceKeyPath)).login(
      api,
      org.orgId,
      deviceId,
    ));

  if (!isDone(j, 'buckets-registered')) {
    step = 'register-buckets';
    for (const b of orgFile.buckets) {
      // Idempotent on the server: the same document again returns the stored bucket.
      await api.call('POST', `/v1/orgs/${org.orgId}/buckets`, { document: b.document }, await login());
      report(`bucket ${b.bucketId} registered`);
    }
    markDone(staging, j, 'buckets-registered');
  }

  if (!isDone(j, 'admin-code-issued')) {
    step = 'admin-profile';
    const c = await api.call(
      'POST',
      `/v1/orgs/${org.orgId}/users/${org.adminUserId}/enrolment-codes`,
      {},
      await login(),
    );
    if (typeof c.enrolmentCode !== 'string' || typeof c.expiresAt !== 'number') {
      throw new ConsoleError('SERVER_REFUSED', 'enrolment code: the answer lacks required fields');
    }
    if (!c.enrolmentCode.endsWith(`.${org.signingKeyFingerprint}`)) {
      throw new ConsoleError(
        'FINGERPRINT_MISMATCH',
        'the new enrolment code carries another org fingerprint: stop, the server is not trustworthy',
      );
    }
    const admin: AdminProfileFile = {
      format: 'custos-admin-profile',
      version: 1,
      server: options.server,
      orgId: org.orgId,
      orgName: options.name,
      adminUserId: org.adminUserId,
      signingKeyFingerprint: org.signingKeyFingerprint,
      enrolmentCode: c.enrolmentCode,
      enrolmentCodeExpiresAt: c.expiresAt,
    };
    writePrivateFile(layout.adminProfile, formatProfileFile(admin));
    j.admin = { expiresAt: c.expiresAt };
    markDone(staging, j, 'admin-code-issued');
    report(`first admin profile written; its enrolment code expires ${new Date(c.expiresAt).toISOString()}`);
  }

  if (!isDone(j, 'device-revoked')) {
    step = 'revoke-device';
    try {
      await api.call('POST', `/v1/orgs/${org.orgId}/devices/${deviceId}/revoke`, {}, await login());
    } catch (e) {
      if (!(
        isConsoleError(e) &&
        (e.serverCode === 'DEVICE_ALREADY_REVOKED' || e.serverCode === 'DEVICE_REVOKED')
      ))
        throw e;
    }
    markDone(staging, j, 'device-revoked');
    report(`transient ceremony device ${deviceId} revoked`);
  }

  step = 'finish';
  wipeFile(deviceKeyPath);
  wipeFile(join(staging, PENDING_FILE));
  renameSync(tree, out);
  wipeFile(join(staging, JOURNAL_FILE));
  removeTree(staging);
  const final = ceremonyLayout(out);
  report(`done: ${out}`);
  return {
    orgId: org.orgId,
    name: options.name,
    server: options.server,
    signingKeyFingerprint: org.signingKeyFingerprint,
    rootArchiveKeyFingerprint: orgFile.rootArchiveKeyFingerprint,
    keyManagerFingerprint: keyFingerprint(
      new Uint8Array(Buffer.from(orgFile.keyManager.publicKey, 'base64url')),
    ),
    out,
    orgFile: final.orgFile,
    adminProfile: final.adminProfile,
    officers: orgFile.officers.map((o) => ({
      officerIndex: o.index,
      shareIndex: o.index + 1,
      profileDir: final.officerDir(o.index),
      shareFiles: CEREMONY_SECRET_KINDS.map((k) => final.shareFile(o.index, k)),
    })),
    buckets: orgFile.buckets.map((b) => b.bucketId),
    archivePolicy: policyOf(j.options),
    resumed,
  };
}
