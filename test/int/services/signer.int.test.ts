// The signer ("Bridge") on the real broker, registry, PostgreSQL and Redis: decisions and human
// answers in, signed approvals and replies out; its HTTP API; key publication and rotation (HTTP
// and the CLI); the KMS direct and delegated modes against the local KMS-protocol server with the
// real AWS SDK client.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { envelopeFromJson, envelopeToJson } from '../../../src/approval/dsse.ts';
import { approvalIdFor } from '../../../src/approval/draft.ts';
import { createKeyRegistry } from '../../../src/approval/keys/registry.ts';
import { decodeApprovalPayload, type ApprovalPayload } from '../../../src/approval/payload.ts';
import { verifyApproval } from '../../../src/approval/verify/index.ts';
import { conversationKey } from '../../../src/contracts/events.ts';
import type { SignedApprovalEvent, SigningKeyRecord } from '../../../src/domain/types.ts';
import { EVENT_HEADERS } from '../../../src/kafka/headers.ts';
import { FakeKms } from '../../support/fake-kms.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, uniqueName } from '../../support/kafka.ts';
import {
  answer, approver, humanTestDecision, publishDecision, publishResponse, publisherFor, startSignerService, testDecision,
} from '../../support/signer-service.ts';
import { TopicWatcher } from '../../support/watch.ts';
import { sleep } from '../../support/wait.ts';

const API_KEY = 'test-key-signer-1';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

function verifyWith(records: readonly SigningKeyRecord[], event: SignedApprovalEvent, now = Date.now()) {
  // The latest record per key id (what a reader of the compacted topic ends up with).
  return verifyApproval({
    registry: createKeyRegistry(records), now, audience: 'aureus-executor', issuers: ['aureus-bridge'], action: event.action,
    event: { intentId: event.intentId, decisionId: event.decisionId, approvalId: event.approvalId },
  }, event.envelope);
}

function envelopeFromJsonOrThrow(json: unknown): SignedApprovalEvent['envelope'] {
  const parsed = envelopeFromJson(json);
  assert.ok(parsed.ok);
  return parsed.envelope;
}

function payloadOf(event: SignedApprovalEvent): ApprovalPayload {
  const decoded = decodeApprovalPayload(event.envelope.payload);
  assert.ok(decoded.ok);
  return decoded.payload;
}

test('allow → one signed approval that verifies with the published key; deny → nothing; a redelivered or replayed decision re-emits the same envelope', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec);
  const { service } = await startSignerService(t, bus);
  const publisher = publisherFor(bus, codec);
  const label = uniqueName('allow');
  const allow = testDecision(`${label}-a`);
  const deny = testDecision(`${label}-d`, { outcome: 'deny', reason: 'over the limit' });
  await publishDecision(publisher, deny);
  const eventId = await publishDecision(publisher, allow);
  const first = await watch.until('the approval', () => watch.approvals[0]);
  const approval = first.data;
  assert.equal(approval.decisionId, allow.decisionId);
  assert.equal(approval.approvalId.startsWith('apr_'), true);
  assert.equal(first.record.key?.toString(), conversationKey(allow.conversation));
  assert.equal(first.record.headers[EVENT_HEADERS.causationId], eventId);
  assert.deepEqual(approval.action, allow.action);
  assert.equal(watch.keys.length, 1, 'one key published, before it signed');
  assert.equal(watch.keys[0]!.data.keyId, service.keys.currentRecord().keyId);
  assert.equal(watch.keys[0]!.record.key?.toString(), watch.keys[0]!.data.keyId, 'compacted topic keyed by key id');
  assert.equal(approval.envelope.signatures[0]!.keyid, watch.keys[0]!.data.keyId);
  const verdict = verifyWith(watch.keys.map((k) => k.data), approval);
  assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
  assert.equal(verdict.payload.basis, 'policy_allow');
  assert.equal(verdict.payload.expiresAt - verdict.payload.issuedAt, 300_000);
  assert.deepEqual(verdict.payload.ruleIds, allow.firedRules);

  // The same decision again — a replay with a new event id, and the identical record produced
  // again (same event id, as a redelivery after a crash would bring it): the stored approval, same bytes.
  await publishDecision(publisher, allow);
  const original = (await bus.readAll(bus.topicName('sentinel.decisions'), 3)).find((r) => r.headers[EVENT_HEADERS.eventId] === eventId)!;
  await bus.producer().send([{ topic: original.topic, key: original.key!.toString(), value: original.value!, headers: original.headers }]);
  await watch.until('two re-emitted approvals', () => watch.approvals.length >= 3);
  await sleep(1000);
  assert.equal(watch.approvals.length, 3, 'the deny decision was never signed; each allow record got the approval once');
  for (const again of watch.approvals.slice(1)) {
    assert.equal(again.data.approvalId, approval.approvalId);
    assert.ok(again.data.envelope.payload.equals(approval.envelope.payload), 'same payload bytes');
    assert.ok(again.data.envelope.signatures[0]!.sig.equals(approval.envelope.signatures[0]!.sig), 'same signature: not signed again');
  }
  assert.equal(watch.approvals[2]!.record.headers[EVENT_HEADERS.eventId], watch.approvals[0]!.record.headers[EVENT_HEADERS.eventId], 'a redelivered record yields the same output event id');
  // (The test database is shared by every run, so the deadline timer may close other runs' requests here: look at ours.)
  assert.equal(watch.repliesFor(allow.intentId).length + watch.repliesFor(deny.intentId).length, 0, 'policy tells users about allow and deny; the signer adds nothing');
});

