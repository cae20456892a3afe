// load-throughput-short: in the open model the server (or the client) did not keep up with the
// requested rate: less than 95 % of what the schedule offered completed per second. Offered,
// not --rate itself: Poisson arrivals give the rate only on average, and a short window at a
// low rate draws a few percent more or fewer; measured against R, chance alone could fail it.
import { type LoadCheck } from './types.js';

export const MIN_ACHIEVED_SHARE = 0.95;

export const loadThroughputShort: LoadCheck = {
  code: 'load-throughput-short',
  severity: 'error',
  summary: 'the open model achieved less than 95 % of the rate its schedule offered',
  check({ load }) {
    if (!load || load.model !== 'open' || load.rate === undefined) return [];
    const share = load.achievedShare ?? 0;
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    const offered = load.offered ?? load.rate;
    const text =
      `achieved ${n(load.throughput)}/s of the ${n(offered)}/s offered (${Math.round(share * 100)} %; ` +
      `--rate ${n(load.rate)}/s, ${load.arrivals ?? 'poisson'} arrivals)`;
    return [{ status: share < MIN_ACHIEVED_SHARE ? 'fail' : 'pass', subject: 'load', message: text }];
  },
};
