// The README's output excerpts are what the commands print today: each marked block is run
// against a seeded reference database and compared after normalising numbers, times, hosts and
// column widths. DBOPT_WRITE_README=1 (npm run readme) rewrites the blocks instead.
import { describe, expect, it, beforeAll } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { withWorkloadDatabase } from '../helpers/workload.js';
import { excerptBody, normalize, readExcerpts, writeExcerpt } from '../helpers/readme.js';

const WRITE = process.env.DBOPT_WRITE_README === '1';
/** The README is read in a 100-column terminal, or on a web page about as wide. */
const README_WIDTH = 100;
// The demo block comes from the newcomer test (it needs a fresh clone and its own server).
const excerpts = readExcerpts().filter((e) => e.args[0] !== 'demo');

// The README shows what the default server (embedded PostgreSQL 18) prints; on other servers
// the text differs by design (e.g. a baseline recorded on 18 is not compared on 15).
describe.skipIf(Boolean(process.env.DBOPT_TEST_DATABASE_URL))('README output excerpts', () => {
  const db = withWorkloadDatabase();
  beforeAll(async () => {
    await db.get().client.query('VACUUM ANALYZE');
    const r = await runCli(['refresh-views', '--all'], { env: { DATABASE_URL: db.get().url } });
    expect(r.code, r.stderr).toBe(0);
  });

  it('has excerpts to check', () => {
    expect(excerpts.length).toBeGreaterThanOrEqual(5);
  });

  for (const ex of excerpts) {
    it(`matches: dbopt ${ex.spec}`, async () => {
      const r = await runCli(ex.args, { env: { DATABASE_URL: db.get().url, COLUMNS: String(README_WIDTH) } });
      expect([0, 1]).toContain(r.code);
      const body = excerptBody(ex, r.stdout);
      expect(body.split('\n').filter((l) => [...l].length > README_WIDTH)).toEqual([]);
      if (WRITE) {
        writeExcerpt(ex.spec, body);
        return;
      }
      expect(normalize(ex.body, ex.shape)).toEqual(normalize(body, ex.shape));
    });
  }
});
