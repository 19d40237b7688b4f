import { writeFileSync } from 'node:fs';
import type { Summary } from './stats.js';

/** One figure of the run: a measured summary, a derived ratio, or a line saying why it is missing. */
export interface Row {
  readonly scenario: string;
  readonly system: string;
  readonly figure: string;
  readonly unit: string;
  readonly summary?: Summary;
  /** a target this figure is held to, in words ("≥ 5×"), and whether it was met */
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
}

const fmt = (n: number, unit: string): string => {
  if (!Number.isFinite(n)) return '–';
  if (unit === '×' || unit === 'ratio') return n.toFixed(2);
  if (unit === 'ms' || unit === 'µs') return n < 10 ? n.toFixed(2) : n.toFixed(1);
  if (unit === 'MB') return n.toFixed(0);
  return Math.round(n).toLocaleString('en');
};

export class Report {
  readonly rows: Row[] = [];

  add(row: Row): void {
    this.rows.push(row);
    const s = row.summary;
    const figure = s
      ? `${fmt(s.median, row.unit)} ${row.unit} (${fmt(s.min, row.unit)}–${fmt(s.max, row.unit)})`
      : '';
    const target = row.target ? `  target ${row.target}: ${row.met ? 'met' : 'MISSED'}` : '';
    console.log(
      `  · ${row.scenario} | ${row.system} | ${row.figure}: ${figure}${target}${row.note ? `  [${row.note}]` : ''}`,
    );
  }

  /** A markdown table (bench/README.md takes it as is). */
  table(): string {
    const head = ['Scenario', 'System', 'Figure', 'Median', 'Min–max', 'Target / note'];
    const lines = [
      `| ${head.join(' | ')} |`,
      `| ${head.map((h, i) => (i >= 3 && i <= 4 ? '---:' : '---')).join(' | ')} |`,
    ];
    // scenarios in the issue's order (the long feed runs last but belongs to 3); sort is stable
    const rows = [...this.rows].sort((a, b) => a.scenario.localeCompare(b.scenario));
    for (const r of rows) {
      const s = r.summary;
      const median = s ? `${fmt(s.median, r.unit)} ${r.unit}` : (r.note ?? '');
      const range = s && s.runs.length > 1 ? `${fmt(s.min, r.unit)}–${fmt(s.max, r.unit)}` : '';
      const target = r.target ? `${r.target} ${r.met ? '✓' : '✗'}` : s && r.note ? r.note : '';
      lines.push(`| ${r.scenario} | ${r.system} | ${r.figure} | ${median} | ${range} | ${target} |`);
    }
    return lines.join('\n');
  }

  write(file: string, meta: Record<string, unknown>): void {
    writeFileSync(file, JSON.stringify({ ...meta, rows: this.rows }, null, 2) + '\n');
  }
}
