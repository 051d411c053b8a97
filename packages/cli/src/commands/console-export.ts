/**
 * `custos console export`: a FOIA / eDiscovery production (docs/exports.md §9). Fetches the
 * matching sealed records (blind search, or custodian devices' records), opens and verifies
 * each one as search does, fetches and decrypts attachments, builds the export with its
 * custody manifest (which re-runs every check `custos verify` runs), writes it into a
 * staging folder, records the export on the server (an audit entry: format, count,
 * manifest hash) and only then renames the folder to --out.
 */
import { decryptAttachment } from '@custos/client';
import {
  buildExport,
  checkExportDestination,
  deviceKey,
  EXPORT_FORMATS,
  ExportError,
  fetchExportRecords,
  isExportError,
  provenDeviceUsers,
  publishExport,
  type ExportFormat,
  type ExportQuery,
  type FetchCounts,
  type FetchedExport,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { formatAddress, parseAddress } from '../address-book.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { CliFailure, runCommand } from '../command-runner.js';
import { officerDevice } from '../officer-ids.js';
import { checkNamesOrg, readNamesFile, recordNames } from '../names-file.js';
import { ProgressLine } from '../progress-bar.js';
import { terminalSafe } from '../terminal-text.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';
import { INDEX_CAVEAT, searchQueryOf } from './console-search.js';

const USAGE = `Usage: custos console export --format rsmf|eml|mbox|pdf|json --out DIR [QUERY]
         [--from DATE] [--to DATE] [--participant ADDRESS[,ADDRESS…]] [--conversation ID]
         [--kind KIND[,KIND…]] [--device ID[,ID…]] [--custodian ADDRESS]
         [--names FILE] [--match-case] [--match-diacritics] --profile DIR
         [--passphrase-file FILE] [--json]

Produces an export of archived records for FOIA, eDiscovery or a regulator: every record
that matches is fetched, opened with your keys and verified (device batch signature,
inclusion proof in the signed log checkpoint), attachments are downloaded and decrypted,
and the export is written with a custody manifest that anyone can check offline with
'custos verify DIR'. The export is an audit entry on the server (format, record count,
manifest hash; never the query). A progress bar shows on a terminal (stderr).

  --format F              rsmf (RSMF 2.0), eml, mbox, pdf (transcript) or json
  --out DIR               a new (or empty) folder; it appears only when the export is complete
  QUERY                   words and "quoted phrases", as in 'custos console search'
  --from DATE, --to DATE  UTC days YYYY-MM-DD, inclusive
  --participant ADDRESS   a participant (USERID@ORGID); several comma-separated
  --conversation ID       one conversation or group id
  --kind KIND             message, edit, delete, reaction, … (comma-separated)
  --device ID             custodian device(s): export every record they archived (in
                          sequence order, not through the search index), filtered by the above
  --custodian ADDRESS     the custodian named in the export (default: the one --participant,
                          or the user who owns the --device devices)
  --names FILE            display names for users and the organisation, from an admin's
                          'custos admin users --names-out FILE'; unnamed users show their id.
                          The export records them in its manifest; nothing signs them
${OFFICER_OPTIONS_HELP}
Without --device, give a QUERY, --participant or --conversation (a date range alone is too broad).
See docs/exports.md and docs/officers.md ("FOIA / eDiscovery export").
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  format: 'string',
  out: 'string',
  from: 'string',
  to: 'string',
  participant: 'string',
  conversation: 'string',
  kind: 'string',
  device: 'string',
  custodian: 'string',
  names: 'string',
  'match-case': 'boolean',
  'match-diacritics': 'boolean',
} as const;

/** A CLI address (USERID@ORGID) as records write it (ORGID.USERID); other text unchanged. */
function recordAddress(text: string): string {
  const u = parseAddress(text);
  return u === undefined ? text : `${u.orgId}.${u.userId}`;
}

/** A record address (ORGID.USERID) as the CLI writes it. */
function cliAddress(recordId: string): string {
  const dot = recordId.indexOf('.');
  return dot <= 0
    ? recordId
    : formatAddress({ orgId: recordId.slice(0, dot), userId: recordId.slice(dot + 1) });
}

/** The organisation as an export's custodian (no single user is). */
const orgCustodian = (orgId: string): string => `${orgId} (organisation)`;

/**
 * The custodian: --custodian, the one participant, or the user whose devices were exported,
 * as the log proves their enrolments (the evidence the export carries). Not the senders of
 * the devices' sent records: a laptop that only received in the range has none, and its
 * export named the organisation.
 */
export function custodianOf(
  flag: string | undefined,
  query: ExportQuery,
  fetched: Pick<FetchedExport, 'enrolments' | 'log'>,
  orgId: string,
): string {
  if (flag !== undefined) return recordAddress(flag);
  if (query.participants?.length === 1) return query.participants[0]!;
  if (query.devices !== undefined) {
    const proven = provenDeviceUsers(fetched.enrolments, fetched.log);
    // The exported devices' users (a device with no record in the range has no evidence and adds none).
    const users = new Set(query.devices.flatMap((d) => proven.get(deviceKey(orgId, d)) ?? []));
    if (users.size === 1) return [...users][0]!;
  }
  return orgCustodian(orgId);
}

/** Runs `custos console export`. */
export function runConsoleExport(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console export', usage: USAGE, flags: FLAGS, maxPositionals: 64 },
    args,
    io,
    async (ctx) => {
      const format = requireString(ctx.flags, 'format');
      if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`--format ${format}: not one of ${EXPORT_FORMATS.join(', ')}`);
      }
      const out = requireString(ctx.flags, 'out');
      const devices = optionalString(ctx.flags, 'device')
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((d) => officerDevice('device', d));
      const byDevice = devices !== undefined && devices.length > 0;
      const query: ExportQuery = {
        ...searchQueryOf(ctx.flags, ctx.positionals, Date.now(), false),
        ...(byDevice ? { devices } : {}),
      };
      if (
        !byDevice &&
        query.text === undefined &&
        query.participants === undefined &&
        query.conversationId === undefined
      ) {
        throw new UsageError('give a QUERY, --participant, --conversation or --device');
      }
      const custodianFlag = optionalString(ctx.flags, 'custodian');
      const namesPath = optionalString(ctx.flags, 'names');
      // Read before anything is fetched: a bad file costs no server work.
      const namesFile = namesPath === undefined ? undefined : readNamesFile(namesPath);
      try {
        checkExportDestination(out);
      } catch (e) {
        throw new CliFailure('OUT_EXISTS', isExportError(e) ? e.message : String(e));
      }
      const bar = new ProgressLine(ctx.io.stderr);
      const fetchLabel = (c: FetchCounts) =>
        `fetched ${c.fetched} · opened ${c.opened} · attachments ${c.attachments}`;
      try {
        const summary = await withOfficerSession(ctx, async (s) => {
          if (namesFile !== undefined) checkNamesOrg(namesFile, namesPath!, s.orgId);
          const fetched = await fetchExportRecords(s, query, {
            openAttachment: decryptAttachment,
            onProgress: (c) => bar.update(fetchLabel(c), c.opened),
          });
          const n = fetched.records.length;
          if (n === 0)
            throw new CliFailure(
              'NOTHING_TO_EXPORT',
              `no record matches: nothing was written${byDevice ? '' : `. ${INDEX_CAVEAT}`}`,
            );
          const custodian = custodianOf(custodianFlag, query, fetched, s.orgId);
          const displayNames =
            namesFile === undefined ? undefined : recordNames(namesFile, orgCustodian(s.orgId));
          const built = await buildExport(
            {
              records: fetched.records,
              custodian,
              ...(displayNames === undefined ? {} : { displayNames }),
              log: fetched.log,
              enrolments: fetched.enrolments,
              gapDeclarations: fetched.gapDeclarations,
            },
            { format: format as ExportFormat, onProgress: (d, t) => bar.update('checked', d, t, d === t) },
          );
          let recordedAt = 0;
          await publishExport(
            built.files,
            out,
            async () => {
              bar.update('recording the export on the server', 0);
              const r = await s.call('POST', `/v1/orgs/${s.orgId}/archive/exports`, {
                format,
                records: n,
                manifestSha256: built.manifestSha256,
              });
              recordedAt = typeof r.recordedAt === 'number' ? r.recordedAt : 0;
            },
            (d, t) => bar.update('written', d, t, d === t),
          );
          bar.done();
          return {
            format,
            out,
            records: n,
            files: built.files.map((f) => f.path),
            counts: {
              records: n,
              fetched: n + fetched.filteredOut,
              filteredOut: fetched.filteredOut,
              files: built.files.length,
              attachments: fetched.attachmentsReferenced - fetched.attachmentsMissing.length,
              attachmentsMissing: fetched.attachmentsMissing.length,
              attachmentsNotListed: fetched.attachmentsNotListed.length,
              gapDeclarations: fetched.gapDeclarations.length,
            },
            attachmentsNotListed: fetched.attachmentsNotListed,
            custodian: cliAddress(custodian),
            custodianName: displayNames?.get(custodian) ?? null,
            checkpoints: built.checkpoints,
            manifestSha256: built.manifestSha256,
            log: fetched.log,
            recordedAt,
          };
        });
        ctx.result(
          [
            `Exported ${summary.records} record(s) as ${format} to ${out} (${summary.files.length} files).`,
            `Custodian ${summary.custodianName === null ? summary.custodian : `${terminalSafe(summary.custodianName)} (${summary.custodian})`}; proven against ${summary.checkpoints.join('; ')}.`,
            ...(summary.counts.attachmentsMissing > 0
              ? [
                  `${summary.counts.attachmentsMissing} attachment(s) are no longer on the server and are marked as not exported.`,
                ]
              : []),
            ...(summary.counts.attachmentsNotListed > 0
              ? [
                  `Warning: ${summary.counts.attachmentsNotListed} record(s) name attachments their header does not list (${notListedSample(summary.attachmentsNotListed)}); the server keeps those blobs only while it cannot tell them apart (a client older than the list), so they may be swept once that stops.`,
                ]
              : []),
            ...(summary.counts.gapDeclarations > 0
              ? [
                  `${summary.counts.gapDeclarations} gap declaration(s): runs of records the devices declared lost, carried with their log proofs.`,
                ]
              : []),
            ...(byDevice ? [] : [INDEX_CAVEAT]),
            `Custody manifest SHA-256: ${summary.manifestSha256}`,
            `Check it with: custos verify ${out} --log-key '${summary.log.verifierKey}'`,
          ],
          summary,
        );
        return 0;
      } catch (e) {
        bar.done();
        // Export failures (a record that does not verify, a blob that does not match) carry their own code.
        if (isExportError(e))
          throw new ExportError(e.code, `${e.message}; no export was written`, e.subject, e);
        throw e;
      }
    },
  );
}

/** The first few records of a not-listed finding, for one line of the summary. */
function notListedSample(records: readonly { readonly record: string }[]): string {
  const shown = records.slice(0, 3).map((r) => r.record);
  return records.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}
