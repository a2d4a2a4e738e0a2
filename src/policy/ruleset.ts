// Loading the constitution: YAML → JSON Schema validation → compilation into closures, once.
// Any problem stops start-up with SNT_POLICY_RULES_INVALID naming the rule id and the field.
import { parseDocument } from 'yaml';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import schema from '../../schemas/json/constitution.schema.json' with { type: 'json' };
import { canonicalDigest } from '../canonical/digest.ts';
import { ACTION_TYPES } from '../domain/types.ts';
import { SentinelError } from '../errors/index.ts';
import { compileCondition, RuleCompileError, type CompileScope } from './conditions.ts';
import { compileTemplate } from './templates.ts';
import type {
  ApprovalSpec, CompiledApproval, CompiledRule, CompiledRuleSet, Phase, RuleDocument, RuleSetDocument, RulesForActionType, Scalar,
} from './types.ts';

export interface RulesProblem {
  ruleId: string | null;
  field: string;
  problem: string;
}

function rulesInvalid(source: string, problems: RulesProblem[]): SentinelError {
  const first = problems[0]!;
  const where = first.ruleId === null ? `field "${first.field}"` : `rule "${first.ruleId}" field "${first.field}"`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new SentinelError('SNT_POLICY_RULES_INVALID', `invalid constitution ${source}: ${where}: ${first.problem}${more}`, {
    details: { source, problems },
  });
}

// ---------------------------------------------------------------------------------------------
// Schema validation

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    // ajv-formats is CommonJS; its callable is the default export's default under NodeNext.
    const addFormats = (addFormatsPlugin as unknown as { default: (a: Ajv2020) => void }).default ?? addFormatsPlugin;
    addFormats(ajv);
    validator = ajv.compile(schema);
  }
  return validator;
}