test('human approvals: an authorised approver signs it; non-approvers, self-approval at high risk, late answers and answers to closed requests are refused; deny and expiry close it; an answer before its decision counts', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec);
  const { url } = await startSignerService(t, bus);
  const publisher = publisherFor(bus, codec);
  const label = uniqueName('human');
  const carol = approver('carol');
  const bob = approver('bob');
  const erin = approver('erin');
  const dave = approver('dave', 'telegram');

  // 1. Approved by an authorised approver (carol is a finance approver in config/identities.yaml).
  const approved = humanTestDecision(`${label}-ok`);
  await publishDecision(publisher, approved);
  await sleep(300);
  await publishResponse(publisher, answer(approved, carol));
  const signed = await watch.until('approval of 1', () => watch.approvals.find((a) => a.data.decisionId === approved.decisionId));
  const payload = payloadOf(signed.data);
  assert.equal(payload.basis, 'human_approval');
  assert.deepEqual(payload.approvers.map((a) => [a.userId, a.evidence.platform, a.evidence.authenticatedBy]), [['carol', 'slack', 'slack-signing-secret']]);
  assert.ok(verifyWith(watch.keys.map((k) => k.data), signed.data).ok);
  await watch.until('approved replies', () => watch.repliesFor(approved.intentId).length >= 2);
  const updates = watch.repliesFor(approved.intentId);
  const update = updates.find((r) => r.kind === 'approval_update')!;
  assert.equal(update.recipientUserId, 'role:finance-approver');
  assert.equal(update.prompt!.status, 'approved');
  assert.equal(update.prompt!.decidedBy, 'Carol');
  assert.match(update.text, /^Approved by Carol: transfer 50\.00 USD to Bob/);
  const notice = updates.find((r) => r.kind === 'info' && r.recipientUserId === null)!;
  assert.match(notice.text, /^Approved by Carol: transfer 50\.00 USD to Bob\. It will run now\.$/);

  // 2. A non-approver is refused (nothing signed), then an approver denies: closed, everyone told;
  //    an approval after that is refused as already decided.
  const denied = humanTestDecision(`${label}-deny`);
  await publishDecision(publisher, denied);
  await sleep(300);
  await publishResponse(publisher, answer(denied, erin));
  await watch.until('refusal to erin', () => watch.repliesFor(denied.intentId).find((r) => r.recipientUserId === 'erin'));
  await publishResponse(publisher, answer(denied, bob, 'deny'));
  await watch.until('denied outcome', () => watch.repliesFor(denied.intentId).find((r) => r.kind === 'outcome'));
  await publishResponse(publisher, answer(denied, carol));
  await watch.until('refusal to carol', () => watch.repliesFor(denied.intentId).find((r) => r.recipientUserId === 'carol'));
  const deniedReplies = watch.repliesFor(denied.intentId);
  assert.match(deniedReplies.find((r) => r.recipientUserId === 'erin')!.text, /not accepted: erin may not approve this request .*\(SNT_SIGN_NOT_APPROVER\)/);
  assert.match(deniedReplies.find((r) => r.kind === 'outcome')!.text, /^Refused: transfer 50\.00 USD to Bob\. Denied by Bob\.$/);
  assert.equal(deniedReplies.find((r) => r.kind === 'approval_update')!.prompt!.status, 'denied');
  assert.match(deniedReplies.find((r) => r.recipientUserId === 'carol')!.text, /already denied \(SNT_SIGN_ALREADY_DECIDED\)/);

  // 3. Self-approval at high risk (dave is a risk officer, and the requester).
  const self = humanTestDecision(`${label}-self`, { approvers: ['role:risk-officer'], tier: 'high', requesterMayApprove: true }, { requester: { ...dave } });
  await publishDecision(publisher, self);
  await sleep(300);
  await publishResponse(publisher, answer(self, dave));
  const selfRefusal = await watch.until('self-approval refusal', () => watch.repliesFor(self.intentId).find((r) => r.recipientUserId === 'dave'));
  assert.match(selfRefusal.text, /a high-risk request cannot be approved by its requester \(SNT_SIGN_SELF_APPROVAL\)/);

  // 4. A late answer (given after the deadline) is refused; 5. the deadline passes → expired.
  const late = humanTestDecision(`${label}-late`);
  await publishDecision(publisher, late);
  await sleep(300);
  await publishResponse(publisher, answer(late, carol, 'approve', late.humanApproval!.deadline + 1));
  const lateRefusal = await watch.until('late refusal', () => watch.repliesFor(late.intentId).find((r) => r.recipientUserId === 'carol'));
  assert.match(lateRefusal.text, /after the approval deadline \(SNT_SIGN_DEADLINE_PASSED\)/);
  const expiring = humanTestDecision(`${label}-exp`, { deadline: Date.now() + 1500 });
  await publishDecision(publisher, expiring);
  const expired = await watch.until('expired outcome', () => watch.repliesFor(expiring.intentId).find((r) => r.kind === 'outcome'), 20_000);
  assert.match(expired.text, /^Refused: transfer 50\.00 USD to Bob\. No approval before the deadline/);
  assert.equal(watch.repliesFor(expiring.intentId).find((r) => r.kind === 'approval_update')!.prompt!.status, 'expired');

  // 6. An answer that arrives before its decision (different topics and keys) is kept and applied.
  const early = humanTestDecision(`${label}-early`, { required: 2 });
  await publishResponse(publisher, answer(early, bob));
  await sleep(1000);
  await publishDecision(publisher, early);
  const partial = await watch.until('1 of 2', () => watch.repliesFor(early.intentId).find((r) => r.kind === 'approval_update'));
  assert.match(partial.text, /Bob approved .*\(1 of 2 approvals\); waiting for more\./);
  await publishResponse(publisher, answer(early, carol));
  const dual = await watch.until('dual approval', () => watch.approvals.find((a) => a.data.decisionId === early.decisionId));
  assert.deepEqual(payloadOf(dual.data).approvers.map((a) => a.userId), ['bob', 'carol']);

  await sleep(1000);
  assert.deepEqual(watch.approvals.map((a) => a.data.decisionId).sort(), [approved.decisionId, early.decisionId].sort(), 'nothing else was ever signed');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  for (const code of ['SNT_SIGN_NOT_APPROVER', 'SNT_SIGN_SELF_APPROVAL', 'SNT_SIGN_DEADLINE_PASSED', 'SNT_SIGN_ALREADY_DECIDED']) {
    assert.match(metrics, new RegExp(`sentinel_signer_refusals_total\\{code="${code}"[^}]*\\} 1`), code);
  }
  assert.match(metrics, /sentinel_signer_signatures_total\{origin="local",via="consumer"[^}]*\} 2/);
  // (The test database is shared by every run: the gauge counts their pending requests too.)
  assert.ok(Number(/sentinel_signer_pending_approvals\{[^}]*\} (\d+)/.exec(metrics)?.[1]) >= 2, 'the self-approved and the late-answered requests still wait');
});

