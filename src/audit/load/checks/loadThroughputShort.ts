// load-throughput-short: in the open model the server (or the client) did not keep up with the
// requested rate: less than 95 % of --rate completed per second.
import { type LoadCheck } from './types.js';

export const MIN_ACHIEVED_SHARE = 0.95;

export const loadThroughputShort: LoadCheck = {
  code: 'load-throughput-short',
  severity: 'error',
  summary: 'the open model achieved less than 95 % of --rate',
  check({ load }) {
    if (!load || load.model !== 'open' || load.rate === undefined) return [];
    const share = load.achievedShare ?? 0;
    const text = `achieved ${Math.round(load.throughput).toLocaleString('en-US')}/s of the ${load.rate.toLocaleString('en-US')}/s asked (${Math.round(share * 100)} %)`;
    return [{ status: share < MIN_ACHIEVED_SHARE ? 'fail' : 'pass', subject: 'load', message: text }];
  },
};
