#!/usr/bin/env node
// bench/startup: median wall time of `dbopt --version` and `dbopt --help` against the
// floor of `node -e 0`, interleaved rounds so machine noise hits all three alike.
// Goal: <= 1.5x. Usage: node bench/startup.js [--rounds N] [--json]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dbopt.js');
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 30;
const json = args.includes('--json');

const cases = [
  { name: 'node -e 0', argv: ['-e', '0'] },
  { name: 'dbopt --version', argv: [bin, '--version'] },
  { name: 'dbopt --help', argv: [bin, '--help'] },
];

function once(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const samples = cases.map(() => []);
for (let i = 0; i < 3; i++) cases.forEach((c) => once(c.argv)); // warm the file cache
for (let i = 0; i < rounds; i++) cases.forEach((c, j) => samples[j].push(once(c.argv)));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const floor = median(samples[0]);
const rows = cases.map((c, j) => ({
  command: c.name,
  medianMs: +median(samples[j]).toFixed(1),
  minMs: +Math.min(...samples[j]).toFixed(1),
  ratio: +(median(samples[j]) / floor).toFixed(2),
}));
if (json) {
  process.stdout.write(
    JSON.stringify({ bench: 'startup', peer: 'node -e 0', goal: '<= 1.5x', rounds, rows }, null, 2) + '\n',
  );
} else {
  console.log(`bench/startup: ${rounds} interleaved rounds, peer = node -e 0, goal <= 1.5x`);
  console.log('command            median ms   min ms   ratio');
  for (const r of rows)
    console.log(
      `${r.command.padEnd(18)} ${String(r.medianMs).padStart(9)} ${String(r.minMs).padStart(8)}   ${r.ratio.toFixed(2)}x`,
    );
}
// One machine-readable line per figure, collected by bench/run.js into the README table.
for (const r of rows.slice(1)) {
  console.log(
    `RESULT ${JSON.stringify({ bench: 'startup', measure: `${r.command} median`, value: `${r.medianMs} ms`, peer: `node -e 0 (${rows[0].medianMs} ms)`, ratio: r.ratio, goal: '<= 1.5x', met: r.ratio <= 1.5 })}`,
  );
}
