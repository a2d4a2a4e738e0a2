// The signer's key manager (consumers/signer/keys.ts) with an in-memory store and publisher:
// records are published before use, rotation is automatic after KEY_ROTATION_DAYS and on demand,
// the old key is re-published as retired, and a key file that still holds the same key cannot rotate.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KeyManager } from '../../../consumers/signer/keys.ts';
import { rotationPolicyFromDays } from '../../../src/approval/keys/rotation.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { loadConfig } from '../../../src/config/index.ts';
import type { SigningKeyRecord } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { createLogger } from '../../../src/observability/log.ts';

const DAY = 86_400_000;

function harness(env: Record<string, string> = {}) {
  const stored = new Map<string, SigningKeyRecord>();
  const published: SigningKeyRecord[] = [];
  let now = Date.UTC(2026, 0, 1);
  const signing = loadConfig('signer', { LOG_LEVEL: 'silent', KEY_ROTATION_DAYS: '30', ...env }).signing;
  const start = () => KeyManager.start({
    signing, policy: rotationPolicyFromDays(signing.rotationDays), clock: () => now,
    logger: createLogger({ service: 'test', level: 'silent', secrets: [] }),
    store: {
      saveKey: async (r) => { stored.set(r.keyId, r); },
      getKey: async (id) => stored.get(id) ?? null,
      listKeys: async () => [...stored.values()],
    },
    publish: async (r) => { published.push(r); },
  });
  return { start, published, advance: (ms: number) => { now += ms; } };
}

test('an ephemeral key is published before use, rotated when it is KEY_ROTATION_DAYS old, and the old one re-published as retired', async () => {
  const h = harness();
  const keys = await h.start();
  const first = keys.currentRecord();
  assert.deepEqual(h.published.map((r) => [r.keyId, r.status]), [[first.keyId, 'active']]);
  assert.equal((await keys.current()).keyId, first.keyId);
  h.advance(29 * DAY);
  assert.equal((await keys.rotate(false)).rotated, false, 'not due yet');
  h.advance(DAY);
  const rotated = await keys.rotate(false);
  assert.deepEqual([rotated.rotated, rotated.reason, rotated.previousKeyId], [true, 'age', first.keyId]);
  assert.notEqual((await keys.current()).keyId, first.keyId);
  assert.deepEqual(h.published.map((r) => r.status), ['active', 'active', 'retired']);
  const retired = h.published[2]!;
  assert.equal(retired.keyId, first.keyId);
  assert.equal(retired.notAfter, first.notBefore + 30 * DAY, 'it vouches for nothing issued after its retirement');
  const onDemand = await keys.rotate(true);
  assert.equal(onDemand.reason, 'on_demand');
  assert.equal((await keys.registry(true)).entries.size, 3, 'every key ever published stays in the registry');
  keys.stop();
});

test('SIGNING_KEY_FILE: a restart keeps the key\'s window; rotation needs a new key in the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-keys-'));
  const file = join(dir, 'signing.pem');
  writeFileSync(file, LocalEd25519Signer.generate().exportPkcs8Pem());
  const h = harness({ SIGNING_KEY_FILE: file });
  const keys = await h.start();
  const record = keys.currentRecord();
  h.advance(10 * DAY);
  const restarted = await h.start();
  assert.equal(restarted.currentRecord().notBefore, record.notBefore, 'the first publication fixes the window');
  await assert.rejects(restarted.rotate(true), (e) => isSentinelError(e, 'SNT_CONFLICT'));
  h.advance(25 * DAY);
  const due = await restarted.rotate(false);
  assert.deepEqual([due.rotated, due.reason], [false, 'age']);
  assert.match(due.message!, /deploy a new PEM/);
  writeFileSync(file, LocalEd25519Signer.generate().exportPkcs8Pem());
  const rotated = await restarted.rotate(true);
  assert.equal(rotated.rotated, true);
  assert.notEqual(rotated.currentKeyId, record.keyId);
  assert.equal(h.published.at(-1)!.status, 'retired');
  // A sibling instance still holding the old key follows on its next check.
  assert.equal((await keys.current()).keyId, record.keyId);
  const followed = await keys.check();
  assert.deepEqual([followed.rotated, followed.reason, followed.currentKeyId], [true, 'not_active', rotated.currentKeyId]);
  assert.equal((await keys.current()).keyId, rotated.currentKeyId);
  keys.stop();
  restarted.stop();
});
