// The condition language: each operator, absent values, combinators, and the reason templates.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { compileCondition, RuleCompileError, type CompileScope } from '../../../src/policy/conditions.ts';
import { deriveFacts } from '../../../src/policy/context.ts';
import { FIELDS } from '../../../src/policy/fields.ts';
import { compileTemplate } from '../../../src/policy/templates.ts';
import type { ConditionNode, EvaluationInput, PolicyContext } from '../../../src/policy/types.ts';
import type { Action } from '../../../src/domain/types.ts';
import { calmContext, command, email, intentFor, NOW, transfer } from '../../support/policy-fixtures.ts';

const OUTCOME_SCOPE: CompileScope = { phase: 'outcome', appliesTo: undefined, lists: { admins: ['u1', 'u2'], small: [1, 2, 3] } };

function inputFor(action: Action, context: PolicyContext = calmContext()): EvaluationInput {
  const intent = intentFor(action);
  return { intent, context, now: NOW, derived: deriveFacts(intent, context, NOW), risk: { score: 42, tier: 'medium' } };
}

function holds(node: ConditionNode, input: EvaluationInput, appliesTo?: string[]): boolean {
  return compileCondition(node, { ...OUTCOME_SCOPE, appliesTo })(input);
}

describe('comparisons', () => {
  const money = inputFor(transfer(15_000));
  const t = ['transfer'];
  test('numeric operators', () => {
    assert.equal(holds({ field: 'action.amountMinor', gt: 14_999 }, money, t), true);
    assert.equal(holds({ field: 'action.amountMinor', gt: 15_000 }, money, t), false);
    assert.equal(holds({ field: 'action.amountMinor', gte: 15_000 }, money, t), true);
    assert.equal(holds({ field: 'action.amountMinor', lt: 15_000 }, money, t), false);
    assert.equal(holds({ field: 'action.amountMinor', lte: 15_000 }, money, t), true);
  });
  test('eq and ne on strings and booleans', () => {
    assert.equal(holds({ field: 'action.currency', eq: 'USD' }, money, t), true);
    assert.equal(holds({ field: 'action.currency', ne: 'USD' }, money, t), false);
    assert.equal(holds({ field: 'context.counterpartyKnown', eq: true }, money, t), true);
  });
  test('in, with literal values and with a named list', () => {
    assert.equal(holds({ field: 'action.currency', in: ['EUR', 'USD'] }, money, t), true);
    assert.equal(holds({ field: 'intent.userId', in: { list: 'admins' } }, money), false);
    assert.equal(holds({ field: 'context.actionsLast10Min', in: { list: 'small' } }, inputFor(transfer(1), calmContext({ actionsLast10Min: 2 }))), true);
  });
  test('matches, case-sensitive unless ignoreCase', () => {
    const sudo = inputFor(command('SUDO reboot'));
    const c = ['command_run'];
    assert.equal(holds({ field: 'action.command', matches: '^sudo\\b' }, sudo, c), false);
    assert.equal(holds({ field: 'action.command', matches: '^sudo\\b', ignoreCase: true }, sudo, c), true);
  });
  test('a compiled regex is reused: repeated tests give the same answer (no lastIndex state)', () => {
    const predicate = compileCondition({ field: 'action.command', matches: 'rm' }, { ...OUTCOME_SCOPE, appliesTo: ['command_run'] });
    const input = inputFor(command('rm -r x'));
    assert.deepEqual([predicate(input), predicate(input), predicate(input)], [true, true, true]);
  });
  test('risk fields are visible to outcome rules', () => {
    assert.equal(holds({ field: 'risk.tier', eq: 'medium' }, money), true);
    assert.equal(holds({ field: 'risk.score', gte: 42 }, money), true);
  });
});

describe('absent values', () => {
  const message = inputFor({ type: 'transfer', amountMinor: 100, currency: 'USD', payee: 'x', memo: null });
  const t = ['transfer'];
  test('every comparison on an absent (null) field is false, so its negation is true', () => {
    for (const node of [{ field: 'action.memo', eq: 'x' }, { field: 'action.memo', ne: 'x' }, { field: 'action.memo', in: ['x'] }, { field: 'action.memo', matches: '.*' }] as ConditionNode[]) {
      assert.equal(holds(node, message, t), false, JSON.stringify(node));
      assert.equal(holds({ not: node }, message, t), true, JSON.stringify(node));
    }
  });
  test('exists', () => {
    assert.equal(holds({ field: 'action.memo', exists: false }, message, t), true);
    assert.equal(holds({ field: 'action.payee', exists: true }, message, t), true);
  });
  test('a field of another action type read through an unscoped getter is absent, not an error', () => {
    const mail = inputFor(email('a@b.example'));
    assert.equal(compileCondition({ field: 'action.amountMinor', gt: 0 }, { ...OUTCOME_SCOPE, appliesTo: ['transfer'] })(mail), false);
  });
});

