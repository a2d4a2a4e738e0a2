// The constitutions (rule sets) the policy service has run with, kept by digest in PostgreSQL
// (policy_constitutions), so replay re-evaluates each decision with the rules it names.
import { sha256Tagged } from '../canonical/digest.ts';
import { canonicalize } from '../canonical/jcs.ts';
import { asDependencyError, type Pool } from '../db/pg.ts';
import { compileRuleSet } from '../policy/ruleset.ts';
import type { CompiledRuleSet } from '../policy/types.ts';

/** Records the rule set the policy service loaded (idempotent; called at policy start-up). */
export async function recordConstitution(pool: Pool, ruleSet: CompiledRuleSet): Promise<void> {
  const documentJson = canonicalize(ruleSet.document);
  if (sha256Tagged(documentJson) !== ruleSet.digest) throw new TypeError(`rule set ${ruleSet.version}: digest is not the SHA-256 of its canonical document`);
  try {
    await pool.query(
      `INSERT INTO policy_constitutions (digest, version, document_json, source) VALUES ($1, $2, $3, $4)
       ON CONFLICT (digest) DO UPDATE SET last_loaded_at = now()`,
      [ruleSet.digest, ruleSet.version, documentJson, ruleSet.source],
    );
  } catch (error) {
    throw asDependencyError(error);
  }
}

export interface ConstitutionProblem { digest: string; problem: string }

/**
 * Every recorded rule set, compiled, by digest. A row whose document does not hash to its digest,
 * or no longer compiles, is returned as a problem rather than trusted.
 */
export async function loadConstitutions(pool: Pool): Promise<{ ruleSets: Map<string, CompiledRuleSet>; problems: ConstitutionProblem[] }> {
  let rows: Array<{ digest: string; version: string; document_json: string }>;
  try {
    rows = (await pool.query<{ digest: string; version: string; document_json: string }>('SELECT digest, version, document_json FROM policy_constitutions')).rows;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') {
      return { ruleSets: new Map(), problems: [{ digest: '*', problem: 'table policy_constitutions does not exist in this database (no policy service has run its migrations here)' }] };
    }
    throw asDependencyError(error);
  }
  const ruleSets = new Map<string, CompiledRuleSet>();
  const problems: ConstitutionProblem[] = [];
  for (const row of rows) {
    if (sha256Tagged(row.document_json) !== row.digest) {
      problems.push({ digest: row.digest, problem: 'the stored document does not hash to its digest' });
      continue;
    }
    try {
      ruleSets.set(row.digest, compileRuleSet(JSON.parse(row.document_json), `policy_constitutions ${row.version} ${row.digest}`));
    } catch (error) {
      problems.push({ digest: row.digest, problem: `does not compile: ${(error as Error).message}` });
    }
  }
  return { ruleSets, problems };
}
