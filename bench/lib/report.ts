import { readFileSync } from 'node:fs';
import { CORES } from './proc.js';

/** One row of RESULTS.md: a figure, its value, and its target when it has one. */
export interface Row {
  readonly figure: string;
  readonly value: string;
  /** Empty for figures reported for context. */
  readonly target: string;
  /** undefined: no target. */
  readonly pass?: boolean;
}

export function machineLine(loadAverages: readonly number[]): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  const load = loadAverages.map((n) => n.toFixed(2)).join(' → ');
  return (
    `${model}, ${CORES} cores, Node.js ${process.version}, ${new Date().toISOString()}; ` +
    `1-min load average during the run ${load} (other processes share the cores)`
  );
}

export function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.figure,
    r.value,
    r.target || '—',
    r.pass === undefined ? '—' : r.pass ? 'pass' : '**fail**',
  ]);
  const header = ['figure', 'value', 'target', 'pass/fail'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((s, i) => s.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export const fmt = {
  rate: (n: number) => `${Math.round(n).toLocaleString('en-US')} req/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`,
  ratio: (n: number) => n.toFixed(2),
  bytes: (n: number) =>
    n >= 1 << 20
      ? `${(n / (1 << 20)).toFixed(1)} MiB`
      : n >= 1024
        ? `${(n / 1024).toFixed(2)} KiB`
        : `${n} B`,
  count: (n: number) => Math.round(n).toLocaleString('en-US'),
  seconds: (n: number) => `${n.toFixed(2)} s`,
};
