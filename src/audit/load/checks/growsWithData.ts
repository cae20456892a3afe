// grows-with-data: between the baseline's data size and today's (at least 2x apart), a hot or
// warm query's shared buffers grew faster than rows^0.5: it reads more as the data grows, so
// it will miss its budget at some size. Buffers decide, not time: they do not depend on the
// machine. The plan node named is the scan on the relation that grew the most.
import type { LoadCheck } from './types.js';

export const MAX_BUFFER_EXPONENT = 0.5;

export const growsWithData: LoadCheck = {
  code: 'grows-with-data',
  severity: 'warning',
  summary: 'a hot or warm query reads more than rows^0.5 as the data grows',
  check({ growth }) {
    return growth.map((g) => {
      const exp =
        `buffers ~ rows^${g.buffersExponent.toFixed(2)}` +
        (g.p95Exponent !== undefined ? `, p95 ~ rows^${g.p95Exponent.toFixed(2)}` : '');
      const size =
        `data ${g.rowsBefore.toLocaleString('en-US')} -> ${g.rowsNow.toLocaleString('en-US')} rows` +
        `, buffers ${g.buffersBefore.toLocaleString('en-US')} -> ${g.buffersNow.toLocaleString('en-US')}`;
      if (g.tier !== 'hot' && g.tier !== 'warm')
        return {
          status: 'skip' as const,
          subject: g.query,
          message: `${exp} (${size}); ${g.tier ?? 'untiered'} query, not judged`,
        };
      const grows = g.buffersExponent > MAX_BUFFER_EXPONENT;
      return {
        status: grows ? ('fail' as const) : ('pass' as const),
        subject: g.query,
        message: grows ? `${exp} (${size}): ${g.node ?? 'the plan'} reads more as the data grows` : `${exp} (${size})`,
      };
    });
  },
};
