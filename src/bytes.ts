// Sizes for people: 1024-based units, one decimal below 10 ("3.5 MB", "344 kB"). The one byte
// formatter of every report (refresh-views --status, dbopt report, the unused-index check).

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
