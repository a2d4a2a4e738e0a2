// The audit hash chain: links, checkpoints (signed, domain-separated from approvals), and the
// verifier that finds the first broken link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APPROVAL_PAYLOAD_TYPE } from '../../../src/approval/payload.ts';
import { createKeyRegistry, revokeKey } from '../../../src/approval/keys/registry.ts';
import { newKeyRecord } from '../../../src/approval/keys/rotation.ts';
import { signEnvelope } from '../../../src/approval/sign.ts';
import { verifyApproval } from '../../../src/approval/verify/pipeline.ts';
import { testSigner, T0, ACTIONS } from '../../../src/approval/testing/fixtures.ts';
import { ChainVerifier, GENESIS_HASH, checkpointDue, emptyHead, extendChain, linkHash, type ChainHead } from '../../../src/audit/chain.ts';
import { CHECKPOINT_PAYLOAD_TYPE, signCheckpoint, verifyCheckpoint } from '../../../src/audit/checkpoint.ts';
import { keyTimeline } from '../../../src/audit/key-timeline.ts';
import { auditDraftOf } from '../../../src/audit/records.ts';
import type { AuditDraft, AuditEntry } from '../../../src/audit/types.ts';

const signer = testSigner('audit checkpoints');
const other = testSigner('audit other');
const record = newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: T0 - 60_000 });
const keys = keyTimeline(createKeyRegistry([record]));

function drafts(count: number, from = 0): AuditDraft[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'intent' as const, subjectId: `int-${from + i}`, eventId: `ev-${from + i}`, correlationId: `int-${from + i}`,
    record: { data: { intentId: `int-${from + i}`, text: `héllo ${i}`, amount: i * 100, nested: { b: 1, a: [true, null] } } },
  }));
}

async function chain(count: number, every = 4): Promise<{ entries: AuditEntry[]; head: ChainHead }> {
  const { head, links } = await extendChain(emptyHead('c1', T0), drafts(count), { policy: { every, intervalMs: 3_600_000 }, now: T0, signer });
  return { entries: links.map((l) => l.entry), head };
}

function verify(entries: AuditEntry[], head?: { sequence: number; hash: string }, timeline = keys) {
  const verifier = new ChainVerifier('c1', timeline);
  for (const e of entries) verifier.push(e);
  return verifier.finish(head);
}

describe('audit chain', () => {
  test('links are numbered from 1, each hash covers the previous one, checkpoints come every N links', async () => {
    const { entries, head } = await chain(10, 4);
    assert.deepEqual(entries.map((e) => e.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(entries.map((e) => e.kind === 'checkpoint'), [false, false, false, false, true, false, false, false, false, true, false, false]);
    assert.equal(entries[0]!.previousHash, GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i]!.previousHash, entries[i - 1]!.hash);
    for (const e of entries) assert.equal(e.hash, linkHash(e));
    assert.equal(head.sequence, 12);
    assert.equal(head.checkpointSequence, 10);
    const report = verify(entries, head);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.checkpoints, 2);
    assert.equal(report.lastCheckpointSequence, 10);
    assert.equal(report.unsignedTail, 2);
  });

  test('a changed record is the first broken link; a recomputed hash breaks the next link; a rewritten tail breaks the checkpoint', async () => {
    const { entries } = await chain(10, 4);
    const edited = entries.map((e) => ({ ...e }));
    edited[2] = { ...edited[2]!, recordJson: edited[2]!.recordJson.replace('héllo', 'hello') };
    let report = verify(edited);
    assert.equal(report.ok, false);
    assert.deepEqual(report.firstBreak && { s: report.firstBreak.sequence, p: report.firstBreak.problem }, { s: 3, p: 'hash_mismatch' });

    edited[2] = { ...edited[2], hash: linkHash(edited[2]) };
    report = verify(edited);
    assert.deepEqual(report.firstBreak && { s: report.firstBreak.sequence, p: report.firstBreak.problem }, { s: 4, p: 'previous_hash_mismatch' });

    // The attacker rewrites every later hash too: only the signed checkpoint can tell.
    for (let i = 3; i < edited.length; i++) {
      edited[i] = { ...edited[i]!, previousHash: edited[i - 1]!.hash };
      edited[i] = { ...edited[i]!, hash: linkHash(edited[i]!) };
    }
    report = verify(edited);
    assert.equal(report.ok, false);
    assert.deepEqual(report.firstBreak && { s: report.firstBreak.sequence, p: report.firstBreak.problem }, { s: 5, p: 'checkpoint_mismatch' });
  });

  test('deleted, reordered and truncated links are found', async () => {
    const { entries, head } = await chain(6, 100);
    assert.equal(verify([...entries.slice(0, 2), ...entries.slice(3)]).firstBreak?.problem, 'sequence_gap');
    const swapped = [entries[0]!, entries[2]!, entries[1]!, ...entries.slice(3)];
    assert.equal(verify(swapped).firstBreak?.sequence, 3);
    const truncated = verify(entries.slice(0, 4), head);
    assert.equal(truncated.firstBreak?.problem, 'head_mismatch');
  });

  test('a non-canonical record is a problem even with a matching hash', async () => {
    const { entries } = await chain(2, 100);
    const loose = { ...entries[1]!, recordJson: JSON.stringify(JSON.parse(entries[1]!.recordJson), null, 1) };
    const relinked = { ...loose, hash: linkHash(loose) };
    const report = verify([entries[0]!, relinked]);
    assert.ok(report.problems.some((p) => p.problem === 'record_not_canonical'));
  });

  test('checkpoints are due by count or, with anything new, by time', () => {
    const head = { ...emptyHead('c', T0), sequence: 5, checkpointSequence: 2 };
    assert.equal(checkpointDue(head, { every: 3, intervalMs: 1000 }, T0), true);
    assert.equal(checkpointDue(head, { every: 10, intervalMs: 1000 }, T0 + 999), false);
    assert.equal(checkpointDue(head, { every: 10, intervalMs: 1000 }, T0 + 1000), true);
    assert.equal(checkpointDue({ ...head, checkpointSequence: 5 }, { every: 10, intervalMs: 1000 }, T0 + 99_000), false);
  });
});

