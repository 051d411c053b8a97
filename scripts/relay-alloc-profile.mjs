// The Custos server with V8's sampling heap profiler counting every allocation, collected
// or not (docs/performance.md, "Relay, session 19"): run the relay bench with
// RELAY_BENCH_SERVER=$PWD/scripts/relay-alloc-profile.mjs RELAY_ALLOC_OUT=<file>; the profile
// is written when the bench stops the server (SIGTERM). Read it with alloc-profile-top.mjs.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

export * from '../packages/server/dist/index.js';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.on('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) process.stderr.write(`relay-alloc-profile: ${err.message}\n`);
    else writeFileSync(process.env.RELAY_ALLOC_OUT ?? 'relay.heapprofile', JSON.stringify(r.profile));
  });
});
