#!/usr/bin/env node
// npm run bench: runs every benchmark under bench/ in turn, streams its output, and ends with
// the table the README shows, built from the `RESULT {json}` lines each benchmark prints.
//   node bench/run.js [--quick]   (--quick: scale 1 instead of 10 where a bench seeds data)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const scale = quick ? '1' : '10';
const benches = [
  ['startup.js', []],
  ['migrate.js', ['--scale', scale]],
  ['refresh.js', ['--scale', scale]],
  ['audit.js', ['--scale', quick ? '1' : '10']],
  ['guard.js', quick ? ['--n', '2000'] : []],
  // Render time barely depends on the data (8 queries, 20 histogram buckets each): scale 1.
  ['html.js', ['--scale', '1']],
  ['fleet.js', ['--scale', '1']],
  ['cache.js', ['--keys', quick ? '200000' : '1000000']],
  ['lint.js', []],
  ['load.js', ['--scale', '1']],
];

const results = [];
for (const [file, args] of benches) {
  const cmd = `node bench/${file} ${args.join(' ')}`.trim();
  process.stdout.write(`\n=== ${cmd} ===\n`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('RESULT ')) {
          try {
            results.push({ ...JSON.parse(line.slice(7)), command: cmd });
          } catch {
            // not ours
          }
        }
      }
    });
    child.on('close', resolve);
  });
  if (code !== 0)
    results.push({
      bench: file.replace('.js', ''),
      measure: 'FAILED',
      value: `exit ${code}`,
      peer: '',
      ratio: NaN,
      goal: '',
      met: false,
      command: cmd,
    });
}

const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}`;
console.log(`\n## Benchmarks (${machine})\n`);
console.log('| benchmark | measure | dbopt | peer | ratio | goal | met | command |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const ratio = Number.isFinite(r.ratio) ? `${r.ratio}x` : '–';
  console.log(
    `| ${r.bench} | ${r.measure} | ${r.value} | ${r.peer} | ${ratio} | ${r.goal} | ${r.met ? 'yes' : 'no'} | \`${r.command}\` |`,
  );
}
