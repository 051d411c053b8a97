#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * The `custos` command's entry point. Users and the e2e tests run its bundle,
 * packages/cli/dist/main.js (`npm run build`: scripts/bundle-cli.mjs), not this file's tsc output.
 * The `#!` line gives node SERVER_NODE_FLAGS (gc-tuning.ts; a test keeps the two the same).
 */
import { applyGcTuning } from './gc-tuning.js';
import { runCli } from './cli.js';

// Before any command's hot path: V8's concurrent ArrayBuffer sweeping costs small machines
// half their sealing and opening throughput (packages/cli/src/gc-tuning.ts).
applyGcTuning();

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
