#!/usr/bin/env node
// bench/lint.js: dbopt migrate lint over the lint corpus (test/fixtures/lint-corpus/) and over
// 1,000 generated migration files, in files per second. Peer: the PostgreSQL parser alone
// (libpg-query parse of the same files), the floor any parse-tree linter pays.
// Goal: 1,000 files in under 2 s. Needs `npm run build`.
//   node bench/lint.js [--files N]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const count = arg('--files', 1000);
const { lintFiles } = await import(path.join(root, 'dist/migrate/lint/index.js'));
const pg = await import('libpg-query');
await pg.loadModule();

// A realistic mix: table creations, indexes (plain and concurrent), column changes, constraints.
const shapes = [
  (i) =>
    `CREATE TABLE t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), body jsonb, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX t${i}_user ON t${i} (user_id, created_at DESC);`,
  (i) => `CREATE INDEX CONCURRENTLY users_c${i} ON users (bot_id, lower(username)) WHERE deleted_at IS NULL;`,
  (i) =>
    `ALTER TABLE users ADD COLUMN c${i} text;\nALTER TABLE users ADD CONSTRAINT users_c${i}_len CHECK (length(c${i}) < 100) NOT VALID;`,
  (i) => `CREATE INDEX users_plain_${i} ON users (c${i});`,
  (i) =>
    `ALTER TABLE sessions ADD COLUMN s${i} bigint REFERENCES users;\nALTER TABLE sessions RENAME COLUMN s${i} TO r${i};`,
  (i) =>
    `CREATE MATERIALIZED VIEW mv${i} AS SELECT bot_id, count(*) AS n FROM messages GROUP BY bot_id WITH NO DATA;\nCREATE UNIQUE INDEX mv${i}_bot ON mv${i} (bot_id);`,
];

const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-lint-'));
const generated = [];
for (let i = 0; i < count; i++) {
  const file = path.join(dir, `${String(i + 1).padStart(5, '0')}_m${i}.sql`);
  writeFileSync(file, `-- Up Migration\n${shapes[i % shapes.length](i)}\n\n-- Down Migration\nSELECT 1;\n`);
  generated.push(file);
}
const corpusDir = path.join(root, 'test/fixtures/lint-corpus');
const corpus = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => path.join(corpusDir, f));

async function timeLint(files) {
  const t = performance.now();
  const r = await lintFiles(files);
  return { ms: performance.now() - t, findings: r.findings.length };
}
async function timeParse(files) {
  const t = performance.now();
  for (const f of files) await pg.parse(readFileSync(f, 'utf8'));
  return performance.now() - t;
}

try {
  await timeLint(corpus.slice(0, 5)); // warm the parser and the module graph
  const best = async (fn, files) => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await fn(files));
    return runs.sort((a, b) => (a.ms ?? a) - (b.ms ?? b))[1];
  };
  const c = await best(timeLint, corpus);
  const g = await best(timeLint, generated);
  const p = await best(timeParse, generated);
  const fps = (n, ms) => Math.round((n * 1000) / ms);
  console.log(
    `corpus: ${corpus.length} files in ${c.ms.toFixed(0)} ms (${fps(corpus.length, c.ms)} files/s), ${c.findings} findings`,
  );
  console.log(
    `generated: ${count} files in ${g.ms.toFixed(0)} ms (${fps(count, g.ms)} files/s), ${g.findings} findings; parse alone ${p.toFixed(0)} ms`,
  );
  const ratio = +(g.ms / p).toFixed(2);
  console.log(
    `RESULT ${JSON.stringify({ bench: 'lint', measure: `migrate lint, ${corpus.length} corpus files (median of 3)`, value: `${c.ms.toFixed(0)} ms, ${fps(corpus.length, c.ms)} files/s`, peer: 'none (corpus figure)', ratio: NaN, goal: 'reported', met: true })}`,
  );
  console.log(
    `RESULT ${JSON.stringify({ bench: 'lint', measure: `migrate lint, ${count} generated files (median of 3)`, value: `${g.ms.toFixed(0)} ms, ${fps(count, g.ms)} files/s`, peer: `libpg-query parse alone (${p.toFixed(0)} ms)`, ratio, goal: `< 2000 ms for ${count}`, met: g.ms < 2000 })}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
