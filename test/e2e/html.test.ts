// `--format html` checked in a real browser: the audit and report pages of the reference
// workload open in headless Chromium with every network request blocked; nothing is
// requested or fails, nothing logs an error, the summary and every query section are there
// (a query named `<script>` among them, as text), charts are drawn, and the screenshot written
// to test-output/ is not blank. Chromium is required under CI=true; elsewhere the test is
// skipped, saying why, when no Chromium is installed.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { withWorkloadDatabase } from '../helpers/workload.js';
import { distinctColours, findChromium, visitReport } from '../helpers/browser.js';

const SCRIPT_NAME = '<script>document.title="pwned"</script> & <b>bold</b>';
const chromium = findChromium();
const ci = process.env.CI === 'true';
if (!chromium && !ci)
  console.warn(
    'html.test.ts: skipped: no Chromium found (/usr/bin/chromium; set DBOPT_CHROMIUM to another path). .ci/run installs it.',
  );

const workload = withWorkloadDatabase();
const OUT = path.join(REPO_ROOT, 'test-output');
// Under test-output/ so the page shows paths as a user's would be (relative, short).
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(path.join(OUT, 'html-'));
const queriesDir = path.join(work, 'queries');
let names: string[] = [];

beforeAll(async () => {
  mkdirSync(queriesDir, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(path.join(REPO_ROOT, 'queries')))
    copyFileSync(path.join(REPO_ROOT, 'queries', f), path.join(queriesDir, f));
  writeFileSync(
    path.join(queriesDir, 'zz_script_name.sql'),
    `-- name: ${SCRIPT_NAME}\n-- tier: hot\n-- params: [[1]]\nSELECT id, username\nFROM bots\nWHERE id = $1;\n`,
  );
  names = readdirSync(queriesDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => /^-- name: (.*)$/m.exec(readFileSync(path.join(queriesDir, f), 'utf8'))![1]!);
  const env = { DATABASE_URL: workload.get().url };
  // Refresh history for the staleness chart of the report.
  expect((await runCli(['refresh-views', '--all'], { cwd: REPO_ROOT, env })).code).toBe(0);
  const audit = await runCli(
    [
      'audit',
      '--queries',
      queriesDir,
      '--baseline',
      path.join(queriesDir, 'baseline.json'),
      '--format',
      'html',
      '--output',
      path.join(work, 'audit.html'),
    ],
    { cwd: REPO_ROOT, env },
  );
  expect(audit.stderr).not.toMatch(/^error:/m);
  const report = await runCli(['report', '--format', 'html', '--output', path.join(work, 'report.html')], {
    cwd: REPO_ROOT,
    env,
  });
  expect(report.code).toBe(0);
});

describe('the HTML report', () => {
  it('is one self-contained file under 1 MB that names no URL to fetch', () => {
    for (const f of ['audit.html', 'report.html']) {
      const html = readFileSync(path.join(work, f), 'utf8');
      expect(statSync(path.join(work, f)).size).toBeLessThan(1 << 20);
      expect(html).toContain("default-src 'none'");
      expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)="(?!data:)/i);
    }
    const audit = readFileSync(path.join(work, 'audit.html'), 'utf8');
    expect(audit).toContain(
      '&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;',
    );
    expect(audit).not.toContain(SCRIPT_NAME);
  });

  it.skipIf(!chromium && !ci)(
    'opens in headless Chromium offline: no request, no error, summary and every query section, not blank',
    async () => {
      expect(chromium, 'CI=true needs Chromium: .ci/run installs the chromium package').toBeDefined();
      const audit = await visitReport(path.join(work, 'audit.html'), ['#summary', 'title'], chromium!);
      writeFileSync(path.join(OUT, 'html-audit.png'), audit.screenshot);
      expect(audit.requests).toEqual([]);
      expect(audit.failedRequests).toEqual([]);
      expect(audit.consoleErrors).toEqual([]);
      expect(audit.pageErrors).toEqual([]);
      expect(audit.texts['#summary']).toMatch(/^(Passed|Failed)\n/);
      expect(audit.querySections.sort()).toEqual([...names].sort());
      // The page's own three scripts: chart data, Chart.js, the boot code; none injected by a name.
      expect(audit.scriptCount).toBe(3);
      expect(audit.chartsDrawn).toBeGreaterThan(names.length);
      const shot = distinctColours(audit.screenshot);
      expect(shot.height).toBeGreaterThan(1000);
      expect(shot.colours).toBeGreaterThan(50);
      if (process.env.DBOPT_WRITE_README) writeFileSync(path.join(REPO_ROOT, 'docs', 'html-report.png'), audit.top);

      const report = await visitReport(path.join(work, 'report.html'), ['#summary', '#staleness', '#cache'], chromium!);
      writeFileSync(path.join(OUT, 'html-report.png'), report.screenshot);
      expect([report.requests, report.failedRequests, report.consoleErrors, report.pageErrors]).toEqual([
        [],
        [],
        [],
        [],
      ]);
      expect(report.texts['#summary']).toMatch(/^Passed\n/);
      expect(report.texts['#staleness']).toContain('View staleness over time');
      expect(report.texts['#cache']).toContain('Cache hit ratios');
      expect(distinctColours(report.screenshot).colours).toBeGreaterThan(50);
    },
  );
});
