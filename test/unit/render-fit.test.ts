// Terminal output for people: tables fit the width (wrapping inside columns, dropping the
// columns a section marks as low-value and saying so), numbers right-aligned, findings as
// blocks with alike members of one parent grouped, and the same text with or without colour.
import { describe, expect, it } from 'vitest';
import { fitTable, looksNumeric, visibleLength, wrapText } from '../../src/cli/render/fit.js';
import { groupFindings, renderBlocks, splitHelp } from '../../src/cli/render/blocks.js';
import { renderTable } from '../../src/cli/render/table.js';
import type { Report, ReportCheck } from '../../src/report.js';

const long = 'a rather long description of what went wrong, with a path/to/some/file_name_that_goes_on.sql in it';

function widest(text: string): number {
  return Math.max(...text.split('\n').map(visibleLength));
}

describe('wrapText', () => {
  it('keeps every line within the width and loses no word', () => {
    for (const w of [5, 12, 30]) {
      const lines = wrapText(long, w);
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(w);
      expect(lines.join('').replace(/ /g, '')).toBe(long.replace(/ /g, ''));
    }
  });
});

describe('fitTable', () => {
  const columns = ['name', 'rows', 'detail', 'extra'];
  const rows = [
    [{ text: 'users' }, { text: '200,000' }, { text: long }, { text: 'x'.repeat(30) }],
    [{ text: 'bots' }, { text: '50' }, { text: 'short' }, { text: '' }],
  ];

  it('fits each width, drops the marked column first and says so', () => {
    const wide = fitTable({ columns, rows, width: 200, drop: ['extra'] });
    expect(wide.dropped).toEqual([]);
    const narrow = fitTable({ columns, rows, width: 60, drop: ['extra'] });
    expect(narrow.dropped).toEqual(['extra']);
    expect(Math.max(...narrow.lines.map(visibleLength))).toBeLessThanOrEqual(60);
    expect(narrow.lines.join('\n')).not.toContain('xxxx');
  });

  it('right-aligns numeric columns', () => {
    const out = fitTable({ columns, rows, width: 200 });
    const row = out.lines.find((l) => l.includes('bots'))!;
    expect(row).toContain('│      50 │');
  });

  it('falls back to records when even the kept columns cannot fit', () => {
    const out = fitTable({ columns, rows, width: 20 });
    expect(out.records).toBe(true);
    expect(Math.max(...out.lines.map(visibleLength))).toBeLessThanOrEqual(20);
    expect(out.lines.join('\n')).toContain('rows:');
  });

  it('recognises numbers, sizes, durations and ratios', () => {
    expect(['1,234', '0.31', '12 ms', '98.5 %', '4.2 MB', '3/0'].every(looksNumeric)).toBe(true);
    expect(['users', 'p95 1 ms', '2026-12-01'].some(looksNumeric)).toBe(false);
  });
});

const dup = (partition: string): ReportCheck => ({
  id: `${partition}_customer_idx/duplicate-index`,
  subject: `${partition}_customer_idx`,
  code: 'duplicate-index',
  status: 'warn',
  message: `index ${partition}_customer_idx (customer_id) is covered by ${partition}_customer_id_key on ${partition}: it slows every write for nothing. Drop it: DROP INDEX CONCURRENTLY ${partition}_customer_idx.`,
  group: { parent: 'payment', kind: 'partitions', member: partition },
});

describe('finding blocks', () => {
  const checks = ['payment_p1', 'payment_p2', 'payment_p3'].map(dup);
  const seq: ReportCheck = {
    id: 'q/seq-scan-large',
    subject: 'customer_rentals',
    code: 'seq-scan-large',
    status: 'fail',
    file: 'queries/customer_rentals.sql',
    line: 4,
    message:
      'query "customer_rentals" reads Seq Scan on rental (300,000 rows): more than audit.seqScanRows 10,000. Add an index for its WHERE clause.',
  };

  it('print severity[code] subject: message, --> file:line, help', () => {
    const lines = renderBlocks([seq], { width: 120 });
    expect(lines).toEqual([
      'error[seq-scan-large] customer_rentals: reads Seq Scan on rental (300,000 rows): more than audit.seqScanRows 10,000',
      '  --> queries/customer_rentals.sql:4',
      '  help: add an index for its WHERE clause',
    ]);
  });

  it('group alike findings of one parent into one block naming the members; verbose expands', () => {
    const grouped = renderBlocks([...checks, seq], { width: 100 }).join('\n');
    expect(grouped.match(/^warning\[duplicate-index\]/gm)).toHaveLength(1);
    expect(grouped).toContain('warning[duplicate-index] payment (3 partitions):');
    expect(grouped).toContain('= partitions: payment_p1, payment_p2, payment_p3');
    expect(groupFindings(checks, true)).toHaveLength(3);
    expect(
      renderBlocks(checks, { width: 100, verbose: true })
        .join('\n')
        .match(/^warning\[duplicate-index\]/gm),
    ).toHaveLength(3);
  });

  it('break a long identifier without putting spaces into it', () => {
    const id = 'customer_rental_history_with_an_extremely_long_descriptive_name';
    const lines = renderBlocks(
      [{ ...seq, message: `reads Seq Scan on ${id} (20,000 rows): more than audit.seqScanRows 10,000` }],
      { width: 40 },
    );
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(40);
    expect(lines.map((l) => l.trim()).join('')).toContain(id);
    expect(lines.join('\n')).not.toMatch(/_ [a-z]/);
  });

  it('split a trailing imperative into help, and an explicit Fix:', () => {
    expect(splitHelp({ subject: 'x', message: 'CREATE INDEX locks t. Fix: use CONCURRENTLY (docs#a)' })).toEqual({
      message: 'CREATE INDEX locks t',
      help: 'use CONCURRENTLY (docs#a)',
    });
    expect(splitHelp({ subject: 'x', message: 'plan 1a2b unchanged' })).toEqual({ message: 'plan 1a2b unchanged' });
  });

  it('stay within the width, with the same text coloured or not', () => {
    const report: Report = {
      command: 'audit',
      title: 'dbopt audit',
      ok: false,
      summary: 'Audit failed: 1 query.',
      data: {},
      checks: [...checks, seq],
      sections: [
        {
          title: 'Queries',
          columns: ['query', 'p95', 'plan'],
          rows: [['customer_rentals', 1.25, long]],
          drop: ['plan'],
        },
        { title: 'Findings', role: 'findings', columns: ['x'], rows: [] },
      ],
    };
    for (const width of [40, 80, 120]) {
      const plain = renderTable(report, { color: false, width });
      expect(widest(plain)).toBeLessThanOrEqual(width);
      // eslint-disable-next-line no-control-regex
      expect(renderTable(report, { color: true, width }).replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
    }
    expect(renderTable(report, { color: false, width: 40 })).toContain('plan not shown to fit 40 columns');
  });
});
