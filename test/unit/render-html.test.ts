// The HTML renderer: every string from the database or a file is escaped (a query named
// <script> is text, JSON for the charts cannot close its script element), fields it does not
// know are ignored, per-query load figures appear only when the result has them, and the plan
// tree marks the node with the most time of its own.
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderHtml, scriptJson } from '../../src/cli/render/html.js';
import type { Report } from '../../src/report.js';

const NAME = '</script><script>alert(1)</script>';

function auditLike(extra: Record<string, unknown> = {}, queryExtra: Record<string, unknown> = {}): Report {
  const tree = {
    node: 'Limit',
    cost: 30,
    planRows: 50,
    actualRows: 50,
    loops: 1,
    totalMs: 2.0,
    children: [
      { node: `Seq Scan on ${NAME}`, cost: 28, planRows: 5000, actualRows: 4000, loops: 1, totalMs: 1.9, children: [] },
    ],
  };
  return {
    command: 'audit',
    title: 'dbopt audit',
    ok: false,
    summary: `Audit failed: ${NAME}`,
    sections: [{ title: 'Queries', columns: ['query'], rows: [[NAME]] }],
    checks: [
      {
        id: `${NAME}/over-budget`,
        subject: NAME,
        code: 'over-budget',
        status: 'fail',
        message: `over budget ${NAME}. Check the plan below, or raise the budget.`,
        file: `queries/${NAME}.sql`,
        line: 3,
      },
    ],
    data: {
      queries: [
        {
          name: NAME,
          file: `queries/${NAME}.sql`,
          line: 3,
          tier: 'hot',
          budgetMs: 50,
          status: 'measured',
          latency: {
            runs: 30,
            min: 1,
            p50: 2,
            p95: 60,
            p99: 70,
            max: 80,
            mean: 10,
            histogram: { fromMs: 1, toMs: 80, counts: [10, 5, 0, 15] },
          },
          plan: { shape: 'Limit > Seq Scan', indexesUsed: [], tree, somethingNew: { deep: [1, 2] } },
          ...queryExtra,
        },
      ],
      cache: {
        ratios: [{ scope: 'table', name: NAME, delta: { hit: 90, read: 10, ratio: 0.9, verdict: 'ok' } }],
        minRatio: 0.95,
      },
      aFieldFromTheFuture: { x: 1 },
      ...extra,
    },
  };
}

describe('renderHtml', () => {
  it('escapes names from the database in markup and in chart data', () => {
    const html = renderHtml(auditLike());
    expect(html).not.toContain(NAME);
    expect(html).toContain(escapeHtml(NAME));
    // Only the page's own script elements: chart data, Chart.js, boot.
    expect(html.match(/<script[\s>]/g)).toHaveLength(3);
    expect(scriptJson({ a: NAME })).not.toContain('</');
    expect(html).toContain('data-query="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('marks the node with the most time of its own as the expensive one', () => {
    const html = renderHtml(auditLike());
    const hot = html.indexOf('pnode hot');
    expect(hot).toBeGreaterThan(-1);
    expect(html.slice(hot, hot + 200)).toContain('Seq Scan on');
  });

  it('shows per-query load figures when the result has them, wherever the load phase put them, and not otherwise', () => {
    expect(renderHtml(auditLike())).not.toContain('under load');
    const onQuery = renderHtml(
      auditLike({}, { load: { requests: 1000, throughput: 812.5, latency: { p50: 3, p95: 9, p99: 12, max: 40 } } }),
    );
    expect(onQuery).toContain('under load');
    expect(onQuery).toContain('812.5');
    const byName = renderHtml(auditLike({ load: { queries: { [NAME]: { p50: 4, p95: 11, errors: 0 } } } }));
    expect(byName).toContain('under load (ms)');
  });

  it('renders a report of another command from its sections alone', () => {
    const html = renderHtml({
      command: 'report',
      title: 'dbopt report',
      ok: true,
      summary: 'fine',
      checks: [],
      data: null,
      sections: [
        { title: 'Index usage', columns: ['index', 'scans'], rows: [[NAME, 3]] },
        { title: 'Notes', lines: [{ text: NAME }] },
      ],
    });
    expect(html).not.toContain(NAME);
    expect(html).toContain('Index usage');
    // No chart, no chart library.
    expect(html.length).toBeLessThan(20_000);
  });
});
