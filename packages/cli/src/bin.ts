#!/usr/bin/env node
/**
 * The `custos` command's entry point. Users and the e2e tests run its bundle,
 * packages/cli/dist/main.js (`npm run build`: scripts/bundle-cli.mjs), not this file's tsc output.
 */
import { applyGcTuning } from './gc-tuning.js';
import { runCli } from './cli.js';

// Before any command's hot path: V8's concurrent ArrayBuffer sweeping costs small machines
// half their sealing and opening throughput (packages/cli/src/gc-tuning.ts).
applyGcTuning();

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
