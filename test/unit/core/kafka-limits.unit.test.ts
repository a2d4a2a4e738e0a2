import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { asMessagingError } from '../../../src/kafka/errors.ts';
import { chunkBySize } from '../../../src/kafka/limits.ts';

test('chunkBySize keeps order and every message, and no chunk of several messages exceeds the limit', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 200 }), (sizes) => {
    const messages = sizes.map((n, i) => ({ key: `k${i}`, value: Buffer.alloc(n), headers: { h: 'v' } }));
    const chunks = chunkBySize(messages, 10_000);
    assert.deepEqual(chunks.flat(), messages);
    for (const chunk of chunks) {
      const bytes = chunk.reduce((sum, m) => sum + m.value.length + m.key.length + 32 + 6, 0);
      assert.ok(chunk.length === 1 || bytes <= 10_000);
    }
  }));
});

test('a record the broker refuses as too large is permanent even when the client nests the error', () => {
  const nested = Object.assign(new AggregateError([Object.assign(new Error('The request included a message larger than the max message size the server will accept.'), { apiId: 'MESSAGE_TOO_LARGE' })], 'Received response with error while executing API Produce(v11)'), {});
  assert.equal(asMessagingError(nested, 'produce').code, 'SNT_SERDE_RECORD_TOO_LARGE');
  assert.equal(asMessagingError(new Error('Connection closed'), 'produce').code, 'SNT_DEPENDENCY_UNAVAILABLE');
  assert.equal(asMessagingError(Object.assign(new Error('x'), { cause: { type: 'RECORD_LIST_TOO_LARGE' } }), 'p').code, 'SNT_SERDE_RECORD_TOO_LARGE');
});
