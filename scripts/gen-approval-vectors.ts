// Generates test/vectors/approvals/vectors.json: language-neutral test vectors for the approval format
// (docs/approval-format.md §8). Everything derives from fixed seeds and fixed times, and Ed25519 is
// deterministic, so the output is byte-for-byte reproducible.
//   node scripts/gen-approval-vectors.ts          write the file
//   node scripts/gen-approval-vectors.ts --check  exit 1 if the committed file differs
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { actionDigest } from '../src/canonical/digest.ts';
import { canonicalize } from '../src/canonical/jcs.ts';
import type { Action, Decision, Envelope, SigningKeyRecord } from '../src/domain/types.ts';
import { authorizeSigning } from '../src/approval/authorize.ts';
import { approvalIdFor, draftApproval } from '../src/approval/draft.ts';
import { type EnvelopeJson, envelopeToJson, preAuthEncoding } from '../src/approval/dsse.ts';
import { ED25519_L } from '../src/approval/ed25519.ts';
import { toJwks } from '../src/approval/keys/jwks.ts';
import { newKeyRecord } from '../src/approval/keys/rotation.ts';
import { APPROVAL_PAYLOAD_TYPE, type ApprovalPayload, encodeApprovalPayload } from '../src/approval/payload.ts';
import { signEnvelope } from '../src/approval/sign.ts';
import { delegateKey } from '../src/approval/signers/delegated.ts';
import type { LocalEd25519Signer } from '../src/approval/signers/local.ts';
import {
  ACTIONS, T0, approverPrincipal, humanDecision, sampleDecision, sampleResponse, testNonce, testSeed, testSigner,
} from '../src/approval/testing/fixtures.ts';
import type { CheckName, VerificationCode } from '../src/approval/verify/types.ts';

export const VECTORS_PATH = join(import.meta.dirname, '..', 'test', 'vectors', 'approvals', 'vectors.json');

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TTL = 5 * MIN;

const VERIFIER = { audience: 'aureus-executor', issuers: ['aureus-bridge'], clockSkewMs: 30_000, maxTtlMs: 15 * MIN };

interface Vector {
  id: string;
  description: string;
  keySet: string;
  now: number;
  verifier?: Partial<typeof VERIFIER>;
  event: { approvalId: string; intentId: string; decisionId: string; action: Action };
  seenApprovalIds: string[];
  envelope: EnvelopeJson | Record<string, unknown>;
  expected: { ok: true } | { ok: false; code: VerificationCode; check: CheckName };
  intermediate?: { payloadJson: string; actionCanonical: string; actionDigest: string; paeBase64: string };
}

