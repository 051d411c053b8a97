// The Custos server with V8's sampling heap profiler counting only objects not yet collected
// (docs/performance.md, "Relay, session 20"): what the heap holds — live objects and promoted
// garbage no major GC has reclaimed yet — by allocation site. Run the relay bench with
// RELAY_BENCH_SERVER=$PWD/scripts/relay-live-profile.mjs RELAY_ALLOC_OUT=<file>; the profile
// is written when the bench stops the server (SIGTERM). Read it with alloc-profile-top.mjs.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

export * from '../packages/server/dist/index.js';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  // RELAY_ALLOC_PROMOTED=1: keep what a major GC collected too — everything that survived
  // the young generation (promoted), not only what is still live.
  includeObjectsCollectedByMajorGC: process.env.RELAY_ALLOC_PROMOTED === '1',
  includeObjectsCollectedByMinorGC: false,
});
process.on('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) process.stderr.write(`relay-live-profile: ${err.message}\n`);
    else writeFileSync(process.env.RELAY_ALLOC_OUT ?? 'relay-live.heapprofile', JSON.stringify(r.profile));
  });
});
