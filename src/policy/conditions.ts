// The condition language: conditions are data ({all}, {any}, {not}, {always}, comparisons on a
// field), compiled once into closures. No eval, no Function, no regex compiled per call.
//
// Semantics: a comparison on a field without a value (absent, or null) is false; `exists` tests
// presence. So `{not: {field: x, gt: 5}}` is true when x is absent.
import { fieldSpec, type FieldSpec, type FieldType } from './fields.ts';
import type { ComparisonCondition, ConditionNode, EvaluationInput, Phase, Predicate, Scalar } from './types.ts';

/** A problem in one rule, located by a field path inside the rule ("when.all[1].gt"). */
export class RuleCompileError extends Error {
  override readonly name = 'RuleCompileError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export interface CompileScope {
  phase: Phase;
  /** Action types the rule is limited to; undefined = every type. */
  appliesTo: readonly string[] | undefined;
  lists: Readonly<Record<string, readonly Scalar[]>>;
}

const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'matches', 'exists'] as const;
type Operator = (typeof OPERATORS)[number];

const ALWAYS: Predicate = () => true;

export function compileCondition(node: ConditionNode, scope: CompileScope, at = 'when'): Predicate {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new RuleCompileError(at, 'must be a condition object');
  }
  if ('all' in node) return compileAll(node.all.map((child, i) => compileCondition(child, scope, `${at}.all[${i}]`)));
  if ('any' in node) return compileAny(node.any.map((child, i) => compileCondition(child, scope, `${at}.any[${i}]`)));
  if ('not' in node) {
    const inner = compileCondition(node.not, scope, `${at}.not`);
    return (input) => !inner(input);
  }
  if ('always' in node) return ALWAYS;
  return compileComparison(node, scope, at);
}

function compileAll(parts: Predicate[]): Predicate {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate, Predicate];
    return (input) => a(input) && b(input);
  }
  return (input) => {
    for (const part of parts) if (!part(input)) return false;
    return true;
  };
}

function compileAny(parts: Predicate[]): Predicate {
  if (parts.length === 1) return parts[0]!;
  return (input) => {
    for (const part of parts) if (part(input)) return true;
    return false;
  };
}

/** The spec of a field a rule may read in `scope`; throws naming `at` otherwise. */
export function resolveField(path: string, scope: CompileScope, at: string): FieldSpec {
  const spec = fieldSpec(path);
  if (spec === undefined) throw new RuleCompileError(at, `unknown field "${path}" (see docs/policy.md for the field list)`);
  if (spec.phase === 'outcome' && scope.phase === 'risk') {
    throw new RuleCompileError(at, `"${path}" is only known to outcome rules (deny, require_human, allow), not to risk rules`);
  }
  if (spec.actionTypes !== undefined) {
    const allowed: readonly string[] = spec.actionTypes;
    const outside = scope.appliesTo === undefined ? ['(all action types)'] : scope.appliesTo.filter((t) => !allowed.includes(t));
    if (outside.length > 0) {
      throw new RuleCompileError(at, `"${path}" exists only for ${allowed.join(', ')}; limit the rule with appliesTo (it now covers ${outside.join(', ')})`);
    }
  }
  return spec;
}

function compileComparison(node: ComparisonCondition, scope: CompileScope, at: string): Predicate {
  if (typeof node.field !== 'string') throw new RuleCompileError(at, 'a comparison needs a field');
  const spec = resolveField(node.field, scope, `${at}.field`);
  const operators = OPERATORS.filter((op) => node[op] !== undefined);
  if (operators.length !== 1) {
    throw new RuleCompileError(at, `a comparison needs exactly one of ${OPERATORS.join(', ')} (found ${operators.length === 0 ? 'none' : operators.join(', ')})`);
  }
  if (node.ignoreCase !== undefined && operators[0] !== 'matches') throw new RuleCompileError(`${at}.ignoreCase`, 'ignoreCase only goes with matches');
  const get = spec.get;
  const op = operators[0] as Operator;
  const where = `${at}.${op}`;
  switch (op) {
    case 'eq':
    case 'ne': {
      const operand = node[op] as Scalar;
      expectType(operand, spec.type, where, node.field);
      return op === 'eq'
        ? (input) => get(input) === operand
        : (input) => { const v = get(input); return v !== undefined && v !== null && v !== operand; };
    }
    case 'gt': case 'gte': case 'lt': case 'lte': {
      if (spec.type !== 'number') throw new RuleCompileError(where, `${op} needs a number field; "${node.field}" is a ${spec.type}`);
      const operand = node[op] as number;
      expectType(operand, 'number', where, node.field);
      return numberComparison(op, get, operand);
    }
    case 'in': {
      const values = resolveList(node.in!, scope, where);
      values.forEach((value, i) => expectType(value, spec.type, `${where}[${i}]`, node.field));
      const set = new Set<unknown>(values);
      return (input) => set.has(get(input));
    }
    case 'matches': {
      if (spec.type !== 'string') throw new RuleCompileError(where, `matches needs a string field; "${node.field}" is a ${spec.type}`);
      let pattern: RegExp;
      try {
        pattern = new RegExp(node.matches!, node.ignoreCase === true ? 'i' : '');
      } catch (error) {
        throw new RuleCompileError(where, `invalid regular expression: ${(error as Error).message}`);
      }
      return (input) => { const v = get(input); return typeof v === 'string' && pattern.test(v); };
    }
    case 'exists': {
      const wanted = node.exists!;
      return (input) => { const v = get(input); return (v !== undefined && v !== null) === wanted; };
    }
  }
}

function numberComparison(op: 'gt' | 'gte' | 'lt' | 'lte', get: (input: EvaluationInput) => unknown, operand: number): Predicate {
  switch (op) {
    case 'gt': return (input) => { const v = get(input); return typeof v === 'number' && v > operand; };
    case 'gte': return (input) => { const v = get(input); return typeof v === 'number' && v >= operand; };
    case 'lt': return (input) => { const v = get(input); return typeof v === 'number' && v < operand; };
    case 'lte': return (input) => { const v = get(input); return typeof v === 'number' && v <= operand; };
  }
}

function resolveList(value: Scalar[] | { list: string }, scope: CompileScope, where: string): readonly Scalar[] {
  if (Array.isArray(value)) return value;
  const list = Object.hasOwn(scope.lists, value.list) ? scope.lists[value.list] : undefined;
  if (list === undefined) throw new RuleCompileError(`${where}.list`, `no list named "${value.list}" in lists`);
  return list;
}

function expectType(value: unknown, type: FieldType, where: string, field: string): void {
  if (typeof value !== type) throw new RuleCompileError(where, `"${field}" is a ${type}; ${JSON.stringify(value)} is not`);
}