function leBytes(n: bigint): Buffer {
  const out = Buffer.alloc(32);
  let v = n;
  for (let i = 0; i < 32; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

function leInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

function payloadFor(decision: Decision, approvers: ApprovalPayload['approvers'], now: number, label: string): ApprovalPayload {
  return draftApproval(decision, approvers, {
    now, approvalId: approvalIdFor(decision.decisionId), nonce: testNonce(label), ttlMs: TTL,
    audience: VERIFIER.audience, issuer: 'aureus-bridge',
  });
}

function sig(envelope: Envelope): Buffer {
  const s = envelope.signatures[0]?.sig;
  if (s === undefined) throw new Error('no signature');
  return s;
}

async function sign(payload: ApprovalPayload | Buffer, signer: { keyId: string; sign(d: Buffer): Promise<Buffer> } & Pick<LocalEd25519Signer, 'publicKey' | 'origin'>): Promise<Envelope> {
  const bytes = Buffer.isBuffer(payload) ? payload : encodeApprovalPayload(payload);
  return signEnvelope(APPROVAL_PAYLOAD_TYPE, bytes, signer);
}

function eventOf(decision: Decision, payload: ApprovalPayload): Vector['event'] {
  return { approvalId: payload.approvalId, intentId: decision.intentId, decisionId: decision.decisionId, action: decision.action };
}

export async function generateApprovalVectors(): Promise<Record<string, unknown>> {
  // --- keys --------------------------------------------------------------------------------------
  const labels = {
    main: 'vectors main', second: 'vectors second', revoked: 'vectors revoked', old: 'vectors old',
    kms: 'vectors kms parent', delegated: 'vectors delegated', unregistered: 'vectors unregistered',
  } as const;
  const main = testSigner(labels.main);
  const second = testSigner(labels.second);
  const revoked = testSigner(labels.revoked);
  const old = testSigner(labels.old);
  const kms = testSigner(labels.kms, 'kms');
  const unregistered = testSigner(labels.unregistered);
  const delegated = await delegateKey(kms, { now: T0 - 10 * MIN, validityMs: HOUR, key: testSigner(labels.delegated, 'kms-delegated') });

  const mainRecord = newKeyRecord({ publicKey: main.publicKey, origin: 'local', now: T0 - 10 * DAY, notAfter: T0 + 27 * DAY });
  const records: SigningKeyRecord[] = [
    mainRecord,
    newKeyRecord({ publicKey: second.publicKey, origin: 'local', now: T0 - 10 * DAY, notAfter: T0 + 27 * DAY }),
    { ...newKeyRecord({ publicKey: revoked.publicKey, origin: 'local', now: T0 - 20 * DAY, notAfter: T0 + 17 * DAY }), status: 'revoked', revokedAt: T0 - HOUR },
    { ...newKeyRecord({ publicKey: old.publicKey, origin: 'local', now: T0 - 40 * DAY, notAfter: T0 - MIN }), status: 'retired' },
    newKeyRecord({ publicKey: kms.publicKey, origin: 'kms', now: T0 - 30 * DAY, notAfter: T0 + 30 * DAY }),
    delegated.record,
  ];
  const kmsRevoked = records.map((r) => (r.keyId === kms.keyId ? { ...r, status: 'revoked' as const, revokedAt: T0 - 5 * MIN } : r));
  const keySets = { main: toJwks(records), 'kms-parent-revoked': toJwks(kmsRevoked) };

  // --- approvals ----------------------------------------------------------------------------------
  const allow = sampleDecision();
  const allowPayload = payloadFor(allow, [], T0, 'allow');
  const allowEnv = await sign(allowPayload, main);

  const human = humanDecision({ action: { ...ACTIONS.message }, actionDigest: actionDigest(ACTIONS.message), required: 2, deadline: T0 + HOUR });
  const humanAuth = authorizeSigning(human, [
    sampleResponse(human, approverPrincipal('u-alice', 'slack'), 'approve', T0 - 2 * MIN),
    sampleResponse(human, approverPrincipal('u-bob', 'discord'), 'approve', T0 - MIN),
  ], { now: T0 });
  if (!humanAuth.ok) throw new Error(`human fixture: ${humanAuth.code}`);
  const humanPayload = payloadFor(human, humanAuth.approvers, T0, 'human');
  const humanEnv = await sign(humanPayload, main);

  const cmd = sampleDecision({ decisionId: 'dec-0003', intentId: 'int-0003', action: { ...ACTIONS.command }, actionDigest: actionDigest(ACTIONS.command) });
  const cmdPayload = payloadFor(cmd, [], T0, 'delegated');
  const delegatedEnv = await sign(cmdPayload, delegated);

  const tool = sampleDecision({
    decisionId: 'dec-0004', intentId: 'int-0004',
    action: { type: 'tool_call', tool: 'notes.append', argumentsJson: '{"text":"caf\u00e9 \u20ac \ud83d\ude00 \u05d3"}' },
    actionDigest: actionDigest({ type: 'tool_call', tool: 'notes.append', argumentsJson: '{"text":"caf\u00e9 \u20ac \ud83d\ude00 \u05d3"}' }),
  });
  const toolPayload = payloadFor(tool, [], T0, 'unicode');
  const toolEnv = await sign(toolPayload, main);

  const oldPayload = payloadFor(allow, [], T0 - 2 * MIN, 'old-in-window');
  const oldEnv = await sign(oldPayload, old);
  const oldLatePayload = payloadFor(allow, [], T0, 'old-late');
  const oldLateEnv = await sign(oldLatePayload, old);

  const lateDelegatedPayload = payloadFor(cmd, [], T0 + HOUR, 'delegated-late');
  const lateDelegatedEnv = await sign(lateDelegatedPayload, delegated);

  const allowEvent = eventOf(allow, allowPayload);
  const V: Vector[] = [];
  const ok = { ok: true } as const;
  const fail = (code: VerificationCode, check: CheckName): Vector['expected'] => ({ ok: false, code, check });
  const withIntermediate = (envelope: Envelope, action: Action): Vector['intermediate'] => ({
    payloadJson: envelope.payload.toString('utf8'),
    actionCanonical: canonicalize(action),
    actionDigest: actionDigest(action),
    paeBase64: preAuthEncoding(envelope.payloadType, envelope.payload).toString('base64'),
  });
  const base = { keySet: 'main', seenApprovalIds: [] as string[] };

  // valid
  V.push({ ...base, id: 'valid-policy-allow', description: 'An approval of an allow decision, signed by an active local key.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(allowEnv), expected: ok, intermediate: withIntermediate(allowEnv, allow.action) });
  V.push({ ...base, id: 'valid-human-approval', description: 'A human approval with two approvers and their platform evidence.', now: T0 + 10_000, event: eventOf(human, humanPayload), envelope: envelopeToJson(humanEnv), expected: ok, intermediate: withIntermediate(humanEnv, human.action) });
  V.push({ ...base, id: 'valid-delegated-key', description: 'Signed by a short-lived key that the KMS key certified (chain checked from the key set).', now: T0 + 10_000, event: eventOf(cmd, cmdPayload), envelope: envelopeToJson(delegatedEnv), expected: ok, intermediate: withIntermediate(delegatedEnv, cmd.action) });
  V.push({ ...base, id: 'valid-unicode', description: 'Non-ASCII text in the action (canonical JSON keeps it as UTF-8, not escapes).', now: T0 + 10_000, event: eventOf(tool, toolPayload), envelope: envelopeToJson(toolEnv), expected: ok, intermediate: withIntermediate(toolEnv, tool.action) });
  V.push({ ...base, id: 'valid-retired-key-in-window', description: 'Signed by a key retired after the approval was issued: still valid.', now: T0 + 10_000, event: eventOf(allow, oldPayload), envelope: envelopeToJson(oldEnv), expected: ok });
  V.push({ ...base, id: 'valid-url-safe-base64', description: 'The same approval with payload and sig in unpadded URL-safe base64 (DSSE allows both alphabets).', now: T0 + 10_000, event: allowEvent, envelope: { payloadType: allowEnv.payloadType, payload: allowEnv.payload.toString('base64url'), signatures: [{ keyid: main.keyId, sig: sig(allowEnv).toString('base64url') }] }, expected: ok });
  V.push({ ...base, id: 'valid-skew-before-notbefore', description: 'now is 30 s before notBefore: inside the allowed clock skew.', now: allowPayload.notBefore - 30_000, event: allowEvent, envelope: envelopeToJson(allowEnv), expected: ok });
  V.push({ ...base, id: 'valid-last-millisecond', description: 'now = expiresAt + skew - 1: the last valid millisecond.', now: allowPayload.expiresAt + 30_000 - 1, event: allowEvent, envelope: envelopeToJson(allowEnv), expected: ok });

  // envelope
  V.push({ ...base, id: 'envelope-two-signatures', description: 'Two signatures: an approval carries exactly one.', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [...envelopeToJson(allowEnv).signatures, { keyid: second.keyId, sig: sig(allowEnv).toString('base64') }] }, expected: fail('SNT_APPROVAL_MALFORMED', 'envelope') });
  V.push({ ...base, id: 'envelope-bad-base64', description: 'payload is not base64 (a character outside both alphabets).', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), payload: `*${envelopeToJson(allowEnv).payload.slice(1)}` }, expected: fail('SNT_APPROVAL_MALFORMED', 'envelope') });
  // payload type
  V.push({ ...base, id: 'payload-type-wrong', description: 'Correctly signed, but under another payloadType.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await signEnvelope('application/vnd.aureus.approval+json; version=2', allowEnv.payload, main)), expected: fail('SNT_APPROVAL_PAYLOAD_TYPE', 'payload_type') });
  // key
  V.push({ ...base, id: 'key-unknown', description: 'Signed by a key that is not in the key set.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign(allowPayload, unregistered)), expected: fail('SNT_APPROVAL_KEY_UNKNOWN', 'key') });
  V.push({ ...base, id: 'key-revoked', description: 'Signed by a revoked key.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign(allowPayload, revoked)), expected: fail('SNT_APPROVAL_KEY_REVOKED', 'key') });
  V.push({ ...base, keySet: 'kms-parent-revoked', id: 'key-parent-revoked', description: 'Signed by a delegated key whose parent (KMS) key is revoked.', now: T0 + 10_000, event: eventOf(cmd, cmdPayload), envelope: envelopeToJson(delegatedEnv), expected: fail('SNT_APPROVAL_KEY_REVOKED', 'key') });
  // signature
  V.push({ ...base, id: 'signature-wrong-key-id', description: 'Signed by the main key, but keyid names another registered key.', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [{ keyid: second.keyId, sig: sig(allowEnv).toString('base64') }] }, expected: fail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') });
  const flipped = Buffer.from(sig(allowEnv));
  flipped[40] = (flipped[40] ?? 0) ^ 0x01;
  V.push({ ...base, id: 'signature-bad', description: 'One bit of S flipped.', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [{ keyid: main.keyId, sig: flipped.toString('base64') }] }, expected: fail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') });
  V.push({ ...base, id: 'signature-truncated', description: 'A 63-byte signature.', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [{ keyid: main.keyId, sig: sig(allowEnv).subarray(0, 63).toString('base64') }] }, expected: fail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') });
  const sPlusL = Buffer.concat([sig(allowEnv).subarray(0, 32), leBytes(leInt(sig(allowEnv).subarray(32)) + ED25519_L)]);
  V.push({ ...base, id: 'signature-s-not-canonical', description: 'S replaced by S + L: the same point equation holds, but S >= L is refused (malleability).', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [{ keyid: main.keyId, sig: sPlusL.toString('base64') }] }, expected: fail('SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature') });
  const rNonCanonical = Buffer.concat([Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'), sig(allowEnv).subarray(32)]);
  V.push({ ...base, id: 'signature-r-not-canonical', description: 'R encodes y = p (not reduced).', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), signatures: [{ keyid: main.keyId, sig: rNonCanonical.toString('base64') }] }, expected: fail('SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature') });
  const tampered = Buffer.from(allowEnv.payload.toString('utf8').replace('"riskTier":"low"', '"riskTier":"med"'), 'utf8');
  V.push({ ...base, id: 'payload-tampered', description: 'A payload member edited after signing (same length), signature kept.', now: T0 + 10_000, event: allowEvent, envelope: { ...envelopeToJson(allowEnv), payload: tampered.toString('base64') }, expected: fail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') });
  // payload
  V.push({ ...base, id: 'payload-not-canonical', description: 'Validly signed, but the payload is pretty-printed JSON, not its RFC 8785 form.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign(Buffer.from(JSON.stringify(JSON.parse(allowEnv.payload.toString('utf8')), null, 2)), main)), expected: fail('SNT_APPROVAL_PAYLOAD_NONCANONICAL', 'payload') });
  V.push({ ...base, id: 'payload-duplicate-member', description: 'Validly signed, but "audience" appears twice (parsers disagree on which wins).', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign(Buffer.from(allowEnv.payload.toString('utf8').replace('"audience":"aureus-executor",', '"audience":"someone-else","audience":"aureus-executor",')), main)), expected: fail('SNT_APPROVAL_MALFORMED', 'payload') });
  V.push({ ...base, id: 'payload-unknown-member', description: 'Validly signed, canonical, but with a member version 1 does not define.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign(Buffer.from(canonicalize({ ...allowPayload, admin: true })), main)), expected: fail('SNT_APPROVAL_MALFORMED', 'payload') });
  // key validity
  V.push({ ...base, id: 'key-not-valid-at-issuedat', description: 'Signed by a retired key, issued after its window ended.', now: T0 + 10_000, event: eventOf(allow, oldLatePayload), envelope: envelopeToJson(oldLateEnv), expected: fail('SNT_APPROVAL_KEY_NOT_VALID', 'key_validity') });
  V.push({ ...base, id: 'delegated-key-outside-certificate', description: 'Signed by the delegated key after its certificate window.', now: T0 + HOUR + 10_000, event: eventOf(cmd, lateDelegatedPayload), envelope: envelopeToJson(lateDelegatedEnv), expected: fail('SNT_APPROVAL_KEY_NOT_VALID', 'key_validity') });
  // audience / issuer
  V.push({ ...base, id: 'audience-wrong', description: 'Addressed to another audience.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign({ ...allowPayload, audience: 'aureus-executor-staging' }, main)), expected: fail('SNT_APPROVAL_AUDIENCE', 'audience') });
  V.push({ ...base, id: 'issuer-wrong', description: 'Issued by an issuer the verifier does not accept.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign({ ...allowPayload, issuer: 'aureus-bridge-dev' }, main)), expected: fail('SNT_APPROVAL_ISSUER', 'issuer') });
  // time
  V.push({ ...base, id: 'ttl-too-long', description: 'expiresAt - notBefore is 1 ms over the 15-minute maximum.', now: T0 + 10_000, event: allowEvent, envelope: envelopeToJson(await sign({ ...allowPayload, expiresAt: allowPayload.notBefore + 15 * MIN + 1 }, main)), expected: fail('SNT_APPROVAL_TTL_TOO_LONG', 'time') });
  V.push({ ...base, id: 'not-yet-valid', description: 'now = notBefore - skew - 1.', now: allowPayload.notBefore - 30_001, event: allowEvent, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_NOT_YET_VALID', 'time') });
  V.push({ ...base, id: 'expired', description: 'now = expiresAt + skew: the first expired millisecond.', now: allowPayload.expiresAt + 30_000, event: allowEvent, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_EXPIRED', 'time') });
  // binding
  V.push({ ...base, id: 'digest-mismatch', description: 'The action about to run differs from the approved one (amount changed).', now: T0 + 10_000, event: { ...allowEvent, action: { ...ACTIONS.transfer, amountMinor: 5_000_000 } }, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_DIGEST_MISMATCH', 'binding') });
  V.push({ ...base, id: 'binding-intent-mismatch', description: 'The event names another intent than the signed payload.', now: T0 + 10_000, event: { ...allowEvent, intentId: 'int-9999' }, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_BINDING_MISMATCH', 'binding') });
  V.push({ ...base, id: 'binding-decision-mismatch', description: 'The event names another decision than the signed payload.', now: T0 + 10_000, event: { ...allowEvent, decisionId: 'dec-9999' }, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_BINDING_MISMATCH', 'binding') });
  // single use
  V.push({ ...base, id: 'replayed', description: 'A valid approval whose id was already used.', now: T0 + 10_000, seenApprovalIds: [allowPayload.approvalId], event: allowEvent, envelope: envelopeToJson(allowEnv), expected: fail('SNT_APPROVAL_REPLAYED', 'single_use') });

  const testKeys = Object.fromEntries(Object.entries(labels).map(([name, label]) => {
    const signer = testSigner(label);
    return [name, { label, seedHex: testSeed(label).toString('hex'), kid: signer.keyId, x: signer.publicKey.toString('base64url') }];
  }));

  return {
    format: 'aureus-sentinel approval test vectors',
    version: 1,
    spec: 'docs/approval-format.md',
    generatedBy: 'scripts/gen-approval-vectors.ts',
    payloadType: APPROVAL_PAYLOAD_TYPE,
    verifier: VERIFIER,
    notes: [
      'Times are integer epoch milliseconds. Keys are JWKS entries (kid = RFC 7638 thumbprint, x = raw key, base64url).',
      'For each vector: build the key registry from keySets[keySet] (verify delegated keys\' certificates), verify envelope at time now with the verifier settings (vector.verifier overrides the top-level ones) for event.action and the event ids, with seenApprovalIds as already-used approval ids; expect the verdict, and for failures the code and the check that fails first.',
      'testKeys are TEST-ONLY Ed25519 seeds (RFC 8032 private keys), published so a signer in another language can reproduce every signature byte for byte.',
    ],
    testKeys,
    keySets,
    vectors: V,
  };
}

export function renderVectors(vectors: Record<string, unknown>): string {
  return `${JSON.stringify(vectors, null, 2)}\n`;
}

async function main(): Promise<void> {
  const text = renderVectors(await generateApprovalVectors());
  if (process.argv.includes('--check')) {
    const committed = await readFile(VECTORS_PATH, 'utf8').catch(() => '');
    if (committed !== text) {
      process.stderr.write(`${VECTORS_PATH} is out of date: run node scripts/gen-approval-vectors.ts\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${VECTORS_PATH} is up to date\n`);
    return;
  }
  await writeFile(VECTORS_PATH, text);
  process.stdout.write(`wrote ${VECTORS_PATH}\n`);
}

if (import.meta.main) await main();