function pointerSegments(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function dottedPath(segments: string[]): string {
  let out = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** Locates an error in a rule ("rules/3/when/gt" → rule id of rules[3], field "when.gt"). */
function locate(document: unknown, segments: string[]): { ruleId: string | null; rule: Record<string, unknown> | null; fieldSegments: string[] } {
  if (segments[0] === 'rules' && segments[1] !== undefined && /^\d+$/.test(segments[1])) {
    const rules = (document as { rules?: unknown }).rules;
    const found: unknown = Array.isArray(rules) ? rules[Number(segments[1])] : undefined;
    const rule = typeof found === 'object' && found !== null ? (found as Record<string, unknown>) : null;
    const ruleId = typeof rule?.id === 'string' ? rule.id : `rules[${segments[1]}]`;
    return { ruleId, rule, fieldSegments: segments.slice(2) };
  }
  return { ruleId: null, rule: null, fieldSegments: segments };
}

function describeSchemaError(error: ErrorObject, fieldSegments: readonly string[], rule: Record<string, unknown> | null): { extra: string | null; problem: string } {
  const params = error.params as Record<string, unknown>;
  const last = fieldSegments.at(-1);
  switch (error.keyword) {
    case 'required': return { extra: String(params.missingProperty), problem: 'is required' };
    case 'additionalProperties': return { extra: String(params.additionalProperty), problem: 'is not a known property' };
    case 'enum': return { extra: null, problem: `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'const': return { extra: null, problem: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'format': return { extra: null, problem: params.format === 'regex' ? 'is not a valid regular expression' : `must be a ${String(params.format)}` };
    case 'false schema': return { extra: null, problem: `is not allowed with effect ${String(rule?.effect)}` };
    case 'oneOf':
      if (last === 'in') return { extra: null, problem: 'must be a list of values or {list: <name of a list>}' };
      if (last === 'approval') return { extra: null, problem: 'must be the name of an approval profile or an approval object' };
      if (fieldSegments.includes('when')) {
        return { extra: null, problem: 'a condition needs exactly one of all, any, not, always, or a field with exactly one operator (eq, ne, gt, gte, lt, lte, in, matches, exists)' };
      }
      return { extra: null, problem: error.message ?? 'does not match its schema' };
    default: return { extra: null, problem: error.message ?? 'is invalid' };
  }
}

function schemaProblems(document: unknown, errors: readonly ErrorObject[]): RulesProblem[] {
  // A oneOf/anyOf reports why each alternative failed; failures at the combinator's own node are
  // noise (the node matched none), deeper ones say what is wrong inside the alternative it meant.
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const alternativeNoise = (e: ErrorObject) => combinators.some((c) => c !== e && e.instancePath === c.instancePath
    && e.schemaPath.startsWith(`${c.schemaPath}/`));
  // Then the most specific errors first; if/then errors restate the branch's own error.
  const useful = errors.filter((e) => e.keyword !== 'if' && !alternativeNoise(e));
  const depth = (e: ErrorObject) => pointerSegments(e.instancePath).length + (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0);
  const combinator = (e: ErrorObject) => (e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 1 : 0);
  const ordered = useful
    .map((error, order) => ({ error, order }))
    .sort((a, b) => depth(b.error) - depth(a.error) || combinator(a.error) - combinator(b.error) || a.order - b.order);
  const seen = new Set<string>();
  const problems: RulesProblem[] = [];
  for (const { error } of ordered) {
    const { ruleId, rule, fieldSegments } = locate(document, pointerSegments(error.instancePath));
    const { extra, problem } = describeSchemaError(error, fieldSegments, rule);
    const field = dottedPath(extra === null ? fieldSegments : [...fieldSegments, extra]) || '(document)';
    const key = `${ruleId}|${field}|${problem}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ ruleId, field, problem });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Compilation

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function durationMs(text: string): number {
  return Number(text.slice(0, -1)) * DURATION_UNITS_MS[text.slice(-1)]!;
}

function compileApproval(spec: ApprovalSpec): CompiledApproval {
  return {
    approvers: [...spec.approvers],
    requiredApprovals: spec.requiredApprovals,
    withinMs: durationMs(spec.within),
    requesterMayApprove: spec.requesterMayApprove,
  };
}

function phaseOf(rule: RuleDocument): Phase {
  return rule.effect === 'raise_risk' || rule.effect === 'lower_risk' ? 'risk' : 'outcome';
}

function compileRule(rule: RuleDocument, index: number, document: RuleSetDocument, lists: Record<string, readonly Scalar[]>): CompiledRule {
  const phase = phaseOf(rule);
  if (rule.appliesTo !== undefined) {
    rule.appliesTo.forEach((type, i) => {
      if (!(ACTION_TYPES as readonly string[]).includes(type)) {
        throw new RuleCompileError(`appliesTo[${i}]`, `unknown action type "${type}" (known: ${ACTION_TYPES.join(', ')})`);
      }
    });
  }
  const scope: CompileScope = { phase, appliesTo: rule.appliesTo, lists };
  const test = compileCondition(rule.when, scope);
  let approval: CompiledApproval | null = null;
  if (rule.approval !== undefined) {
    if (typeof rule.approval === 'string') {
      const named = document.approvals !== undefined && Object.hasOwn(document.approvals, rule.approval) ? document.approvals[rule.approval] : undefined;
      if (named === undefined) throw new RuleCompileError('approval', `no approval profile named "${rule.approval}" in approvals`);
      approval = compileApproval(named);
    } else {
      approval = compileApproval(rule.approval);
    }
  }
  const points = rule.points ?? 0;
  return {
    id: rule.id,
    index,
    phase,
    effect: rule.effect,
    test,
    weight: rule.effect === 'lower_risk' ? -points : points,
    factor: rule.factor ?? null,
    approval,
    render: compileTemplate(rule.reason ?? rule.description, scope, rule.reason === undefined ? 'description' : 'reason'),
  };
}

function indexRules(rules: readonly CompiledRule[], documents: readonly RuleDocument[]): { byActionType: Map<string, RulesForActionType>; unknown: RulesForActionType } {
  const select = (applies: (doc: RuleDocument) => boolean): RulesForActionType => {
    const chosen = rules.filter((rule) => applies(documents[rule.index]!));
    return { risk: chosen.filter((r) => r.phase === 'risk'), outcome: chosen.filter((r) => r.phase === 'outcome') };
  };
  const byActionType = new Map<string, RulesForActionType>();
  for (const type of ACTION_TYPES) {
    byActionType.set(type, select((doc) => doc.appliesTo === undefined || doc.appliesTo.includes(type)));
  }
  return { byActionType, unknown: select((doc) => doc.appliesTo === undefined) };
}

/** Validates and compiles a parsed constitution. Pure. */
export function compileRuleSet(document: unknown, source = '(inline)'): CompiledRuleSet {
  const validate = schemaValidator();
  if (!validate(document)) throw rulesInvalid(source, schemaProblems(document, validate.errors ?? []));
  const doc = document as RuleSetDocument;

  const problems: RulesProblem[] = [];
  if (doc.risk.bands.medium >= doc.risk.bands.high) {
    problems.push({ ruleId: null, field: 'risk.bands.medium', problem: `must be below risk.bands.high (${doc.risk.bands.high})` });
  }
  const lists: Record<string, readonly Scalar[]> = doc.lists ?? {};
  const seenIds = new Map<string, number>();
  const compiled: CompiledRule[] = [];
  doc.rules.forEach((rule, index) => {
    const previous = seenIds.get(rule.id);
    if (previous !== undefined) {
      problems.push({ ruleId: rule.id, field: 'id', problem: `duplicates the id of rules[${previous}]` });
      return;
    }
    seenIds.set(rule.id, index);
    try {
      compiled.push(compileRule(rule, index, doc, lists));
    } catch (error) {
      if (!(error instanceof RuleCompileError)) throw error;
      problems.push({ ruleId: rule.id, field: error.field, problem: error.message });
    }
  });
  let digest = '';
  try {
    digest = canonicalDigest(doc);
  } catch (error) {
    problems.push({ ruleId: null, field: '(document)', problem: `cannot be canonicalised: ${(error as Error).message}` });
  }
  if (problems.length > 0) throw rulesInvalid(source, problems);

  const { byActionType, unknown } = indexRules(compiled, doc.rules);
  return {
    version: doc.version,
    digest,
    source,
    baseScore: doc.risk.base,
    bands: { medium: doc.risk.bands.medium, high: doc.risk.bands.high },
    defaultReason: doc.defaults.reason,
    rules: compiled,
    byActionType,
    unknown,
    document: doc,
  };
}

/** Parses YAML text and compiles it. Pure. */
export function parseRuleSet(text: string, source = '(inline)'): CompiledRuleSet {
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (parsed.errors.length > 0) {
    throw rulesInvalid(source, parsed.errors.map((e) => ({ ruleId: null, field: '(yaml)', problem: e.message.split('\n')[0] ?? e.code })));
  }
  return compileRuleSet(parsed.toJS({ maxAliasCount: 100 }), source);
}
