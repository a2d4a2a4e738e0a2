// Writes docs/errors.md from the closed table of error codes (src/errors). A test
// (test/unit/core/errors-doc.unit.test.ts) fails when the document and the code disagree.
//   node scripts/gen-errors-doc.ts          # rewrite the document
//   node scripts/gen-errors-doc.ts --check  # exit 1 if it is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../src/errors/index.ts';
import { APPROVAL_CODES } from '../src/errors/approval.ts';
import { CHANNEL_CODES } from '../src/errors/channels.ts';
import { CORE_CODES } from '../src/errors/core.ts';
import { EXECUTOR_CODES } from '../src/errors/executor.ts';
import { POLICY_CODES } from '../src/errors/policy.ts';
import type { ErrorCodeSpec } from '../src/errors/spec.ts';

export const ERRORS_DOC = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

const SECTIONS: Array<[string, Record<string, ErrorCodeSpec>]> = [
  ['Core: input, HTTP, serialisation, dependencies, configuration', CORE_CODES],
  ['Policy ("Aureus OS")', POLICY_CODES],
  ['Signed approvals: signing refusals, verification, keys, KMS', APPROVAL_CODES],
  ['Executor', EXECUTOR_CODES],
  ['Channels ("OpenClaw")', CHANNEL_CODES],
];

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'One closed set of codes for every refusal and failure in Sentinel: HTTP error bodies',
    '(`{ "error": { "code", "message", "details" }, "traceId" }`), dead-letter headers',
    '(`x-dlq-error-code`), refused executions (`ExecutionRecorded.code`) and approval verdicts all use them.',
    'Subscribers in any language can switch on the code; messages are for people and may change.',
    '',
    '*Retriable* means trying the same thing again later can succeed (an outage, a rate limit);',
    'consumers retry those without committing, and dead-letter the others with the cause.',
    '',
    'Generated from `src/errors/*.ts` by `node scripts/gen-errors-doc.ts`; a test keeps both in step.',
    '',
  ];
  for (const [title, codes] of SECTIONS) {
    lines.push(`## ${title}`, '', '| code | HTTP | retriable | meaning |', '|---|---:|---|---|');
    for (const [code, spec] of Object.entries(codes)) {
      lines.push(`| \`${code}\` | ${spec.status} | ${spec.retriable ? 'yes' : 'no'} | ${spec.summary.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  const documented = SECTIONS.reduce((n, [, codes]) => n + Object.keys(codes).length, 0);
  if (documented !== Object.keys(ERROR_CODES).length) throw new Error('a code table is missing from SECTIONS');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rendered = renderErrorsDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(ERRORS_DOC, 'utf8') !== rendered) {
      process.stderr.write('docs/errors.md is out of date: run node scripts/gen-errors-doc.ts\n');
      process.exit(1);
    }
  } else {
    writeFileSync(ERRORS_DOC, rendered);
  }
}
