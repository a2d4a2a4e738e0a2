// Loading the constitution: the default file compiles, its digest covers content not layout, and
// every kind of mistake stops loading with SNT_POLICY_RULES_INVALID naming the rule id and field.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { canonicalDigest } from '../../../src/canonical/digest.ts';
import { isSentinelError, type SentinelError } from '../../../src/errors/index.ts';
import { loadRuleSet } from '../../../src/policy/load.ts';
import { compileRuleSet, parseRuleSet } from '../../../src/policy/ruleset.ts';
import { CONSTITUTION_PATH } from '../../support/policy-fixtures.ts';

const MINIMAL = {
  version: '1',
  risk: { base: 10, bands: { medium: 40, high: 70 } },
  defaults: { outcome: 'deny', reason: 'nothing allows it' },
  lists: { tools: ['weather.lookup'] },
  approvals: { ops: { approvers: ['role:ops'], requiredApprovals: 1, within: '15m', requesterMayApprove: false } },
  rules: [
    { id: 'allow-tools', description: 'known tools', appliesTo: ['tool_call'], when: { field: 'action.tool', in: { list: 'tools' } }, effect: 'allow' },
  ],
};

function withRule(rule: Record<string, unknown>): unknown {
  return { ...MINIMAL, rules: [...MINIMAL.rules, rule] };
}

function rulesError(run: () => unknown): SentinelError {
  try {
    run();
  } catch (error) {
    assert.ok(isSentinelError(error, 'SNT_POLICY_RULES_INVALID'), `expected SNT_POLICY_RULES_INVALID, got ${String(error)}`);
    return error;
  }
  assert.fail('the rule set was accepted');
}

function firstProblem(error: SentinelError): { ruleId: string | null; field: string; problem: string } {
  const problems = error.details.problems as Array<{ ruleId: string | null; field: string; problem: string }>;
  assert.ok(problems.length > 0);
  return problems[0]!;
}

describe('the default constitution', () => {
  test('loads, with the version of the file and the digest of its canonical parsed form', async () => {
    const ruleSet = await loadRuleSet(CONSTITUTION_PATH);
    const parsed = parse(await readFile(CONSTITUTION_PATH, 'utf8'));
    assert.equal(ruleSet.version, parsed.version);
    assert.match(ruleSet.version, /^2026\.11\.\d+$/);
    assert.equal(ruleSet.digest, canonicalDigest(parsed));
    assert.equal(ruleSet.rules.length, parsed.rules.length);
  });

  test('comments and layout do not change the digest; a changed threshold does', async () => {
    const text = await readFile(CONSTITUTION_PATH, 'utf8');
    const original = parseRuleSet(text);
    const reformatted = parseRuleSet(`# a new comment\n${text.replaceAll('\n\n', '\n')}`);
    assert.equal(reformatted.digest, original.digest);
    const changed = parseRuleSet(text.replace('gt: 2500000', 'gt: 2500001'));
    assert.notEqual(changed.digest, original.digest);
  });

  test('ships a rule for each behaviour the issue asks for', async () => {
    const ids = (await loadRuleSet(CONSTITUTION_PATH)).rules.map((r) => r.id);
    for (const id of ['deny-transfer-over-single-limit', 'deny-transfer-over-daily-limit', 'human-transfer-new-payee-cooling-off',
      'human-message-external', 'allow-command-allowlisted', 'human-command-always-ask', 'deny-unknown-action-type', 'deny-unknown-tool']) {
      assert.ok(ids.includes(id), `missing ${id}`);
    }
  });

  test('a missing file is SNT_POLICY_RULES_INVALID naming the path', async () => {
    await assert.rejects(loadRuleSet('/nonexistent/constitution.yaml'), (error: unknown) =>
      isSentinelError(error, 'SNT_POLICY_RULES_INVALID') && error.message.includes('/nonexistent/constitution.yaml'));
  });
});

