// The shape of the house, enforced: the commands (audit, migrate, refresh, seed, and health,
// the library of `dbopt report`) stand apart and share only the modules below them
// (catalog, db, sql and the top-level files); those never reach up into a command; and the
// library never imports the CLI. Imports are read from the source text, so a new file is
// covered the day it is written.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../../src');
const COMMANDS = ['audit', 'migrate', 'refresh', 'seed', 'health'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as paths under src/. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The top folder of a path under src/ ("audit", "cli"...), or "" for a top-level file. */
const area = (rel: string): string => (rel.includes('/') ? rel.split('/')[0]! : '');

const edges = sourceFiles(SRC).flatMap((file) => {
  const from = path.relative(SRC, file);
  return importsOf(file).map((to) => ({ from, to }));
});

describe('import graph', () => {
  it('reads the imports of every file (the graph is not empty by accident)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'cli/commands/audit.ts', to: 'audit/index.ts' });
    expect(
      importsOf(path.join(SRC, 'x/y.ts'), "import type { A } from '../db/a.js';\nconst m = await import('./b.js');"),
    ).toEqual(['db/a.ts', 'x/b.ts']);
  });

  it("no command imports another command's modules", () => {
    const crossing = edges.filter(
      (e) => COMMANDS.includes(area(e.from)) && COMMANDS.includes(area(e.to)) && area(e.from) !== area(e.to),
    );
    expect(crossing).toEqual([]);
  });

  it('the modules below the commands never import a command', () => {
    const lower = (rel: string): boolean => !COMMANDS.includes(area(rel)) && area(rel) !== 'cli' && rel !== 'index.ts';
    expect(edges.filter((e) => lower(e.from) && COMMANDS.includes(area(e.to)))).toEqual([]);
  });

  it('the library never imports the CLI', () => {
    expect(edges.filter((e) => area(e.from) !== 'cli' && area(e.to) === 'cli')).toEqual([]);
  });
});
