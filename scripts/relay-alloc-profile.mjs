// The Custos server with V8's sampling heap profiler (docs/performance.md, "Relay, session 19"
// and "session 20"): run the relay bench with
// RELAY_BENCH_SERVER=$PWD/scripts/relay-alloc-profile.mjs RELAY_ALLOC_OUT=<file>; the profile
// is written when the bench stops the server (SIGTERM). Read it with alloc-profile-top.mjs.
// RELAY_ALLOC_KEEP chooses which sampled objects it counts:
//   all (default)  every allocation, collected or not;
//   promoted       what survived the young generation (a major GC may have collected it since);
//   live           only what is still on the heap at the end.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

export * from '../packages/server/dist/index.js';

const keep = process.env.RELAY_ALLOC_KEEP ?? 'all';
if (!['all', 'promoted', 'live'].includes(keep))
  throw new Error(`RELAY_ALLOC_KEEP must be all, promoted or live, not ${keep}`);
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: keep !== 'live',
  includeObjectsCollectedByMinorGC: keep === 'all',
});
process.on('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) process.stderr.write(`relay-alloc-profile: ${err.message}\n`);
    else writeFileSync(process.env.RELAY_ALLOC_OUT ?? 'relay.heapprofile', JSON.stringify(r.profile));
  });
});
