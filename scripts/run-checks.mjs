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
 */
import { spawn } from 'node:child_process';

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
const results = await Promise.all(
  names.map((n) =>
    run(n).then((r) => {
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
  for (const r of failed) process.stdout.write(`  ${r.name} (re-run alone: npm run ${r.name})\n`);
  process.exitCode = 1;
}
