// Plain-text summaries of replay, counterfactual and chain verification runs. Pure.
import type { ChainReport } from '../audit/chain.ts';
import { FINDING_TYPES, type Finding, type ReplayReport } from './analyze.ts';
import type { CounterfactualReport } from './counterfactual.ts';

export function table(columns: string[], rows: Array<Array<string | number>>): string {
  const cells = [columns, ...rows.map((r) => r.map(String))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const n = (value: number) => value.toLocaleString('en-US');

export function describeFinding(f: Finding): string {
  const ids = [
    f.intentId && `intent ${f.intentId}`, f.decisionId && `decision ${f.decisionId}`,
    f.approvalId && `approval ${f.approvalId}`, f.executionId && `execution ${f.executionId}`,
  ].filter(Boolean).join(', ');
  const where = f.at ? ` [${f.at.topic}/${f.at.partition}@${f.at.offset}]` : '';
  const code = f.code ? ` ${f.code}` : '';
  const diffs = f.differences?.length ? `\n      ${f.differences.join('\n      ')}` : '';
  return `  ${f.type}${code}: ${f.detail}${ids ? ` (${ids})` : ''}${where}${diffs}`;
}

export function renderReplaySummary(report: ReplayReport, options: { seconds: number; maxListed?: number }): string {
  const s = report.stats;
  const records = Object.values(s.records).reduce((a, b) => a + b, 0);
  const byType = new Map<string, number>();
  for (const f of report.findings) byType.set(f.type, (byType.get(f.type) ?? 0) + 1);
  const lines = [
    `replay: ${n(records)} records in ${options.seconds.toFixed(1)} s (${n(Math.round(records / Math.max(options.seconds, 0.001)))} records/s), ${n(report.findings.length)} finding(s)`,
    '',
    table(['topic', 'records'], Object.entries(s.records).sort().map(([t, c]) => [t, n(c)])),
    '',
    table(['check', 'checked', 'ok', 'findings'], [
      ['approvals re-verified', n(s.approvals.verified), n(s.approvals.valid), n(s.approvals.invalid + s.approvals.notPermitted)],
      ['decisions re-evaluated', n(s.decisions.reevaluated + s.decisions.unverifiable), n(s.decisions.matched), n(s.decisions.differed + s.decisions.unverifiable)],
      ['intents joined to an outcome', n(s.intents.total), n(s.intents.complete), n(s.intents.missingOutcome)],
      ['executions with a valid approval', n(s.executions.executed + s.executions.failed), n(s.executions.executed + s.executions.failed - s.executions.withoutValidApproval), n(s.executions.withoutValidApproval + s.executions.duplicated)],
    ]),
  ];
  if (s.intents.pending > 0) lines.push('', `${n(s.intents.pending)} intent(s) still in flight at the end of the range (not findings)`);
  lines.push('', table(['finding', 'count'], FINDING_TYPES.map((t) => [t, n(byType.get(t) ?? 0)])));
  const max = options.maxListed ?? 20;
  if (report.findings.length > 0) {
    lines.push('', `findings${report.findings.length > max ? ` (first ${max}; all in the JSON Lines output)` : ''}:`);
    for (const f of report.findings.slice(0, max)) lines.push(describeFinding(f));
  }
  return `${lines.join('\n')}\n`;
}

export function renderCounterfactual(report: CounterfactualReport, options: { maxListed?: number } = {}): string {
  const lines = [
    `counterfactual: candidate ${report.candidate.version} (${report.candidate.digest}) from ${report.candidate.source}`,
    `${n(report.intents)} intent(s) in range, ${n(report.evaluated)} decision(s) re-decided, ${n(report.changed)} would change, ${n(report.unchanged)} unchanged`,
  ];
  for (const [reason, count] of Object.entries(report.skipped)) lines.push(`skipped ${n(count)}: ${reason}`);
  if (Object.keys(report.transitions).length > 0) {
    lines.push('', table(['outcome change', 'decisions'], Object.entries(report.transitions).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, n(v)])));
  }
  if (report.byRule.length > 0) {
    lines.push('', table(['rule', 'newly fires', 'no longer fires', 'examples'], report.byRule.map((r) => [r.ruleId, n(r.newlyFired), n(r.noLongerFired), r.examples.slice(0, 3).join(' ')])));
  }
  const max = options.maxListed ?? 20;
  if (report.changes.length > 0) {
    lines.push('', `changed decisions${report.changes.length > max ? ` (first ${max})` : ''}:`);
    for (const c of report.changes.slice(0, max)) {
      lines.push(`  ${c.decisionId}: ${c.recorded.outcome}/${c.recorded.tier} -> ${c.candidate.outcome}/${c.candidate.tier}${c.rulesAdded.length ? ` +${c.rulesAdded.join(' +')}` : ''}${c.rulesRemoved.length ? ` -${c.rulesRemoved.join(' -')}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderChainReport(report: ChainReport): string {
  const lines = [
    `audit chain ${report.chainId}: ${report.ok ? 'intact' : 'BROKEN'}`,
    table(['links', 'checkpoints', 'last checkpoint', 'unsigned tail', 'problems'], [[
      n(report.links), n(report.checkpoints), report.lastCheckpointSequence === 0 ? 'none' : `#${report.lastCheckpointSequence}`, n(report.unsignedTail), n(report.problems.length + report.moreProblems),
    ]]),
  ];
  if (report.firstBreak) {
    lines.push('', `first broken link: #${report.firstBreak.sequence} ${report.firstBreak.problem}: ${report.firstBreak.detail}`);
    for (const p of report.problems.slice(1, 20)) lines.push(`  #${p.sequence} ${p.problem}: ${p.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
