// Reason and factor-detail texts: "{field}" placeholders resolved once at load into a renderer.
import { resolveField, RuleCompileError, type CompileScope } from './conditions.ts';
import type { EvaluationInput, Renderer } from './types.ts';

const PLACEHOLDER = /\{([A-Za-z0-9_.]+)\}/g;

export function compileTemplate(text: string, scope: CompileScope, at: string): Renderer {
  const literals: string[] = [];
  const getters: Array<(input: EvaluationInput) => unknown> = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const path = match[1]!;
    literals.push(text.slice(last, match.index));
    getters.push(resolveField(path, scope, at).get);
    last = match.index + match[0].length;
  }
  literals.push(text.slice(last));
  if (literals.some((l) => l.includes('{') || l.includes('}'))) {
    throw new RuleCompileError(at, 'a "{" or "}" that is not a {field.path} placeholder');
  }
  if (getters.length === 0) return () => text;
  return (input) => {
    let out = literals[0]!;
    for (let i = 0; i < getters.length; i++) out += display(getters[i]!(input)) + literals[i + 1]!;
    return out;
  };
}

function display(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  return String(value);
}
