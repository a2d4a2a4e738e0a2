// Decisions made by the real policy service (in-process, real PostgreSQL and Redis) replay to
// themselves: the service records its constitution at start-up, and `sentinel replay` finds it by
// the digest each decision names. A recorded constitution that no longer hashes to its digest is
// not trusted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConstitutions, recordConstitution } from '../../../src/audit/constitutions.ts';
import { createPool } from '../../../src/db/pg.ts';
import type { Action } from '../../../src/domain/types.ts';
import { parseRuleSet } from '../../../src/policy/ruleset.ts';
import { sampleIntent } from '../../support/fixtures.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus } from '../../support/kafka.ts';
import { CONSTITUTION_PATH } from '../../support/policy-fixtures.ts';
import { POLICY_TEST_DB, publishIntent, startPolicyService } from '../../support/policy-service.ts';
import { auditPool } from '../../support/recorded-run.ts';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function cli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('decisions of the real policy service re-evaluate to themselves with the constitution it recorded', { timeout: 90_000 }, async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const { service } = await startPolicyService(t, bus);
  const pool = createPool({ ...config.postgres, database: POLICY_TEST_DB }, { max: 1 });
  t.after(() => pool.end());
  const { ruleSets } = await loadConstitutions(pool);
  assert.equal(ruleSets.get(service.ruleSet.digest)?.version, service.ruleSet.version, 'recorded at start-up');

  const user = `u-${randomBytes(3).toString('hex')}`;
  const actions: Action[] = [
    { type: 'command_run', host: 'build-01', command: 'df -h' },
    { type: 'transfer', amountMinor: 3_000_000, currency: 'USD', payee: 'Mallory', memo: null },
    { type: 'tool_call', tool: 'crypto.mine', argumentsJson: '{}' },
    { type: 'transfer', amountMinor: 5000, currency: 'USD', payee: 'Bob', memo: null },
    { type: 'message_send', medium: 'email', recipient: 'ops@aureus.example', subject: null, body: 'status' },
  ];
  for (const action of actions) {
    await publishIntent(bus, codec, sampleIntent({
      requester: { userId: user, channel: 'web', channelUserId: user, displayName: null }, conversation: { channel: 'web', conversationId: `conv-${user}` }, action, text: null,
    }));
  }
  await bus.readAll(bus.topicName('sentinel.decisions'), actions.length, { timeoutMs: 40_000 });

  const env = { TOPIC_PREFIX: bus.prefix, POSTGRES_DB: POLICY_TEST_DB };
  const result = await cli(env, ['replay', '--topic', 'sentinel.intents', '--topic', 'sentinel.decisions', '--quiet', '--jsonl', '-']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { kind: string; decisions: { reevaluated: number; matched: number } };
  assert.equal(summary.kind, 'summary');
  assert.deepEqual(summary.decisions, { reevaluated: actions.length, matched: actions.length, differed: 0, unverifiable: 0 });

  // Without the recorded constitutions (and no --rules), the decisions cannot be re-evaluated.
  const offline = await cli(env, ['replay', '--topic', 'sentinel.decisions', '--no-db', '--quiet']);
  assert.equal(offline.code, 3);
  assert.match(offline.stdout, /decision_unverifiable\s+5/);
  const withRules = await cli(env, ['replay', '--topic', 'sentinel.decisions', '--no-db', '--rules', CONSTITUTION_PATH, '--quiet']);
  assert.equal(withRules.code, 0, withRules.stdout);
});

test('a recorded constitution is found by digest; one whose document was altered is refused', async (t) => {
  const pool = await auditPool(t, 1);
  const text = await readFile(CONSTITUTION_PATH, 'utf8');
  const variant = parseRuleSet(text.replace(/^version: .*$/m, `version: "t-${randomBytes(4).toString('hex')}"`), 'variant.yaml');
  await recordConstitution(pool, variant);
  await recordConstitution(pool, variant); // idempotent
  assert.equal((await loadConstitutions(pool)).ruleSets.get(variant.digest)?.version, variant.version);
  await pool.query("UPDATE policy_constitutions SET document_json = replace(document_json, '\"base\":10', '\"base\":0') WHERE digest = $1", [variant.digest]);
  const { ruleSets, problems } = await loadConstitutions(pool);
  assert.equal(ruleSets.has(variant.digest), false);
  assert.deepEqual(problems.filter((p) => p.digest === variant.digest).map((p) => p.problem), ['the stored document does not hash to its digest']);
  await pool.query('DELETE FROM policy_constitutions WHERE digest = $1', [variant.digest]);
});