test('HTTP: POST /sign only returns or issues what the stored decision permits; /verify; /public-key; validation and API keys', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec);
  const { url, service } = await startSignerService(t, bus, { API_KEY });
  const publisher = publisherFor(bus, codec);
  const label = uniqueName('http');
  const allow = testDecision(`${label}-a`);
  const deny = testDecision(`${label}-d`, { outcome: 'deny' });
  const pending = humanTestDecision(`${label}-h`);
  const forged = testDecision(`${label}-f`, { actionDigest: `sha256:${'0'.repeat(64)}` });
  for (const d of [allow, deny, pending, forged]) await publishDecision(publisher, d);
  const fromTopic = (await watch.until('allow signed', () => watch.approvals.find((a) => a.data.decisionId === allow.decisionId))).data;
  const notSigned = await watch.until('digest mismatch refused', () => watch.repliesFor(forged.intentId)[0]);
  assert.match(notSigned.text, /^Not approved: .*\(SNT_SIGN_DIGEST_MISMATCH\)$/);

  const sign = (body: unknown, headers: Record<string, string> = auth) => fetch(`${url}/sign`, { method: 'POST', headers, body: JSON.stringify(body) });
  const ok = await sign({ decisionId: allow.decisionId, action: allow.action });
  assert.equal(ok.status, 200);
  const signed = (await ok.json()) as { approvalId: string; keyId: string; envelope: ReturnType<typeof envelopeToJson>; traceId: string };
  assert.equal(signed.approvalId, fromTopic.approvalId);
  assert.deepEqual(signed.envelope, envelopeToJson(fromTopic.envelope), 'the stored envelope, byte for byte');
  const refusal = async (body: unknown, status: number, code: string) => {
    const r = await sign(body);
    const json = (await r.json()) as { error: { code: string } };
    assert.equal(r.status, status, `${JSON.stringify(body)} → ${json.error.code}`);
    assert.equal(json.error.code, code);
  };
  await refusal({ decisionId: 'dec-never-seen' }, 404, 'SNT_NOT_FOUND');
  await refusal({ decisionId: deny.decisionId }, 403, 'SNT_SIGN_NOT_PERMITTED');
  await refusal({ decisionId: pending.decisionId }, 409, 'SNT_SIGN_AWAITING_APPROVALS');
  await refusal({ decisionId: forged.decisionId }, 403, 'SNT_SIGN_DIGEST_MISMATCH');
  await refusal({ decisionId: allow.decisionId, action: { ...allow.action, amountMinor: 999_999 } }, 403, 'SNT_SIGN_DIGEST_MISMATCH');
  await refusal({ decisionId: allow.decisionId, publicKey: 'AAAA' }, 400, 'SNT_VALIDATION_FAILED');
  await refusal({ decisionId: allow.decisionId, action: { type: 'transfer', amountMinor: -1 } }, 400, 'SNT_VALIDATION_FAILED');
  assert.equal((await sign({ decisionId: allow.decisionId }, { 'content-type': 'application/json' })).status, 401);

  // A decision the signer holds but has not signed yet (stored as the consumer stores it, before
  // its signature): POST /sign signs it, once — a second call returns the same bytes.
  const held = testDecision(`${label}-held`);
  await service.store.withDecisions([held.decisionId], (tx) => tx.saveDecisions([{ decision: held, status: 'pending', statusCode: null }]));
  const fresh = (await (await sign({ decisionId: held.decisionId, action: held.action })).json()) as typeof signed;
  assert.equal(fresh.approvalId, approvalIdFor(held.decisionId));
  const again = (await (await sign({ decisionId: held.decisionId })).json()) as typeof signed;
  assert.deepEqual(again.envelope, fresh.envelope, 'signed once: the same envelope again');
  const freshEvent = { approvalId: fresh.approvalId, intentId: held.intentId, decisionId: held.decisionId, conversation: held.conversation, action: held.action, envelope: envelopeFromJsonOrThrow(fresh.envelope) };
  assert.ok(verifyWith(watch.keys.map((k) => k.data), freshEvent).ok);

  // Concurrent requests share one transaction: each held decision is signed once (both of its
  // requests get the same envelope); a refused request in the same batch changes nothing for the others.
  const heldMany = Array.from({ length: 6 }, (_, i) => testDecision(`${label}-many-${i}`));
  await service.store.withDecisions(heldMany.map((d) => d.decisionId), (tx) => tx.saveDecisions(heldMany.map((decision) => ({ decision, status: 'pending' as const, statusCode: null }))));
  const answers = await Promise.all([
    sign({ decisionId: heldMany[0]!.decisionId, action: { ...heldMany[0]!.action, amountMinor: 1 } }),
    ...heldMany.flatMap((d) => [sign({ decisionId: d.decisionId }), sign({ decisionId: d.decisionId, action: d.action })]),
    sign({ decisionId: `${label}-never-seen` }),
    sign({ decisionId: deny.decisionId }),
  ]);
  const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, json: (await r.json()) as { approvalId?: string; envelope?: unknown; error?: { code: string } } })));
  assert.deepEqual([bodies[0]!.status, bodies[0]!.json.error?.code], [403, 'SNT_SIGN_DIGEST_MISMATCH']);
  assert.deepEqual(bodies.slice(-2).map((b) => [b.status, b.json.error?.code]), [[404, 'SNT_NOT_FOUND'], [403, 'SNT_SIGN_NOT_PERMITTED']]);
  heldMany.forEach((d, i) => {
    const [first, second] = [bodies[1 + 2 * i]!, bodies[2 + 2 * i]!];
    assert.deepEqual([first.status, second.status], [200, 200], d.decisionId);
    assert.equal(first.json.approvalId, approvalIdFor(d.decisionId));
    assert.deepEqual(second.json.envelope, first.json.envelope, 'one signature per decision');
  });
  for (const d of heldMany) assert.equal((await service.store.approvalOf(d.decisionId))?.approvalId, approvalIdFor(d.decisionId), 'stored');

  // /verify: GET with the base64url of the envelope JSON, POST with the JSON body.
  const b64 = Buffer.from(JSON.stringify(signed.envelope)).toString('base64url');
  const get = (await (await fetch(`${url}/verify?approval=${b64}`)).json()) as { valid: boolean; keyId: string; bindingChecked: boolean; approvalId: string };
  assert.deepEqual([get.valid, get.keyId, get.bindingChecked, get.approvalId], [true, signed.keyId, true, signed.approvalId]);
  const post = async (body: unknown) => (await (await fetch(`${url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { valid: boolean; code: string | null; check: string | null };
  const tampered = { ...signed.envelope, payload: Buffer.from(Buffer.from(signed.envelope.payload, 'base64').toString().replace('"riskTier":"low"', '"riskTier":"medium"')).toString('base64') };
  const { traceId: _traceId, ...good } = (await post({ envelope: signed.envelope })) as unknown as Record<string, unknown>;
  assert.deepEqual(good, { valid: true, code: null, reason: 'the approval verifies', check: null, keyId: signed.keyId, approvalId: signed.approvalId, bindingChecked: true });
  const bad = await post({ envelope: tampered });
  assert.deepEqual([bad.valid, bad.code, bad.check], [false, 'SNT_APPROVAL_SIGNATURE_INVALID', 'signature']);
  const other = await post({ envelope: signed.envelope, action: { ...allow.action, payee: 'Mallory' } });
  assert.deepEqual([other.valid, other.code, other.check], [false, 'SNT_APPROVAL_DIGEST_MISMATCH', 'binding']);
  const unknownKey = await post({ envelope: { ...signed.envelope, signatures: [{ keyid: 'A'.repeat(43), sig: signed.envelope.signatures[0]!.sig }] } });
  assert.deepEqual([unknownKey.valid, unknownKey.code], [false, 'SNT_APPROVAL_KEY_UNKNOWN']);
  assert.equal((await fetch(`${url}/verify?approval=%%%`)).status, 400);
  assert.equal((await fetch(`${url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"envelope":' })).status, 400);

  const pub = (await (await fetch(`${url}/public-key`)).json()) as { keyId: string; publicKey: string; keys: Array<{ kid: string; status: string; x: string; crv: string }> };
  assert.equal(pub.keyId, signed.keyId);
  assert.deepEqual(pub.keys.find((k) => k.kid === pub.keyId), { ...pub.keys.find((k) => k.kid === pub.keyId)!, status: 'active', x: pub.publicKey, crv: 'Ed25519' });
  assert.equal((await fetch(`${url}/health`)).status, 200);
  assert.equal((await fetch(`${url}/ready`)).status, 200);
});

test('key rotation (HTTP and `sentinel keys rotate`): the old key is re-published as retired and what it signed still verifies; `sentinel keys list` prints the registry', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec);
  const { service, url } = await startSignerService(t, bus, { API_KEY });
  const publisher = publisherFor(bus, codec);
  const label = uniqueName('rotate');
  const first = testDecision(`${label}-1`);
  await publishDecision(publisher, first);
  const a = (await watch.until('first approval', () => watch.approvals[0])).data;
  const key1 = service.keys.currentRecord().keyId;

  assert.equal((await fetch(`${url}/admin/keys/rotate`, { method: 'POST', headers: { authorization: 'Bearer nope' } })).status, 401);
  const rotated = (await (await fetch(`${url}/admin/keys/rotate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { rotated: boolean; previousKeyId: string; currentKeyId: string; reason: string };
  assert.deepEqual([rotated.rotated, rotated.previousKeyId, rotated.reason], [true, key1, 'on_demand']);
  const key2 = rotated.currentKeyId;
  assert.notEqual(key2, key1);
  const second = testDecision(`${label}-2`);
  await publishDecision(publisher, second);
  const b = (await watch.until('second approval', () => watch.approvals[1])).data;
  assert.equal(b.envelope.signatures[0]!.keyid, key2);

  // The CLI, against the running service (BRIDGE_URL, API_KEY from the environment).
  // (Asynchronously: the signer runs in this process and must keep answering.)
  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'src/cli/main.ts', ...args], {
        env: { ...process.env, BRIDGE_URL: url, API_KEY, TOPIC_PREFIX: bus.prefix, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000,
      });
      return { status: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { status: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
    }
  };
  const rotate = await cli(['keys', 'rotate']);
  assert.equal(rotate.status, 0, rotate.stderr);
  assert.match(rotate.stdout, new RegExp(`rotated ${key2} -> [A-Za-z0-9_-]{43} \\(on_demand\\)`));
  const key3 = service.keys.currentRecord().keyId;
  await watch.until('5 key records', () => watch.keys.length >= 5);
  const records = watch.keys.map((k) => k.data);
  assert.deepEqual(records.map((r) => [r.keyId, r.status]), [[key1, 'active'], [key2, 'active'], [key1, 'retired'], [key3, 'active'], [key2, 'retired']]);
  for (const approval of [a, b]) assert.ok(verifyWith(records, approval).ok, 'signed before rotation, still verifies');
  const pub = (await (await fetch(`${url}/public-key`)).json()) as { keyId: string; keys: Array<{ kid: string; status: string }> };
  assert.equal(pub.keyId, key3);
  // (GET /public-key lists every key any signer sharing this database published; ours are among them.)
  assert.deepEqual(pub.keys.filter((k) => [key1, key2, key3].includes(k.kid)).map((k) => [k.kid, k.status]), [[key1, 'retired'], [key2, 'retired'], [key3, 'active']]);
  for (const approval of [a, b]) {
    const v = (await (await fetch(`${url}/verify`, { method: 'POST', headers: auth, body: JSON.stringify({ envelope: envelopeToJson(approval.envelope) }) })).json()) as { valid: boolean };
    assert.equal(v.valid, true);
  }
  const list = await cli(['keys', 'list']);
  assert.equal(list.status, 0, list.stderr);
  for (const [kid, status] of [[key1, 'retired'], [key2, 'retired'], [key3, 'active']]) assert.match(list.stdout, new RegExp(`${kid}\\s+${status}\\s+local`));
});

for (const mode of ['direct', 'delegated'] as const) {
  test(`KMS ${mode} mode end to end: the real AWS SDK client against the local KMS server; approvals verify with the published keys; rotation`, async (t) => {
    const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
    const fake = await FakeKms.start();
    t.after(() => fake.close());
    const kmsKey = fake.createKey({ alias: 'alias/aureus-bridge-test' });
    // The SDK's default credential chain reads these (the fake requires SigV4 but does not check it).
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    const bus = await createTestBus(t, config);
    const codec = await bus.codec();
    const watch = await TopicWatcher.start(t, bus, codec);
    const { service, url } = await startSignerService(t, bus, {
      API_KEY, USE_KMS: 'true', KMS_MODE: mode, KMS_KEY_ID: 'alias/aureus-bridge-test', KMS_ENDPOINT: fake.endpoint, AWS_REGION: fake.region,
    });
    const publisher = publisherFor(bus, codec);
    const label = uniqueName(`kms-${mode}`);
    const decisions = [testDecision(`${label}-1`), testDecision(`${label}-2`), testDecision(`${label}-3`)];
    for (const d of decisions) await publishDecision(publisher, d);
    await watch.until('3 approvals', () => watch.approvals.length >= 3);
    const records = () => watch.keys.map((k) => k.data);
    const root = records().find((r) => r.origin === 'kms')!;
    assert.ok(root, 'the KMS key is published');
    for (const { data } of watch.approvals) {
      const v = verifyWith(records(), data);
      assert.ok(v.ok, v.ok ? '' : v.reason);
      const signer = records().find((r) => r.keyId === data.envelope.signatures[0]!.keyid)!;
      assert.equal(signer.origin, mode === 'direct' ? 'kms' : 'kms-delegated');
    }
    const signs = fake.callsOf('Sign');
    assert.ok(signs.every((c) => c.body.KeyId === kmsKey.arn && c.body.SigningAlgorithm === 'ED25519_SHA_512' && c.body.MessageType === 'RAW'));
    if (mode === 'direct') {
      assert.equal(signs.length, 3, 'one KMS Sign per approval');
      assert.equal((await fetch(`${url}/admin/keys/rotate`, { method: 'POST', headers: auth, body: '{}' })).status, 409, 'same KMS key: nothing to rotate to');
      const next = fake.createKey();
      fake.createAlias('alias/aureus-bridge-test', next.keyId);
    } else {
      assert.equal(signs.length, 1, 'one KMS Sign: the delegation certificate');
      assert.ok(records().some((r) => r.origin === 'kms-delegated' && r.certificate !== null));
    }
    const rotated = (await (await fetch(`${url}/admin/keys/rotate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { rotated: boolean; previousKeyId: string; currentKeyId: string };
    assert.equal(rotated.rotated, true);
    assert.equal(service.keys.currentRecord().keyId, rotated.currentKeyId);
    const after = testDecision(`${label}-4`);
    await publishDecision(publisher, after);
    const last = (await watch.until('approval after rotation', () => watch.approvals.find((a) => a.data.decisionId === after.decisionId))).data;
    assert.equal(last.envelope.signatures[0]!.keyid, rotated.currentKeyId);
    await watch.until('retired record', () => records().some((r) => r.keyId === rotated.previousKeyId && r.status === 'retired'));
    for (const { data } of watch.approvals) assert.ok(verifyWith(records(), data).ok, 'every approval, before and after rotation, verifies');
  });
}
