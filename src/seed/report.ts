// Turns a SeedResult into the shared Report: the files run and the rows each table holds.
import { formatDuration } from '../duration.js';
import type { Report } from '../report.js';
import type { SeedResult } from './index.js';

export function seedReport(r: SeedResult): Report {
  return {
    command: 'seed',
    title: 'dbopt seed',
    server: r.server,
    ok: true,
    summary: r.skipped ? `Seed skipped: ${r.reason}` : `Seeded scale ${r.scale} in ${formatDuration(r.durationMs)}`,
    sections: [
      ...(r.files.length
        ? [
            {
              title: 'Files',
              columns: ['file', 'time'],
              rows: r.files.map((f) => [f.file, formatDuration(f.durationMs)]),
            },
          ]
        : []),
      {
        title: 'Rows',
        columns: ['table', 'rows'],
        rows: Object.entries(r.rows).map(([t, n]) => [t, n.toLocaleString('en-US')]),
      },
    ],
    checks: [],
    data: r,
  };
}
