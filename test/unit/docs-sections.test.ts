// Each audit check and lint rule is three things: its code, its tests, and a doc section
// (problem, fix, PostgreSQL docs link). This test holds the third to the code: every check
// of SCHEMA_CHECKS/QUERY_CHECKS and every rule of RULES has its section, under its code,
// with its severity, a **Fix:** and a link, and no section documents a code that is gone.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLEET_CHECKS, QUERY_CHECKS, SCHEMA_CHECKS } from '../../src/audit/checks/index.js';
import { RULES } from '../../src/migrate/lint/index.js';

const DOCS = path.resolve(__dirname, '../../docs');

/** The `### heading` sections under `## parent` of a Markdown file: heading -> body. */
function sections(file: string, parent: string): Map<string, string> {
  const text = readFileSync(path.join(DOCS, file), 'utf8');
  const start = text.indexOf(`\n## ${parent}\n`);
  expect(start, `${file} has a "## ${parent}" section`).toBeGreaterThanOrEqual(0);
  const next = text.indexOf('\n## ', start + 1);
  const part = text.slice(start, next < 0 ? undefined : next);
  const out = new Map<string, string>();
  for (const chunk of part.split(/\n(?=### )/).slice(1)) {
    const [heading, ...body] = chunk.split('\n');
    out.set(heading!.slice(4).trim(), body.join('\n'));
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped. */
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/\s+/g, '-');

const wellFormed = (body: string): void => {
  expect(body).toContain('**Fix:**');
  expect(body).toMatch(/https:\/\/www\.postgresql\.org\/docs\//);
};

describe('doc sections', () => {
  const audit = sections('audit.md', 'Checks');
  const checks = [...QUERY_CHECKS, ...SCHEMA_CHECKS, ...FLEET_CHECKS];

  it.each(checks.map((c) => [c.code, c] as const))('audit check %s has a section in docs/audit.md', (_code, c) => {
    const heading = `${c.code} (${c.severity})`;
    expect([...audit.keys()]).toContain(heading);
    wellFormed(audit.get(heading)!);
  });

  it('docs/audit.md documents no check that does not exist', () => {
    expect([...audit.keys()].map((h) => h.replace(/ \(.*\)$/, '')).sort()).toEqual(checks.map((c) => c.code).sort());
  });

  const lint = sections('migrate.md', 'Lint');

  it.each(RULES.map((r) => [r.code, r] as const))('lint rule %s has the section its findings link to', (_code, r) => {
    expect([...lint.keys()]).toContain(r.code);
    expect(anchor(r.code)).toBe(r.doc);
    const body = lint.get(r.code)!;
    expect(body.startsWith(`*${r.severity}`)).toBe(true);
    wellFormed(body);
  });

  it('docs/migrate.md documents no rule that does not exist', () => {
    expect([...lint.keys()].sort()).toEqual(RULES.map((r) => r.code).sort());
  });
});