describe('checkpoints', () => {
  const payload = { chainId: 'c1', sequence: 7, hash: `sha256:${'ab'.repeat(32)}`, issuedAt: T0, issuer: 'sentinel-audit' };

  test('verify against the key registry as it stood at issuedAt', async () => {
    const { envelope } = await signCheckpoint(payload, signer);
    assert.equal(envelope.payloadType, CHECKPOINT_PAYLOAD_TYPE);
    const ok = verifyCheckpoint(envelope, keys);
    assert.equal(ok.ok, true);
    assert.equal(verifyCheckpoint(envelope, keyTimeline(createKeyRegistry([]))).ok, false);
    const revokedBefore = keyTimeline(revokeKey(createKeyRegistry([record]), record.keyId, T0 - 1));
    assert.match((verifyCheckpoint(envelope, revokedBefore) as { reason: string }).reason, /revoked/);
    const revokedAfter = keyTimeline(revokeKey(createKeyRegistry([record]), record.keyId, T0 + 1));
    assert.equal(verifyCheckpoint(envelope, revokedAfter).ok, true, 'a later revocation does not undo a checkpoint signed before it');
    const tooEarly = await signCheckpoint({ ...payload, issuedAt: T0 - 120_000 }, signer);
    assert.match((verifyCheckpoint(tooEarly.envelope, keys) as { reason: string }).reason, /did not exist yet/);
  });

  test('forged, re-signed and tampered checkpoints are refused', async () => {
    const { envelope } = await signCheckpoint(payload, signer);
    const bytes = Buffer.from(envelope.payload.toString('utf8').replace('"sequence":7', '"sequence":8'));
    assert.match((verifyCheckpoint({ ...envelope, payload: bytes }, keys) as { reason: string }).reason, /does not verify/);
    const byOther = await signCheckpoint(payload, other);
    assert.match((verifyCheckpoint({ ...byOther.envelope, signatures: [{ keyid: signer.keyId, sig: byOther.envelope.signatures[0]!.sig }] }, keys) as { reason: string }).reason, /does not verify/);
    assert.match((verifyCheckpoint(byOther.envelope, keys) as { reason: string }).reason, /not in the key registry/);
    const loose = await signEnvelope(CHECKPOINT_PAYLOAD_TYPE, Buffer.from(JSON.stringify(payload, null, 1)), signer);
    assert.match((verifyCheckpoint(loose, keys) as { reason: string }).reason, /not canonical/);
  });

  test('domain separation: an approval is never a checkpoint, a checkpoint never an approval', async () => {
    const { envelope } = await signCheckpoint(payload, signer);
    const asApproval = verifyApproval({
      registry: keys.at(T0), now: T0, audience: 'aureus-executor', action: ACTIONS.transfer, event: { intentId: 'int-0001', decisionId: 'dec-0001' },
    }, envelope);
    assert.equal(asApproval.ok, false);
    assert.equal((asApproval as { code: string }).code, 'SNT_APPROVAL_PAYLOAD_TYPE');
    const approvalTyped = await signEnvelope(APPROVAL_PAYLOAD_TYPE, envelope.payload, signer);
    assert.match((verifyCheckpoint(approvalTyped, keys) as { reason: string }).reason, /not the checkpoint type/);
  });
});

describe('audit drafts', () => {
  test('each pipeline topic maps to its kind; refusals are told apart from executions; Buffers become base64', () => {
    const metadata = { eventId: 'e1', eventType: 't', occurredAt: 1, producer: 'p', schemaVersion: 1, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: null, causationId: null, correlationId: 'int-1' };
    const source = { partition: 2, offset: '41' };
    const refused = auditDraftOf({ topic: 'sentinel.executions', metadata, source, data: { executionId: 'x1', status: 'refused' } });
    const executed = auditDraftOf({ topic: 'sentinel.executions', metadata, source, data: { executionId: 'x2', status: 'executed' } });
    assert.deepEqual([refused?.kind, refused?.subjectId, executed?.kind], ['refusal', 'x1', 'execution']);
    const approval = auditDraftOf({ topic: 'sentinel.approvals', metadata, source, data: { approvalId: 'apr_1', envelope: { payload: Buffer.from('hi'), signatures: [{ keyid: 'k', sig: Buffer.from([1, 2]) }] } } });
    assert.deepEqual((approval?.record as { data: unknown }).data, { approvalId: 'apr_1', envelope: { payload: 'aGk=', signatures: [{ keyid: 'k', sig: 'AQI=' }] } });
    assert.equal(auditDraftOf({ topic: 'sentinel.replies', metadata, source, data: {} }), null);
  });
});