describe('a bad constitution names the rule id and the field', () => {
  const cases: Array<{ note: string; rule: Record<string, unknown>; field: string; problem: RegExp }> = [
    { note: 'missing effect', rule: { id: 'no-effect', description: 'd', when: { always: true } }, field: 'effect', problem: /required/ },
    { note: 'unknown effect', rule: { id: 'bad-effect', description: 'd', when: { always: true }, effect: 'maybe' }, field: 'effect', problem: /deny, require_human, allow, raise_risk, lower_risk/ },
    { note: 'string where a number belongs', rule: { id: 'big', description: 'd', appliesTo: ['transfer'], when: { field: 'action.amountMinor', gt: 'lots' }, effect: 'deny' }, field: 'when.gt', problem: /number/ },
    { note: 'nested condition', rule: { id: 'nested', description: 'd', appliesTo: ['transfer'], when: { all: [{ always: true }, { field: 'action.amountMinor', lte: '5' }] }, effect: 'deny' }, field: 'when.all[1].lte', problem: /number/ },
    { note: 'unknown property', rule: { id: 'typo', description: 'd', when: { always: true }, effect: 'deny', reasn: 'x' }, field: 'reasn', problem: /not a known property/ },
    { note: 'two operators', rule: { id: 'two-ops', description: 'd', appliesTo: ['transfer'], when: { field: 'action.amountMinor', gt: 1, lt: 5 }, effect: 'deny' }, field: 'when', problem: /exactly one/ },
    { note: 'risk rule without points', rule: { id: 'pointless', description: 'd', when: { always: true }, effect: 'raise_risk', factor: 'f' }, field: 'points', problem: /required/ },
    { note: 'approval on a deny rule', rule: { id: 'deny-approval', description: 'd', when: { always: true }, effect: 'deny', approval: 'ops' }, field: 'approval', problem: /not allowed with effect deny/ },
    { note: 'points on an allow rule', rule: { id: 'allow-points', description: 'd', when: { always: true }, effect: 'allow', points: 5 }, field: 'points', problem: /not allowed with effect allow/ },
    { note: 'in that is neither a list nor a list reference', rule: { id: 'bad-in', description: 'd', when: { field: 'action.type', in: 5 }, effect: 'deny' }, field: 'when.in', problem: /list of values or \{list/ },
    { note: 'comparison without an operator', rule: { id: 'no-op', description: 'd', when: { field: 'action.type' }, effect: 'deny' }, field: 'when', problem: /exactly one operator/ },
    { note: 'require_human without approval', rule: { id: 'who', description: 'd', when: { always: true }, effect: 'require_human' }, field: 'approval', problem: /required/ },
    { note: 'bad duration', rule: { id: 'slow', description: 'd', when: { always: true }, effect: 'require_human', approval: { approvers: ['role:ops'], requiredApprovals: 1, within: '3 weeks', requesterMayApprove: false } }, field: 'approval.within', problem: /pattern/ },
    { note: 'bad approver', rule: { id: 'approver', description: 'd', when: { always: true }, effect: 'require_human', approval: { approvers: ['role:'], requiredApprovals: 1, within: '1h', requesterMayApprove: false } }, field: 'approval.approvers[0]', problem: /pattern/ },
    { note: 'invalid regex', rule: { id: 'regex', description: 'd', appliesTo: ['command_run'], when: { field: 'action.command', matches: '(unclosed' }, effect: 'deny' }, field: 'when.matches', problem: /regular expression/ },
    { note: 'unknown field', rule: { id: 'unknown-field', description: 'd', when: { field: 'action.amount', gt: 5 }, effect: 'deny' }, field: 'when.field', problem: /unknown field "action.amount"/ },
    { note: 'field of another action type', rule: { id: 'scope', description: 'd', when: { field: 'action.amountMinor', gt: 5 }, effect: 'deny' }, field: 'when.field', problem: /exists only for transfer; limit the rule with appliesTo/ },
    { note: 'operand of the wrong type', rule: { id: 'wrong-type', description: 'd', appliesTo: ['transfer'], when: { field: 'action.currency', eq: 5 }, effect: 'deny' }, field: 'when.eq', problem: /is a string/ },
    { note: 'order operator on a string', rule: { id: 'gt-string', description: 'd', when: { field: 'action.type', gt: 5 }, effect: 'deny' }, field: 'when.gt', problem: /needs a number field/ },
    { note: 'risk rule reading the risk', rule: { id: 'circular', description: 'd', when: { field: 'risk.score', gt: 5 }, effect: 'raise_risk', points: 5, factor: 'f' }, field: 'when.field', problem: /only known to outcome rules/ },
    { note: 'unknown list', rule: { id: 'list', description: 'd', when: { field: 'action.type', in: { list: 'nope' } }, effect: 'deny' }, field: 'when.in.list', problem: /no list named "nope"/ },
    { note: 'unknown approval profile', rule: { id: 'profile', description: 'd', when: { always: true }, effect: 'require_human', approval: 'finance' }, field: 'approval', problem: /no approval profile named "finance"/ },
    { note: 'unknown action type in appliesTo', rule: { id: 'applies', description: 'd', appliesTo: ['transfers'], when: { always: true }, effect: 'deny' }, field: 'appliesTo[0]', problem: /unknown action type "transfers"/ },
    { note: 'unknown placeholder in a reason', rule: { id: 'template', description: 'd', when: { always: true }, effect: 'deny', reason: 'because {action.colour}' }, field: 'reason', problem: /unknown field "action.colour"/ },
    { note: 'bad rule id', rule: { id: 'Bad_Id', description: 'd', when: { always: true }, effect: 'deny' }, field: 'id', problem: /pattern/ },
  ];
  for (const c of cases) {
    test(c.note, () => {
      const error = rulesError(() => compileRuleSet(withRule(c.rule), 'test.yaml'));
      const problem = firstProblem(error);
      assert.equal(problem.ruleId, c.rule.id);
      assert.equal(problem.field, c.field);
      assert.match(problem.problem, c.problem);
      assert.ok(error.message.includes(`rule "${String(c.rule.id)}"`), error.message);
      assert.ok(error.message.includes(`field "${c.field}"`), error.message);
      assert.ok(error.message.includes('test.yaml'), error.message);
    });
  }

  test('a rule without an id is named by its position', () => {
    const problem = firstProblem(rulesError(() => compileRuleSet(withRule({ description: 'd', when: { always: true }, effect: 'deny' }))));
    assert.equal(problem.ruleId, 'rules[1]');
    assert.equal(problem.field, 'id');
  });

  test('duplicate rule ids', () => {
    const problem = firstProblem(rulesError(() => compileRuleSet(withRule({ ...MINIMAL.rules[0]! }))));
    assert.deepEqual(problem, { ruleId: 'allow-tools', field: 'id', problem: 'duplicates the id of rules[0]' });
  });

  test('bands out of order, outside any rule', () => {
    const problem = firstProblem(rulesError(() => compileRuleSet({ ...MINIMAL, risk: { base: 0, bands: { medium: 80, high: 70 } } })));
    assert.deepEqual(problem.ruleId, null);
    assert.equal(problem.field, 'risk.bands.medium');
  });

  test('a document-level field', () => {
    const { version: _version, ...withoutVersion } = MINIMAL;
    const problem = firstProblem(rulesError(() => compileRuleSet(withoutVersion)));
    assert.deepEqual(problem, { ruleId: null, field: 'version', problem: 'is required' });
  });

  test('YAML that does not parse, and duplicate keys', () => {
    assert.match(rulesError(() => parseRuleSet('version: "1"\nrules: [\n')).message, /\(yaml\)/);
    assert.match(rulesError(() => parseRuleSet('version: "1"\nversion: "2"\n')).message, /unique/i);
  });

  test('every problem is listed in details, not only the first', () => {
    const error = rulesError(() => compileRuleSet({ ...MINIMAL, rules: [
      { id: 'a', description: 'd', when: { field: 'nope.x', eq: 1 }, effect: 'deny' },
      { id: 'b', description: 'd', when: { field: 'nope.y', eq: 1 }, effect: 'deny' },
    ] }));
    const problems = error.details.problems as Array<{ ruleId: string }>;
    assert.deepEqual(problems.map((p) => p.ruleId), ['a', 'b']);
    assert.match(error.message, /and 1 more problem/);
  });
});
