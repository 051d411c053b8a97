/**
 * `custos verify log`: the auditor's witness over an organisation's log, and
 * `custos verify witness-key`: creating the witness's cosigning key. A thin shell over
 * @custos/console's witness (docs/log.md §7).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isCustosError, parseReceipt, parseVerifierKey, RECEIPT_HEADER } from '@custos/core';
import {
  createWitnessKey,
  httpLogSource,
  isConsoleError,
  loadWitnessKey,
  parseWitnessState,
  readWitnessState,
  WITNESS_STATE_FORMAT,
  witnessLog,
  writeWitnessState,
  type WitnessResult,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { fullId, optionalString, parseFlags, requireString, UsageError } from '../command-flags.js';
import { reportFailure } from '../command-runner.js';
import { terminalSafe } from '../terminal-text.js';

/** Usage of `custos verify log`. */
export const VERIFY_LOG_USAGE = `Usage: custos verify log --server URL --org ORG_ID --state FILE
                         [--log-key VKEY] [--compare CHECKPOINT_FILE]
                         [--cosign-key FILE [--cosigned-out FILE]] [--json]

The auditor's witness. Fetches the organisation's latest signed checkpoint, checks its
signature against the log key pinned in FILE (or given with --log-key; pinned on first use
otherwise — compare it with the key the organisation publishes), checks that the log only
grew since the checkpoint FILE holds (RFC 9162 consistency proof), and only then stores the
new checkpoint in FILE. Exit 1 and nothing stored when the log forked, shrank, changed key
or does not verify.

  --server URL             the Custos server
  --org ORG_ID             the organisation whose log to witness
  --state FILE             the witness state (created on the first run)
  --log-key VKEY           the log's verifier key, obtained out of band
  --compare FILE           a checkpoint someone else saw — a signed checkpoint, a receipt
                           (c2sp.org/tlog-proof@v1) or another witness's state file: it
                           must be on the same log
  --cosign-key FILE        cosign the verified checkpoint (C2SP tlog-cosignature v1) with
                           the witness key made by 'custos verify witness-key'
  --cosigned-out FILE      write the cosigned checkpoint there (default: printed)
  --json                   machine-readable result on stdout

The cosigning key comes from 'custos verify witness-key --help'.
`;

/** Usage of `custos verify witness-key`. */
const WITNESS_KEY_USAGE = `Usage: custos verify witness-key --out FILE --name NAME [--json]

Makes the witness's cosigning key (Ed25519) for 'custos verify log --cosign-key FILE', and
prints the verifier key to publish: whoever checks cosignatures (the organisation, other
auditors) pins it.

  --out FILE               the new key file (mode 0600; keep it secret); never overwritten
  --name NAME              the witness's key name (printable ASCII, no spaces or '+'), as its
                           verifier key carries it
  --json                   machine-readable result on stdout
`;