describe('combinators', () => {
  const input = inputFor(transfer(500));
  const yes: ConditionNode = { always: true };
  const no: ConditionNode = { not: { always: true } };
  test('all, any, not', () => {
    assert.equal(holds({ all: [yes, yes, yes] }, input), true);
    assert.equal(holds({ all: [yes, no, yes] }, input), false);
    assert.equal(holds({ all: [yes, no] }, input), false);
    assert.equal(holds({ any: [no, no, yes] }, input), true);
    assert.equal(holds({ any: [no, no] }, input), false);
    assert.equal(holds({ not: { any: [no] } }, input), true);
  });
});

describe('compile-time checks', () => {
  const cases: Array<[string, ConditionNode, CompileScope, string, RegExp]> = [
    ['unknown field', { field: 'action.colour', eq: 'red' }, OUTCOME_SCOPE, 'when.field', /unknown field/],
    ['risk in a risk rule', { all: [{ always: true }, { field: 'risk.tier', eq: 'high' }] }, { ...OUTCOME_SCOPE, phase: 'risk' }, 'when.all[1].field', /only known to outcome rules/],
    ['action field without appliesTo', { field: 'action.command', eq: 'ls' }, OUTCOME_SCOPE, 'when.field', /exists only for command_run/],
    ['action field with a wider appliesTo', { field: 'action.command', eq: 'ls' }, { ...OUTCOME_SCOPE, appliesTo: ['command_run', 'transfer'] }, 'when.field', /covers transfer/],
    ['wrong operand type in a list', { field: 'action.type', in: ['transfer', 3] }, OUTCOME_SCOPE, 'when.in[1]', /is a string; 3 is not/],
    ['unknown list', { field: 'action.type', in: { list: 'nope' } }, OUTCOME_SCOPE, 'when.in.list', /no list named/],
    ['ignoreCase without matches', { field: 'action.type', eq: 'x', ignoreCase: true }, OUTCOME_SCOPE, 'when.ignoreCase', /only goes with matches/],
  ];
  for (const [note, node, scope, field, message] of cases) {
    test(note, () => {
      assert.throws(() => compileCondition(node, scope), (error: unknown) => {
        assert.ok(error instanceof RuleCompileError);
        assert.equal(error.field, field);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('templates', () => {
  test('placeholders are replaced by field values; absent values show as (none)', () => {
    const render = compileTemplate('{derived.amountDisplay} to "{action.payee}" memo {action.memo}', { ...OUTCOME_SCOPE, appliesTo: ['transfer'] }, 'reason');
    assert.equal(render(inputFor(transfer(123_456, 'Zoë'))), '1234.56 USD to "Zoë" memo (none)');
  });
  test('text without placeholders is returned as is', () => {
    assert.equal(compileTemplate('plain text', OUTCOME_SCOPE, 'reason')(inputFor(transfer(1))), 'plain text');
  });
  test('placeholders are checked like condition fields', () => {
    assert.throws(() => compileTemplate('{risk.score}', { ...OUTCOME_SCOPE, phase: 'risk' }, 'reason'), /only known to outcome rules/);
    assert.throws(() => compileTemplate('a { stray', OUTCOME_SCOPE, 'reason'), /not a \{field.path\} placeholder/);
  });
});

describe('the field list', () => {
  test('docs/policy.md documents exactly the fields rules may read, with their types', async () => {
    const docs = await readFile(new URL('../../../docs/policy.md', import.meta.url), 'utf8');
    const documented = new Map([...docs.matchAll(/^\| `([a-z]+\.[A-Za-z0-9]+)` \| (string|number|boolean) \|/gm)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual(documented, new Map(Object.entries(FIELDS).map(([path, spec]) => [path, spec.type])));
  });
});
