// client-bound: dbopt's own process was the bottleneck of the load run (a core's worth of CPU,
// or an event loop too late to read results), so the figures understate the server.
import { type LoadCheck } from './types.js';

export const clientBound: LoadCheck = {
  code: 'client-bound',
  severity: 'warning',
  summary: 'the load client, not the database, was the bottleneck',
  check({ load }) {
    if (!load) return [];
    const c = load.client;
    return [
      {
        status: c.bound ? 'fail' : 'pass',
        subject: 'load',
        message: c.bound
          ? `client-bound: these figures understate the server (${c.reason})`
          : `the client kept up (${c.reason})`,
      },
    ];
  },
};