const LOG_FLAGS = {
  server: 'string',
  org: 'string',
  state: 'string',
  'log-key': 'string',
  compare: 'string',
  'cosign-key': 'string',
  'cosigned-out': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const KEY_FLAGS = { out: 'string', name: 'string', json: 'boolean', help: 'boolean' } as const;

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${what} ${path}`);
  }
}

/**
 * The signed checkpoint in a --compare file. docs/log.md §11 names three sources — a
 * checkpoint, a device's receipt, another auditor's state — so each is taken as it is
 * handed over, not only the bare note; the checkpoint is then verified like any other.
 */
export function checkpointToCompare(text: string, path: string): string {
  if (text.trimStart().startsWith('{')) {
    let format: unknown;
    try {
      format = (JSON.parse(text) as { format?: unknown } | null)?.format;
    } catch {
      throw new UsageError(`${path} is neither a checkpoint, a receipt nor a witness state file (bad JSON)`);
    }
    if (format !== WITNESS_STATE_FORMAT)
      throw new UsageError(`${path} is JSON but not a witness state file (format '${WITNESS_STATE_FORMAT}')`);
    const state = parseWitnessState(text, path);
    return state.checkpoint;
  }
  if (text.startsWith(`${RECEIPT_HEADER}\n`)) return parseReceipt(text).checkpoint;
  return text;
}

function describe(r: WitnessResult): string {
  const head =
    r.outcome === 'first-seen'
      ? `First checkpoint of ${r.origin}: ${r.treeSize} entries. Pinned log key: ${r.verifierKey}\nCompare that key with the one the organisation publishes.`
      : r.outcome === 'unchanged'
        ? `Log ${r.origin} unchanged at ${r.treeSize} entries; the root matches.`
        : `Log ${r.origin} grew from ${r.previousTreeSize} to ${r.treeSize} entries; consistency proof verified.`;
  const lines = [head, `Root: ${b64(r.rootHash)}`];
  for (const c of r.compared)
    lines.push(
      `Compared checkpoint at ${c.treeSize} entries: ${c.relation === 'same' ? 'identical' : 'on the same log'}.`,
    );
  return `${lines.join('\n')}\n`;
}

/** --log-key must be a verifier key (`<origin>+<key id>+<key>`): anything else is a usage mistake, not a mismatch. */
function checkVerifierKey(vkey: string): void {
  try {
    parseVerifierKey(vkey);
  } catch (e) {
    if (!isCustosError(e)) throw e;
    throw new UsageError(`--log-key is not a log verifier key: ${e.message}`);
  }
}

async function verifyLog(args: readonly string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args, LOG_FLAGS);
  if (flags.has('help')) {
    io.stdout.write(VERIFY_LOG_USAGE);
    return 0;
  }
  if (io.checkOnly === true) return 0;
  const server = requireString(flags, 'server');
  const orgId = fullId(
    requireString(flags, 'org'),
    '--org',
    "the organisation's id (not its name) as 'custos org create' printed it",
  );
  const statePath = requireString(flags, 'state');
  const compareFile = optionalString(flags, 'compare');
  const keyFile = optionalString(flags, 'cosign-key');
  const cosignedOut = optionalString(flags, 'cosigned-out');
  if (cosignedOut !== undefined && keyFile === undefined)
    throw new UsageError('--cosigned-out needs --cosign-key');
  const expected = optionalString(flags, 'log-key');
  if (expected !== undefined) checkVerifierKey(expected);
  const result = await witnessLog({
    source: httpLogSource(server, orgId),
    orgId,
    state: readWitnessState(statePath),
    ...(expected === undefined ? {} : { expectedVerifierKey: expected }),
    ...(keyFile === undefined ? {} : { cosigner: loadWitnessKey(keyFile) }),
    ...(compareFile === undefined
      ? {}
      : { compare: [checkpointToCompare(readText(compareFile, 'the checkpoint file'), compareFile)] }),
  });
  writeWitnessState(statePath, result.state);
  if (cosignedOut !== undefined && result.cosigned !== undefined) writeTextFile(cosignedOut, result.cosigned);
  if (flags.has('json')) {
    io.stdout.write(
      `${JSON.stringify(
        {
          ok: true,
          outcome: result.outcome,
          origin: result.origin,
          verifierKey: result.verifierKey,
          previousTreeSize: result.previousTreeSize ?? null,
          treeSize: result.treeSize,
          rootHash: b64(result.rootHash),
          compared: result.compared,
          checkpoint: result.checkpoint,
          cosigned: result.cosigned ?? null,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout.write(terminalSafe(describe(result)));
    if (result.cosigned !== undefined)
      io.stdout.write(
        cosignedOut === undefined
          ? `Cosigned checkpoint:\n${result.cosigned}`
          : `Cosigned checkpoint written to ${cosignedOut}\n`,
      );
  }
  return 0;
}

/** A cosigned checkpoint is public: written with the default mode. */
function writeTextFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {
    throw new UsageError(`cannot write ${path}`);
  }
}

function witnessKey(args: readonly string[], io: CliIo): number {
  const flags = parseFlags(args, KEY_FLAGS);
  if (flags.has('help')) {
    io.stdout.write(WITNESS_KEY_USAGE);
    return 0;
  }
  if (io.checkOnly === true) return 0;
  const out = requireString(flags, 'out');
  const vkey = createWitnessKey(out, requireString(flags, 'name'));
  io.stdout.write(
    flags.has('json')
      ? `${JSON.stringify({ keyFile: out, verifierKey: vkey })}\n`
      : `Witness key written to ${out} (mode 0600; keep it secret).\nVerifier key to publish: ${vkey}\n`,
  );
  return 0;
}

/** Runs `custos verify log|witness-key`; resolves to the exit code. */
export async function runVerifyLog(
  sub: 'log' | 'witness-key',
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  const say = (line: string): void => void io.stderr.write(`custos verify ${sub}: ${line}\n`);
  try {
    return sub === 'log' ? await verifyLog(args, io) : witnessKey(args, io);
  } catch (e) {
    const exit = reportFailure(e, `verify ${sub}`, io, args.includes('--json'));
    if (isConsoleError(e) && e.code.startsWith('LOG_'))
      say('nothing was stored: the state still holds the last good checkpoint');
    return exit;
  }
}
