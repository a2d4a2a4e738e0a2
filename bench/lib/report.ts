// Writes a benchmark's results as Markdown and JSON under bench/results/, with the machine it ran on.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface Table { title: string; columns: string[]; rows: Array<Array<string | number>> }

/** One line of the summary table (bench/results/README.md): a figure and its same-run baseline. */
export interface Headline {
  measure: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  /** value / baselineValue. */
  ratio: number;
  goal: string;
  /** Whether the goal was met in this run. */
  met: boolean;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z`;
}

export function renderTable(table: Table): string {
  const lines = [`### ${table.title}`, '', `| ${table.columns.join(' | ')} |`, `|${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

export function writeReport(name: string, intro: string, tables: Table[], data: unknown, headlines: Headline[] = []): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const markdown = [`## ${name}`, '', `_${machine()}_`, '', intro, '', ...tables.flatMap((t) => [renderTable(t), ''])].join('\n');
  writeFileSync(`${RESULTS_DIR}/${name}.md`, markdown);
  writeFileSync(`${RESULTS_DIR}/${name}.json`, `${JSON.stringify({ machine: machine(), headlines, data }, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
  return markdown;
}
