// Loaded into the gateway with `node --import` by profile.ts: starts V8's CPU profiler on
// SIGUSR2 (after start-up and JIT warm-up, so only the measured load is profiled) and writes
// the profile to CPU_PROFILE_OUT when the process exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
session.post('Profiler.enable');
process.once('SIGUSR2', () => session.post('Profiler.start'));
process.once('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(process.env['CPU_PROFILE_OUT'], JSON.stringify(result.profile));
  });
});
