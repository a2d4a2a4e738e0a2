// Collects the headline figures of every benchmark result in bench/results into one Markdown table
// (bench/results/README.md): each figure, the baseline measured in the same run, the ratio, the goal.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { RESULTS_DIR, type Headline } from './lib/report.ts';
import { fmt } from './lib/stats.ts';

const rows: string[] = [];
const details: string[] = [];
for (const file of readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort()) {
  const name = file.slice(0, -'.json'.length);
  const result = JSON.parse(readFileSync(`${RESULTS_DIR}/${file}`, 'utf8')) as { machine: string; headlines?: Headline[] };
  for (const h of result.headlines ?? []) {
    const value = h.value >= 100 ? Math.round(h.value).toLocaleString('en-US') : fmt(h.value);
    const base = h.baselineValue >= 100 ? Math.round(h.baselineValue).toLocaleString('en-US') : fmt(h.baselineValue);
    rows.push(`| ${name} | ${h.measure} | ${value} ${h.unit} | ${h.baseline}: ${base} ${h.unit} | ${fmt(h.ratio, 3)} | ${h.goal} | ${h.met ? 'met' : 'not met'} |`);
  }
  details.push(`- [${name}](${name}.md) — ${result.machine}`);
}
// Charts the benchmarks drew (e.g. e2e-latency.svg: end-to-end latency against offered load).
const charts = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.svg')).sort().map((f) => `![${f.slice(0, -'.svg'.length)}](${f})`);
const markdown = [
  '# Benchmark results',
  '',
  'Written by `npm run bench`. Every figure is measured against a baseline in the same run on the same',
  'machine; on shared 2-core machines absolute numbers move a lot between runs, ratios much less.',
  '',
  '| benchmark | measure | ours | same-run baseline | ratio | goal | |',
  '|---|---|---:|---:|---:|---|---|',
  ...rows,
  '',
  'Details:',
  '',
  ...details,
  '',
  ...(charts.length > 0 ? ['Charts:', '', ...charts.flatMap((c) => [c, '']), ''] : []),
].join('\n');
writeFileSync(`${RESULTS_DIR}/README.md`, markdown);
process.stdout.write(markdown);
