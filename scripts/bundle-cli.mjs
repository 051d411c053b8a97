#!/usr/bin/env node
/**
 * Bundles the built `custos` command (tsc's packages/cli/dist/bin.js and everything it
 * imports) into packages/cli/dist/main.js plus packages/cli/dist/chunks/: the file users run
 * (`npm start`, the README, the package's `bin`) and the file the e2e tests spawn.
 *
 * Why: on Node 20 (no module compile cache) every `custos` process spent 0.7–1 s of CPU
 * resolving, reading and linking the 100–500 ES modules its command imports (the packages'
 * index files, libsignal's 106 files); e2e tests run hundreds of commands. One chunk per
 * command plus shared chunks keeps each command lazy (`custos send` still does not load the
 * server) while a process reads a handful of files (docs/development.md, "Keeping CI under
 * 15 minutes").
 *
 * Only native code stays outside: better-sqlite3 as a package, and libsignal's loader
 * (dist/Native.js, which finds its .node file next to itself); libsignal's JavaScript is
 * bundled from the installed, integrity-pinned package, unchanged.
 *
 * The output is replaced safely while other processes run the old one: the build goes to a
 * temporary folder, chunks (content-hashed names) are moved in, then main.js is renamed into
 * place in one step; chunks the new build no longer uses are removed an hour later.
 *
 * Usage: node scripts/bundle-cli.mjs   (`npm run build` runs it after `tsc -b`; the e2e
 * global setup runs it before every e2e run, so tests never spawn a stale bundle)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const CLI_DIST = fileURLToPath(new URL('../packages/cli/dist/', import.meta.url));
const INPUT = join(CLI_DIST, 'bin.js');
const CHUNKS = 'chunks';
/** Unused chunks live this long, for processes started from the previous bundle. */
const STALE_CHUNK_MS = 60 * 60 * 1000;
const LIBSIGNAL = '@signalapp/libsignal-client';

/** Keeps native code external: better-sqlite3, and libsignal's native loader (it locates its .node file from its own path). */
const nativeExternal = {
  name: 'custos-native-external',
  resolveId(source, importer) {
    if (source === 'better-sqlite3' || source.startsWith('better-sqlite3/'))
      return { id: source, external: true };
    if (importer?.includes(`/node_modules/${LIBSIGNAL}/`) && /(^|\/)Native\.js$/.test(source)) {
      const resolved = join(dirname(importer), source);
      const sub = resolved.slice(
        resolved.lastIndexOf(`/node_modules/${LIBSIGNAL}/`) + '/node_modules/'.length,
      );
      return { id: sub, external: true };
    }
    return null;
  },
};

if (!existsSync(INPUT)) {
  process.stderr.write(`bundle-cli: ${INPUT} is missing; run \`tsc -b\` first\n`);
  process.exit(1);
}
const started = Date.now();
const tmp = mkdtempSync(join(CLI_DIST, '.bundle-'));
try {
  await build({
    input: { main: INPUT },
    platform: 'node',
    plugins: [nativeExternal],
    logLevel: 'warn',
    output: {
      dir: tmp,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: `${CHUNKS}/[name]-[hash].js`,
    },
  });
  mkdirSync(join(CLI_DIST, CHUNKS), { recursive: true });
  const fresh = new Set(readdirSync(join(tmp, CHUNKS)));
  for (const name of fresh) {
    const to = join(CLI_DIST, CHUNKS, name);
    // Same name, same content (the name carries its hash): keep the file a running process may be reading.
    if (!existsSync(to)) renameSync(join(tmp, CHUNKS, name), to);
  }
  renameSync(join(tmp, 'main.js'), join(CLI_DIST, 'main.js'));
  for (const name of readdirSync(join(CLI_DIST, CHUNKS))) {
    if (fresh.has(name)) continue;
    const path = join(CLI_DIST, CHUNKS, name);
    // Another bundling (a second Vitest run's global setup in this tree) may have removed it since the listing.
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_CHUNK_MS) rmSync(path, { force: true });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(
  `bundle-cli: packages/cli/dist/main.js in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
