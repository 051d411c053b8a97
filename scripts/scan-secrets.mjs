#!/usr/bin/env node
// Secret scan (threat model F6): every version of every file in the repository's history
// (which includes the current tree), with secretlint's recommended rule preset. Run by
// `npm test` (through `npm run secrets`); exits 1 on any finding that is not allow-listed.
//
// The allow-list (.secretlint-allow.json) names a path prefix, the rule, the reason and,
// optionally, the exact blobs (abbreviated ids) it covers;
// only published test vectors and deliberate fakes belong there. Findings are printed
// masked (secretlint's default), never in the clear.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine } from '@secretlint/node';

/** Blobs larger than this are data, not source: skipped (and counted). */
const MAX_BLOB_BYTES = 2 * 1024 * 1024;

/** Runs git; text output, or a Buffer when `input` is given (stdin for --batch commands). */
const git = (args, input) =>
  input === undefined
    ? execFileSync('git', args, { maxBuffer: 1 << 30, encoding: 'utf8' })
    : execFileSync('git', args, { maxBuffer: 1 << 30, input: Buffer.from(input) });

const allow = JSON.parse(readFileSync(new URL('../.secretlint-allow.json', import.meta.url), 'utf8')).allow;

// Every blob reachable from any ref, with the path it appears under.
const objects = git(['rev-list', '--objects', '--all'])
  .split('\n')
  .map((l) => [l.slice(0, 40), l.slice(41)])
  .filter(([sha, path]) => sha.length === 40 && path !== '');
const types = git(['cat-file', '--batch-check'], objects.map(([sha]) => sha).join('\n') + '\n')
  .toString('utf8')
  .split('\n');
const blobs = objects.filter((_, i) => {
  const [, type, size] = (types[i] ?? '').split(' ');
  return type === 'blob' && Number(size) <= MAX_BLOB_BYTES;
});
const skipped = objects.filter((_, i) => (types[i] ?? '').split(' ')[1] === 'blob').length - blobs.length;

// All contents in one `git cat-file --batch` call: "<sha> blob <size>\n<bytes>\n" each.
const batch = git(['cat-file', '--batch'], blobs.map(([sha]) => sha).join('\n') + '\n');
const contents = [];
for (let at = 0; contents.length < blobs.length;) {
  const eol = batch.indexOf(10, at);
  const size = Number(batch.subarray(at, eol).toString('latin1').split(' ')[2]);
  contents.push(batch.subarray(eol + 1, eol + 1 + size));
  at = eol + 1 + size + 1;
}

const engine = await createEngine({
  formatter: 'json',
  color: false,
  maskSecrets: true,
  cwd: process.cwd(),
  configFilePath: fileURLToPath(new URL('../.secretlintrc.json', import.meta.url)),
});
const findings = [];
const allowed = [];
let scanned = 0;
for (const [i, [sha, path]] of blobs.entries()) {
  const bytes = contents[i];
  if (bytes.includes(0)) continue; // binary
  scanned++;
  const { ok, output } = await engine.executeOnContent({ content: bytes.toString('utf8'), filePath: path });
  if (ok) continue;
  for (const file of JSON.parse(output)) {
    for (const m of file.messages) {
      const rule = m.ruleId ?? '';
      const hit = { path, blob: sha.slice(0, 12), line: m.loc?.start?.line, rule, message: m.message };
      const entry = allow.find(
        (a) =>
          path.startsWith(a.path) &&
          rule.endsWith(a.rule) &&
          (a.blobs === undefined || a.blobs.some((b) => sha.startsWith(b))),
      );
      (entry === undefined ? findings : allowed).push(hit);
    }
  }
}

const commits = git(['rev-list', '--all', '--count']).trim();
console.log(
  `secret scan: ${scanned} file versions across ${commits} commits (${skipped} data blobs over 2 MiB skipped): ` +
    `${findings.length} finding(s), ${allowed.length} allow-listed`,
);
for (const a of allowed) console.log(`  allowed: ${a.path}:${a.line} ${a.rule} (blob ${a.blob})`);
for (const f of findings)
  console.log(`  FOUND: ${f.path}:${f.line} [${f.rule}] ${f.message} (blob ${f.blob})`);
process.exitCode = findings.length === 0 ? 0 : 1;
