// The lint corpus (test/fixtures/lint-corpus/): each file is a migration with the codes and
// severities it must produce in its header (`-- expect: code severity [down], ...` or `none`),
// and optionally `-- rules: code=level` as migrate.lint.rules would set them. Hazards from
// squawk's rules and the PostgreSQL lock table, and the safe forms that must pass.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintFile, type RuleSettings } from '../../src/migrate/lint/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

const DIR = path.join(REPO_ROOT, 'test/fixtures/lint-corpus');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort();

function header(text: string, key: string): string | undefined {
  return new RegExp(`^-- ${key}: (.*)$`, 'm').exec(text)?.[1]?.trim();
}

describe('lint corpus', () => {
  it('holds at least 60 cases, hazards and safe forms alike', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    const safe = files.filter((f) => header(readFileSync(path.join(DIR, f), 'utf8'), 'expect') === 'none');
    expect(safe.length).toBeGreaterThanOrEqual(20);
  });

  for (const f of files) {
    it(f, async () => {
      const text = readFileSync(path.join(DIR, f), 'utf8');
      const expectLine = header(text, 'expect');
      expect(expectLine, `${f} has an -- expect: line`).toBeDefined();
      const rules: RuleSettings = Object.fromEntries(
        (header(text, 'rules') ?? '')
          .split(',')
          .filter(Boolean)
          .map((kv) => kv.trim().split('=') as [string, 'off' | 'warning' | 'error']),
      );
      const wanted = expectLine === 'none' ? [] : expectLine!.split(',').map((s) => s.trim());
      const got = (await lintFile(path.join(DIR, f), f, { rules })).findings.map(
        (x) => `${x.code} ${x.severity}${x.section === 'down' ? ' down' : ''}`,
      );
      expect(got.sort()).toEqual(wanted.sort());
    });
  }
});
