// Reading the constitution file (the only I/O of rule loading; ruleset.ts stays pure).
import { readFile } from 'node:fs/promises';
import { SentinelError } from '../errors/index.ts';
import { parseRuleSet } from './ruleset.ts';
import type { CompiledRuleSet } from './types.ts';

/** Reads, validates and compiles the constitution at `path` (POLICY_RULES_FILE). */
export async function loadRuleSet(path: string): Promise<CompiledRuleSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SentinelError('SNT_POLICY_RULES_INVALID', `cannot read constitution ${path}: ${(error as Error).message}`, {
      cause: error, details: { source: path, problems: [] },
    });
  }
  return parseRuleSet(text, path);
}
