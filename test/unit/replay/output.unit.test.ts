// JSON Lines, range options, and the key timeline (the registry as it stood at any time).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeyRegistry, registryAsOf, revokeKey } from '../../../src/approval/keys/registry.ts';
import { newKeyRecord } from '../../../src/approval/keys/rotation.ts';
import { T0, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { keyTimeline } from '../../../src/audit/key-timeline.ts';
import { parseOffsets, parseTime, rangeFrom } from '../../../src/cli/commands/output.ts';
import { jsonLine } from '../../../src/replay/jsonl.ts';
import { table } from '../../../src/replay/report.ts';

test('JSON Lines: one object per line, bytes as base64, big integers as strings', () => {
  const line = jsonLine({ sig: Buffer.from([1, 2, 3]), nested: { raw: new Uint8Array([255]) }, offset: 2n ** 70n, text: 'a\nb' });
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(JSON.parse(line), { sig: 'AQID', nested: { raw: '/w==' }, offset: '1180591620717411303424', text: 'a\nb' });
});

test('range options: offsets for every partition or per partition, times as ISO or epoch ms', () => {
  assert.equal(parseOffsets('42', 'from-offset'), 42n);
  assert.deepEqual([...(parseOffsets('0:10, 3:7', 'from-offset') as Map<number, bigint>)], [[0, 10n], [3, 7n]]);
  assert.throws(() => parseOffsets('0-10', 'from-offset'), /partition:offset/);
  assert.equal(parseTime('2026-01-01T00:00:00Z', 'from-time'), T0);
  assert.equal(parseTime(String(T0), 'from-time'), T0);
  assert.throws(() => parseTime('yesterday', 'from-time'), /neither epoch milliseconds nor an ISO 8601/);
  assert.deepEqual(rangeFrom({}), { from: { kind: 'earliest' }, to: { kind: 'latest' } });
  assert.deepEqual(rangeFrom({ 'from-time': String(T0), 'to-offset': '9' }), { from: { kind: 'time', at: T0 }, to: { kind: 'offset', offsets: 9n } });
  assert.throws(() => rangeFrom({ 'from-time': '1', 'from-offset': '1' }), /not both/);
});

test('tables align their columns', () => {
  assert.equal(table(['name', 'n'], [['a', 1], ['long name', 10]]), 'name        n\n---------  --\na           1\nlong name  10');
});

test('the key timeline answers exactly what registryAsOf answers, at any time', () => {
  const a = newKeyRecord({ publicKey: testSigner('timeline a').publicKey, origin: 'local', now: T0, notAfter: T0 + 10_000 });
  const b = newKeyRecord({ publicKey: testSigner('timeline b').publicKey, origin: 'local', now: T0 + 5_000, notAfter: T0 + 50_000 });
  const registry = revokeKey(createKeyRegistry([a, b]), b.keyId, T0 + 20_000);
  const timeline = keyTimeline(registry);
  const view = (r: ReturnType<typeof registryAsOf>) => [...r.entries.values()].map((e) => `${e.record.keyId}:${e.record.status}:${e.record.revokedAt}`).sort();
  for (const at of [T0 - 1, T0, T0 + 4_999, T0 + 5_000, T0 + 10_000, T0 + 10_001, T0 + 19_999, T0 + 20_000, T0 + 50_001, T0 + 10 ** 9]) {
    assert.deepEqual(view(timeline.at(at)), view(registryAsOf(registry, at)), `at T0${at - T0 >= 0 ? '+' : ''}${at - T0}`);
  }
  assert.equal(timeline.at(T0 + 1), timeline.at(T0 + 2), 'one registry per interval, computed once');
});
