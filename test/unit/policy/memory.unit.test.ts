// Semantic memory: the deterministic embedder and the embedded vector store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cosineSimilarity, HashingEmbedder } from '../../../src/policy/memory/embedder.ts';
import { EmbeddedVectorStore } from '../../../src/policy/memory/embedded-store.ts';
import { describeAction } from '../../../src/policy/memory/semantic-memory.ts';
import { vectorStoreContract } from '../../support/vector-store-contract.ts';
import { command, email, transfer } from '../../support/policy-fixtures.ts';

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder();

  test('is deterministic, of the declared dimension, and unit length', () => {
    const a = embedder.embed('transfer 500 USD to Alice');
    assert.equal(a.length, 256);
    assert.deepEqual(new HashingEmbedder().embed('transfer 500 USD to Alice'), a);
    assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-12);
  });

  test('pinned output: the same text gives the same vector on every machine and release', () => {
    const v = new HashingEmbedder({ dimension: 16 }).embed('transfer 500 USD to Alice');
    assert.deepEqual(v.map((x) => Math.round(x * 1e6) / 1e6 + 0), PINNED);
  });

  test('case, spacing and punctuation do not matter; words do', () => {
    const sim = (x: string, y: string) => cosineSimilarity(embedder.embed(x), embedder.embed(y));
    assert.ok(sim('Send the REPORT to Bob', 'send   the report to bob!') > 0.999);
    const close = sim('rm -rf /var/lib/postgresql', 'rm -rf /var/lib/postgresql/data');
    const far = sim('rm -rf /var/lib/postgresql', 'what is the weather in Oslo');
    assert.ok(close > 0.8, `close ${close}`);
    assert.ok(far < 0.3, `far ${far}`);
    assert.ok(sim('transfer to alice', 'transfer to alicia') > sim('transfer to alice', 'transfer to zed'));
  });

  test('empty text still gives a unit vector', () => {
    assert.ok(Math.abs(Math.hypot(...embedder.embed('  ')) - 1) < 1e-12);
  });

  test('refuses a dimension that is not a power of two in range', () => {
    assert.throws(() => new HashingEmbedder({ dimension: 100 }), RangeError);
    assert.throws(() => new HashingEmbedder({ dimension: 8 }), RangeError);
  });

  test('the name identifies the embedding space', () => {
    assert.notEqual(new HashingEmbedder({ dimension: 128 }).name, new HashingEmbedder({ dimension: 256 }).name);
  });
});

describe('describeAction', () => {
  test('names the salient fields of each action type', () => {
    assert.equal(describeAction(transfer(500, 'Alice')), 'transfer USD 500 to Alice ');
    assert.equal(describeAction(command('df -h', 'web-1')), 'command on web-1: df -h');
    assert.match(describeAction(email('bob@example.com', 'hello')), /^message email to bob@example.com report hello$/);
  });
});

describe('EmbeddedVectorStore limits', () => {
  test('evicts the oldest points beyond its capacity', async () => {
    const store = new EmbeddedVectorStore({ maxPointsPerCollection: 3 });
    await store.ensureCollection('c', 2);
    for (const id of ['a', 'b', 'c', 'd']) await store.upsert('c', [{ id, vector: [1, 0], payload: { userId: 'u' } }]);
    assert.equal(store.size('c'), 3);
    assert.deepEqual((await store.search('c', { vector: [1, 0], limit: 10, filter: { userId: 'u' } })).map((m) => m.id).sort(), ['b', 'c', 'd']);
  });

  test('a search before ensureCollection is a programmer error', async () => {
    await assert.rejects(new EmbeddedVectorStore().search('nope', { vector: [1], limit: 1 }), RangeError);
  });
});

vectorStoreContract('embedded', () => new EmbeddedVectorStore());

// Recorded once from this implementation; a change here changes every stored similarity.
const PINNED = [0.640184, 0, -0.256074, -0.128037, 0.256074, 0, -0.128037, 0.512148, 0, 0, 0, 0.128037, -0.256074, -0.128037, 0, 0.256074];
