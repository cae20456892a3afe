// Renderers over an audit report: GitHub workflow commands escape untrusted text, JUnit keeps
// the shape CI systems read, markdown and json stay well-formed.
import { describe, expect, it } from 'vitest';
import { escapeData, escapeProperty, githubAnnotations } from '../../src/cli/render/github.js';
import { renderJunit } from '../../src/cli/render/junit.js';
import { renderMarkdown } from '../../src/cli/render/markdown.js';
import { renderJson } from '../../src/cli/render/json.js';
import type { Report, ReportCheck } from '../../src/report.js';
import { junitProblems } from '../fixtures/audit/junitShape.js';

const NASTY = 'odd%\nname::x, <y> & "z"\r';

function report(checks: ReportCheck[]): Report {
  return {
    command: 'audit',
    title: 'dbopt audit',
    ok: false,
    summary: 'Audit failed',
    sections: [{ title: 'Queries', columns: ['query'], rows: [[NASTY]] }],
    checks,
    data: {},
  };
}
const fail = (i: number, subject = `q${i}`): ReportCheck => ({
  id: `${subject}/over-budget`,
  subject,
  code: 'over-budget',
  status: 'fail',
  message: `p95 over budget ${NASTY}`,
  file: `queries/${subject}.sql`,
  line: 3,
  column: 2,
});

describe('github annotations', () => {
  it('escape data and properties', () => {
    expect(escapeData('a%b\r\nc')).toBe('a%25b%0D%0Ac');
    expect(escapeProperty('a:b,c%\n')).toBe('a%3Ab%2Cc%25%0A');
  });

  it('produce one well-formed workflow command per finding, each on one line', () => {
    const lines = githubAnnotations(
      report([fail(1, NASTY), { ...fail(2), status: 'warn' }, { ...fail(3), status: 'pass' }]),
    );
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toMatch(/[\r\n]/);
      expect(line).toMatch(/^::(error|warning|notice) (file=[^,:]+,)?line=\d+,col=\d+,title=[^,:]+::[^\r\n]*$/);
    }
    expect(lines[0]).toContain('file=queries/odd%25%0Aname%3A%3Ax%2C <y> & "z"%0D.sql');
    expect(lines[0]).toContain('::p95 over budget odd%25%0Aname::x, <y> & "z"%0D');
    expect(lines[1]!.startsWith('::warning ')).toBe(true);
  });

  it('annotate at most the first 10 findings and summarise the rest', () => {
    const lines = githubAnnotations(report(Array.from({ length: 14 }, (_, i) => fail(i))));
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatch(/^::notice title=dbopt audit::4 more findings: see the job summary$/);
  });

  it('annotate errors before warnings, keeping report order within each level', () => {
    const warn = (i: number): ReportCheck => ({ ...fail(i, `w${i}`), status: 'warn' });
    const checks = [...Array.from({ length: 12 }, (_, i) => warn(i)), fail(1, 'e1'), warn(99), fail(2, 'e2')];
    const lines = githubAnnotations(report(checks));
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 2).map((l) => /file=queries\/(\w+)\.sql/.exec(l)?.[1])).toEqual(['e1', 'e2']);
    expect(lines.slice(0, 2).every((l) => l.startsWith('::error '))).toBe(true);
    expect(lines.slice(2, 10).map((l) => /file=queries\/(\w+)\.sql/.exec(l)?.[1])).toEqual([
      'w0',
      'w1',
      'w2',
      'w3',
      'w4',
      'w5',
      'w6',
      'w7',
    ]);
    expect(lines[10]).toContain('5 more findings');
  });
});

describe('junit', () => {
  it('has the testsuites/testsuite/testcase/failure shape with required attributes and escaped text', () => {
    const xml = renderJunit(
      report([
        fail(1, NASTY),
        { ...fail(2), status: 'skip' },
        { ...fail(2), code: 'plan-changed', status: 'warn' },
        { ...fail(2), code: 'cost-regression', status: 'pass' },
      ]),
    );
    expect(junitProblems(xml)).toEqual([]);
    expect(xml).toContain('<testsuites name="dbopt audit" tests="4" failures="1"');
    expect(xml).toContain('&lt;y&gt; &amp; &quot;z&quot;');
  });

  it('the validator catches a broken document', () => {
    expect(
      junitProblems(
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="1" failures="0"><testcase name="x"/></testsuites>',
      ),
    ).not.toEqual([]);
  });
});

describe('markdown and json', () => {
  it('markdown keeps each table row on one line', () => {
    const md = renderMarkdown(report([fail(1)]));
    const row = md.split('\n').find((l) => l.startsWith('| odd'));
    expect(row).toBeDefined();
    expect(row).toContain('\\<y\\>');
  });

  it('json has stable keys', () => {
    const parsed = JSON.parse(renderJson(report([fail(1)]))) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['checks', 'command', 'ok', 'result', 'summary']);
  });
});
