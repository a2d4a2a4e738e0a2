// The committed language-neutral vectors (test/vectors/approvals/vectors.json): reproducible from
// scripts/gen-approval-vectors.ts, complete (every verification code and check is exercised), and
// passed by our verifier reading them exactly as another implementation would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { APPROVAL_CODES } from '../../../src/errors/approval.ts';
import { registryFromJwks } from '../../../src/approval/keys/index.ts';
import { CHECKS, verifyApprovalJson } from '../../../src/approval/verify/index.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { preAuthEncoding } from '../../../src/approval/dsse.ts';
import { VECTORS_PATH, generateApprovalVectors, renderVectors } from '../../../scripts/gen-approval-vectors.ts';

interface VectorFile {
  payloadType: string;
  verifier: { audience: string; issuers: string[]; clockSkewMs: number; maxTtlMs: number };
  testKeys: Record<string, { seedHex: string; kid: string; x: string }>;
  keySets: Record<string, unknown>;
  vectors: Array<{
    id: string;
    keySet: string;
    now: number;
    verifier?: Partial<VectorFile['verifier']>;
    event: { approvalId: string; intentId: string; decisionId: string; action: never };
    seenApprovalIds: string[];
    envelope: { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };
    expected: { ok: true } | { ok: false; code: string; check: string };
    intermediate?: { payloadJson: string; actionCanonical: string; actionDigest: string; paeBase64: string };
  }>;
}

const committed = readFileSync(VECTORS_PATH, 'utf8');
const file = JSON.parse(committed) as VectorFile;

describe('approval test vectors', () => {
  test('the committed file is exactly what the generator produces (reproducible from fixed seeds)', async () => {
    assert.equal(renderVectors(await generateApprovalVectors()), committed);
  });

  test('every verification code and every check is exercised, and there are valid vectors', () => {
    const verificationCodes = Object.keys(APPROVAL_CODES).filter((c) => c.startsWith('SNT_APPROVAL_'));
    const used = new Set(file.vectors.flatMap((v) => (v.expected.ok ? [] : [v.expected.code])));
    assert.deepEqual(verificationCodes.filter((c) => !used.has(c)), []);
    const checks = new Set(file.vectors.flatMap((v) => (v.expected.ok ? [] : [v.expected.check])));
    assert.deepEqual(CHECKS.filter((c) => !checks.has(c)), []);
    assert.ok(file.vectors.filter((v) => v.expected.ok).length >= 5);
    assert.equal(new Set(file.vectors.map((v) => v.id)).size, file.vectors.length, 'ids are unique');
  });

  for (const vector of file.vectors) {
    test(`${vector.id}: ${vector.expected.ok ? 'valid' : `${vector.expected.code} at ${vector.expected.check}`}`, () => {
      const cfg = { ...file.verifier, ...vector.verifier };
      const verdict = verifyApprovalJson({
        registry: registryFromJwks(file.keySets[vector.keySet]),
        now: vector.now,
        audience: cfg.audience,
        issuers: cfg.issuers,
        clockSkewMs: cfg.clockSkewMs,
        maxTtlMs: cfg.maxTtlMs,
        action: vector.event.action,
        event: vector.event,
        seen: (id) => vector.seenApprovalIds.includes(id),
      }, vector.envelope);
      if (vector.expected.ok) {
        assert.ok(verdict.ok, verdict.ok ? '' : `${verdict.code}: ${verdict.reason}`);
      } else {
        assert.ok(!verdict.ok, 'expected a refusal');
        assert.deepEqual({ code: verdict.code, check: verdict.check }, { code: vector.expected.code, check: vector.expected.check });
      }
    });
  }

  test('intermediate values are consistent: payload text, PAE bytes, and the signature is reproducible from the test seed', () => {
    const bySeed = new Map(Object.values(file.testKeys).map((k) => [k.kid, LocalEd25519Signer.fromSeed(Buffer.from(k.seedHex, 'hex'))]));
    let checked = 0;
    for (const v of file.vectors.filter((x) => x.intermediate !== undefined)) {
      const i = v.intermediate!;
      const payload = Buffer.from(v.envelope.payload, 'base64');
      assert.equal(payload.toString('utf8'), i.payloadJson);
      const pae = preAuthEncoding(v.envelope.payloadType, payload);
      assert.equal(pae.toString('base64'), i.paeBase64);
      const sig = v.envelope.signatures[0]!;
      const signer = bySeed.get(sig.keyid);
      assert.ok(signer, `seed for ${sig.keyid}`);
      assert.equal(signer.signSync(pae).toString('base64'), sig.sig, 'Ed25519 is deterministic: same seed, same bytes, same signature');
      assert.ok(i.payloadJson.includes(`"actionDigest":"${i.actionDigest}"`));
      checked++;
    }
    assert.ok(checked >= 4);
  });
});
