// Entry of the dbopt binary. `dbopt --version` answers before anything else loads; every
// other invocation builds the commander program (src/cli/program.ts).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  await import('./program.js');
}
