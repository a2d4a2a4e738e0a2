// The Confluent wire format, pinned by golden bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from '../../../src/serde/wire.ts';
import type { SentinelError } from '../../../src/errors/index.ts';

test('encodeFrame writes magic 0, the big-endian schema id, then the body (golden bytes)', () => {
  assert.deepEqual(encodeFrame(1, Buffer.from([0xca, 0xfe])), Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01, 0xca, 0xfe]));
  assert.deepEqual(encodeFrame(0x01020304, Buffer.alloc(0)), Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04]));
  assert.deepEqual(encodeFrame(0x7fffffff, Buffer.from([0x02])), Buffer.from([0x00, 0x7f, 0xff, 0xff, 0xff, 0x02]));
});

test('decodeFrame inverts encodeFrame for every id and body', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ maxLength: 64 }), (id, body) => {
    const decoded = decodeFrame(encodeFrame(id, Buffer.from(body)));
    return decoded.schemaId === id && decoded.body.equals(Buffer.from(body));
  }));
});

test('decodeFrame refuses a wrong magic byte, a short record and a negative id with their codes', () => {
  const code = (fn: () => unknown) => { try { fn(); return 'no error'; } catch (e) { return (e as SentinelError).code; } };
  assert.equal(code(() => decodeFrame(Buffer.from([0x01, 0, 0, 0, 1, 2]))), 'SNT_SERDE_BAD_MAGIC');
  assert.equal(code(() => decodeFrame(Buffer.from([0x00, 0, 0, 1]))), 'SNT_SERDE_TRUNCATED');
  assert.equal(code(() => decodeFrame(Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff]))), 'SNT_SERDE_UNKNOWN_SCHEMA');
  assert.throws(() => encodeFrame(-1, Buffer.alloc(0)), RangeError);
});
