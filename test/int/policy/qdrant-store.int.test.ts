// The Qdrant adapter, through the real @qdrant/js-client-rest, against the fake Qdrant server:
// the VectorStore contract, what goes over the wire, and how failures are reported.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isSentinelError } from '../../../src/errors/index.ts';
import { HashingEmbedder } from '../../../src/policy/memory/embedder.ts';
import { QdrantVectorStore } from '../../../src/policy/memory/qdrant-store.ts';
import { SemanticMemory } from '../../../src/policy/memory/semantic-memory.ts';
import { vectorStoreContract } from '../../support/vector-store-contract.ts';
import { startFakeQdrant, type FakeQdrant } from '../../support/fake-qdrant.ts';
import { command, intentFor } from '../../support/policy-fixtures.ts';

let qdrant: FakeQdrant;
before(async () => { qdrant = await startFakeQdrant(); });
after(() => qdrant.stop());

vectorStoreContract('Qdrant (fake server, real client)', () => new QdrantVectorStore({ url: qdrant.url }));

describe('QdrantVectorStore on the wire', () => {
  test('creates a Cosine collection once, upserts UUID points with wait=true, and queries in one batch', async () => {
    const store = new QdrantVectorStore({ url: qdrant.url });
    const collection = `wire_${Date.now()}`;
    const from = qdrant.requests.length;
    await store.ensureCollection(collection, 3);
    await store.ensureCollection(collection, 3);
    await store.upsert(collection, [{ id: 'decision-1', vector: [1, 2, 3], payload: { userId: 'u' } }]);
    const [[match]] = await Promise.all([store.searchMany(collection, [{ vector: [1, 2, 3], limit: 1, filter: { userId: 'u' } }])]);
    assert.equal(match![0]!.id, 'decision-1');
    assert.deepEqual(match![0]!.payload, { userId: 'u' });

    const wire = qdrant.requests.slice(from).map((r) => `${r.method} ${r.path}${r.query}`);
    assert.deepEqual(wire, [
      `GET /collections/${collection}/exists`, `PUT /collections/${collection}`, `GET /collections/${collection}`,
      `GET /collections/${collection}/exists`, `GET /collections/${collection}`,
      `PUT /collections/${collection}/points?wait=true`,
      `POST /collections/${collection}/points/query/batch`,
    ]);
    const create = qdrant.requests.slice(from).find((r) => r.method === 'PUT' && r.path === `/collections/${collection}`);
    assert.deepEqual(create!.body, { vectors: { size: 3, distance: 'Cosine' } });
    const upsert = qdrant.requests.slice(from).find((r) => r.path.endsWith('/points'))!.body as { points: Array<{ id: string }> };
    assert.match(upsert.points[0]!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const batch = qdrant.requests.slice(from).at(-1)!.body as { searches: unknown[] };
    assert.deepEqual(batch.searches, [{ query: [1, 2, 3], limit: 1, with_payload: true, filter: { must: [{ key: 'userId', match: { value: 'u' } }] } }]);
  });

  test('two replicas creating the collection at once both succeed', async () => {
    const collection = `race_${Date.now()}`;
    await Promise.all([new QdrantVectorStore({ url: qdrant.url }).ensureCollection(collection, 8), new QdrantVectorStore({ url: qdrant.url }).ensureCollection(collection, 8)]);
    assert.equal(qdrant.collections.get(collection)?.size, 8);
  });

  test('an existing collection of another size is refused, naming it', async () => {
    const collection = `sized_${Date.now()}`;
    await new QdrantVectorStore({ url: qdrant.url }).ensureCollection(collection, 8);
    await assert.rejects(new QdrantVectorStore({ url: qdrant.url }).ensureCollection(collection, 16), new RegExp(`collection ${collection} has vectors`));
  });

  test('a server answering 503 is SNT_DEPENDENCY_UNAVAILABLE', async () => {
    const store = new QdrantVectorStore({ url: qdrant.url });
    qdrant.failWith = 503;
    try {
      await assert.rejects(store.search('any', { vector: [1], limit: 1 }), (error: unknown) => isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE') && error.retriable);
    } finally {
      qdrant.failWith = null;
    }
  });

  test('a 4xx (our mistake) is not disguised as unavailability', async () => {
    const store = new QdrantVectorStore({ url: qdrant.url });
    await assert.rejects(store.search(`missing_${Date.now()}`, { vector: [1], limit: 1 }), (error: unknown) => !isSentinelError(error));
  });

  test('a server that is not there is SNT_DEPENDENCY_UNAVAILABLE, for semantic memory too', async () => {
    const gone = await startFakeQdrant();
    const url = gone.url;
    await gone.stop();
    const memory = new SemanticMemory(new QdrantVectorStore({ url, timeoutMs: 2000 }), new HashingEmbedder());
    await assert.rejects(memory.recallMany([intentFor(command('ls'))]), (error: unknown) => isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE'));
  });
});
