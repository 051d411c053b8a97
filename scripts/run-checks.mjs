#!/usr/bin/env node
/**
 * The checks `npm test` runs before Vitest, at the same time instead of one after another:
 * each is a single-threaded process (tsc, typed ESLint, Prettier, the secret scan, the
 * dependency policy, the audit), so in series they left the second core of the 2-core CI
 * machine idle for about two minutes (docs/development.md, "Keeping CI under 15 minutes").
 *
 * Each check's output is buffered and printed as one block when it ends, under a header
 * with its name, result and time, so interleaved runs stay readable. Exit 0 when every
 * check passed; otherwise 1, after a summary naming each failed check and how to re-run it.
 *
 * Usage: node scripts/run-checks.mjs [NAME ...]   (default: all; NAME is an npm script below)
 *
 * CI (.ci/run) builds the native addons (`npm rebuild`) in the background while these checks
 * run, and sets CUSTOS_CI_NATIVE_BUILD_STATUS to a file the build writes its exit code to
 * when it ends (and CUSTOS_CI_NATIVE_BUILD_LOG to its output). Then this script also waits
 * for that build and counts it as a check, so `npm test` reaches Vitest only once the
 * addons Vitest loads are built, and fails, showing the build's output, if the build failed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** npm scripts run as checks, longest first so the slowest starts at once. */
const CHECKS = ['lint:code', 'typecheck', 'lint:format', 'secrets', 'audit', 'deps'];

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs `npm run --silent NAME`; resolves to its exit code, output and duration. */
function run(name) {
  const started = Date.now();
  const child = spawn(npm, ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = [];
  child.stdout.on('data', (d) => chunks.push(d));
  child.stderr.on('data', (d) => chunks.push(d));
  return new Promise((resolve) => {
    child.on('error', (e) => chunks.push(Buffer.from(`could not start npm: ${e.message}\n`)));
    child.on('close', (code, signal) =>
      resolve({
        name,
        code: code ?? 1,
        signal,
        output: Buffer.concat(chunks).toString(),
        seconds: (Date.now() - started) / 1000,
      }),
    );
  });
}

/** Waits for CI's background native build (see the header) and reports it as a check. */
async function nativeBuild(statusFile, logFile) {
  const started = Date.now();
  while (!existsSync(statusFile)) await sleep(500);
  const code = Number.parseInt(readFileSync(statusFile, 'utf8').trim(), 10);
  const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  return {
    name: 'native build (npm rebuild)',
    code: Number.isInteger(code) ? code : 1,
    signal: null,
    // Its output only matters when it failed; a passing build's compiler chatter is noise.
    output: code === 0 ? '' : log,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Prints one check's block: a header line, then its output as it wrote it. */
function report(r) {
  const result = r.code === 0 ? 'passed' : `FAILED (exit ${r.signal ?? r.code})`;
  const out = r.output.endsWith('\n') || r.output === '' ? r.output : `${r.output}\n`;
  process.stdout.write(`\n── check ${r.name}: ${result} in ${r.seconds.toFixed(1)} s ──\n${out}`);
}

const asked = process.argv.slice(2);
const unknown = asked.filter((n) => !CHECKS.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`run-checks: unknown check(s) ${unknown.join(', ')}; known: ${CHECKS.join(', ')}\n`);
  process.exit(2);
}
const names = asked.length > 0 ? asked : CHECKS;
process.stdout.write(`checks: running ${names.join(', ')} at the same time\n`);
const tasks = names.map((n) => run(n));
const nativeStatus = process.env.CUSTOS_CI_NATIVE_BUILD_STATUS;
if (nativeStatus) tasks.push(nativeBuild(nativeStatus, process.env.CUSTOS_CI_NATIVE_BUILD_LOG));
const results = await Promise.all(
  tasks.map((t) =>
    t.then((r) => {
      report(r);
      return r;
    }),
  ),
);
const failed = results.filter((r) => r.code !== 0);
if (failed.length === 0) {
  process.stdout.write(`\nchecks: all ${results.length} passed\n`);
} else {
  process.stdout.write(`\nchecks: ${failed.length} of ${results.length} FAILED:\n`);
  for (const r of failed) {
    const hint = CHECKS.includes(r.name) ? `re-run alone: npm run ${r.name}` : 'see its output above';
    process.stdout.write(`  ${r.name} (${hint})\n`);
  }
  process.exitCode = 1;
}
