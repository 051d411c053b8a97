#!/usr/bin/env node
/**
 * Dependency policy (threat model F18: the breached clone shipped a forked, vendored Signal
 * protocol). Run by `npm test` (`npm run deps`) from the repository root, or from any
 * directory holding a package.json and package-lock.json (the test plants violations in a
 * temporary copy). Exit 0 when the policy holds, 1 with one line per violation otherwise.
 *
 *  1. The Signal protocol comes only from the upstream `@signalapp/libsignal-client`: every
 *     workspace that depends on it pins one exact version (no range), the lockfile holds
 *     exactly that version once, from the registry, with a sha512 integrity.
 *  2. No other protocol implementation is installed: no lockfile package whose name marks a
 *     Signal/Olm/double-ratchet fork or port.
 *  3. No protocol code is vendored: no tracked source file contains the KDF labels that
 *     any implementation of the Signal protocol must use (the "Whisper" + Ratchet /
 *     MessageKeys / Text / Group labels and "Signal_" + PQXDH, spelt apart here so that
 *     this file passes its own check). Using the library never needs them;
 *     reimplementing it always does.
 *  4. Every installed package is pinned by a sha512 integrity and, where the lockfile
 *     records an origin, comes from https://registry.npmjs.org/ (no git, file or tarball URLs).
 *  5. Only allow-listed packages run install scripts (they build or fetch native code).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SIGNAL = '@signalapp/libsignal-client';
const REGISTRY = 'https://registry.npmjs.org/';
const INSTALL_SCRIPTS_ALLOWED = new Set([SIGNAL, 'better-sqlite3']);
const FORK_NAME =
  /(^|[/@-])(libsignal|signal-protocol|signal-client|double-?ratchet|x3dh|pqxdh|olm|vodozemac)([/-]|$)/i;
// Built from parts so that this file does not itself trip rule 3.
const PROTOCOL_LABELS = ['Ratchet', 'MessageKeys', 'Text', 'Group']
  .map((s) => 'Whisper' + s)
  .concat('Signal_' + 'PQXDH');
const SOURCE_FILE = /\.(c|cc|cpp|h|js|mjs|cjs|ts|mts|cts|rs|java|kt|swift|go|py)$/;

const root = process.cwd();
const problems = [];
let summary = 'nothing checked';

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    problems.push(`${path}: cannot read JSON (${e.message})`);
    return undefined;
  }
}

const lock = readJson(join(root, 'package-lock.json'));
const rootPkg = readJson(join(root, 'package.json'));
if (lock === undefined || rootPkg === undefined) finish();

const entries = Object.entries(lock.packages ?? {});
const nameOf = (key) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

// 1. One exact pin of the official library in every workspace that uses it.
const manifests = [['package.json', rootPkg]];
for (const [key, value] of entries) {
  if (key !== '' && !key.includes('node_modules/') && existsSync(join(root, key, 'package.json'))) {
    manifests.push([join(key, 'package.json'), readJson(join(root, key, 'package.json')) ?? value]);
  }
}
const pins = new Set();
for (const [path, pkg] of manifests) {
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    const spec = pkg?.[field]?.[SIGNAL];
    if (spec === undefined) continue;
    if (!/^\d+\.\d+\.\d+$/.test(spec))
      problems.push(`${path}: ${SIGNAL} must be pinned to an exact version, not "${spec}"`);
    pins.add(spec);
  }
}
if (pins.size > 1) problems.push(`${SIGNAL} is pinned to different versions: ${[...pins].join(', ')}`);
const installed = entries.filter(([key]) => key.includes('node_modules/') && nameOf(key) === SIGNAL);
if (pins.size > 0 && installed.length !== 1) {
  problems.push(`package-lock.json holds ${installed.length} copies of ${SIGNAL}; exactly one is allowed`);
}
for (const [key, value] of installed) {
  if (pins.size === 1 && /^\d+\.\d+\.\d+$/.test([...pins][0]) && !pins.has(value.version)) {
    problems.push(`${key}: version ${value.version} is not the pinned ${[...pins][0]}`);
  }
}

for (const [key, value] of entries) {
  if (!key.includes('node_modules/') || value.link === true) continue;
  const name = nameOf(key);
  // 2. No fork or port of the protocol under another name.
  if (name !== SIGNAL && FORK_NAME.test(name)) {
    problems.push(`${key}: "${name}" looks like another Signal-protocol implementation; use ${SIGNAL} only`);
  }
  // 4. Integrity and origin.
  if (typeof value.integrity !== 'string' || !value.integrity.startsWith('sha512-')) {
    problems.push(`${key}: no sha512 integrity in package-lock.json`);
  }
  if (value.resolved !== undefined && !value.resolved.startsWith(REGISTRY)) {
    problems.push(`${key}: resolved from ${value.resolved}, not ${REGISTRY}`);
  }
  // 5. Install scripts.
  if (value.hasInstallScript === true && !INSTALL_SCRIPTS_ALLOWED.has(name)) {
    problems.push(
      `${key}: runs an install script and is not on the allow-list in scripts/check-dependencies.mjs`,
    );
  }
}

// 3. No vendored protocol code among the tracked files.
let tracked = [];
try {
  tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
} catch {
  problems.push('not a git checkout: cannot list tracked files to look for vendored protocol code');
}
for (const file of tracked) {
  if (!SOURCE_FILE.test(file) || file.includes('node_modules/')) continue;
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    continue; // deleted in the work tree but still tracked
  }
  const label = PROTOCOL_LABELS.find((l) => text.includes(l));
  if (label !== undefined) {
    problems.push(
      `${file}: contains the Signal-protocol KDF label "${label}" — protocol code must come from ${SIGNAL}`,
    );
  }
}

summary = `${entries.length} lockfile entries, ${SIGNAL} ${[...pins].join('') || 'not used'}`;
finish();

function finish() {
  if (problems.length === 0) {
    console.log(`dependencies: policy holds (${summary})`);
    process.exit(0);
  }
  for (const p of problems) console.error(`dependencies: ${p}`);
  console.error(
    `dependencies: ${problems.length} violation(s) of the dependency policy (see scripts/check-dependencies.mjs)`,
  );
  process.exit(1);
}
