// Behaviour every VectorStore adapter must have; run against the embedded store (unit) and the
// Qdrant adapter talking to the fake Qdrant server (integration).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { cosineSimilarity } from '../../src/policy/memory/embedder.ts';
import type { VectorStore } from '../../src/policy/memory/vector-store.ts';

export function vectorStoreContract(name: string, makeStore: () => Promise<VectorStore> | VectorStore): void {
  describe(`VectorStore contract: ${name}`, () => {
    async function fresh(dimension = 4): Promise<{ store: VectorStore; collection: string }> {
      const store = await makeStore();
      const collection = `c_${randomUUID().replaceAll('-', '')}`;
      await store.ensureCollection(collection, dimension);
      return { store, collection };
    }

    test('ensureCollection is idempotent and refuses another dimension', async () => {
      const { store, collection } = await fresh(4);
      await store.ensureCollection(collection, 4);
      await assert.rejects(store.ensureCollection(collection, 8));
    });

    test('search ranks by cosine similarity, best first, with the scores of real cosine', async () => {
      const { store, collection } = await fresh();
      const points = [
        { id: 'east', vector: [1, 0, 0, 0] },
        { id: 'north-east', vector: [1, 1, 0, 0] },
        { id: 'north', vector: [0, 3, 0, 0] },
        { id: 'west', vector: [-2, 0, 0, 0] },
      ];
      await store.upsert(collection, points.map((p) => ({ ...p, payload: { group: 'g' } })));
      const query = [2, 0.5, 0, 0];
      const matches = await store.search(collection, { vector: query, limit: 10 });
      assert.deepEqual(matches.map((m) => m.id), ['east', 'north-east', 'north', 'west']);
      for (const match of matches) {
        const vector = points.find((p) => p.id === match.id)!.vector;
        assert.ok(Math.abs(match.score - cosineSimilarity(query, vector)) < 1e-6, `${match.id}: ${match.score}`);
      }
      assert.deepEqual(matches[0]!.payload, { group: 'g' });
    });

    test('limit, minScore and payload filters', async () => {
      const { store, collection } = await fresh();
      await store.upsert(collection, [
        { id: 'a', vector: [1, 0, 0, 0], payload: { userId: 'u1', outcome: 'deny' } },
        { id: 'b', vector: [0.9, 0.1, 0, 0], payload: { userId: 'u1', outcome: 'allow' } },
        { id: 'c', vector: [0.8, 0.2, 0, 0], payload: { userId: 'u2', outcome: 'deny' } },
        { id: 'd', vector: [0, 1, 0, 0], payload: { userId: 'u1', outcome: 'deny' } },
      ]);
      const q = { vector: [1, 0, 0, 0] };
      assert.deepEqual((await store.search(collection, { ...q, limit: 2 })).map((m) => m.id), ['a', 'b']);
      assert.deepEqual((await store.search(collection, { ...q, limit: 10, minScore: 0.9 })).map((m) => m.id), ['a', 'b', 'c']);
      assert.deepEqual((await store.search(collection, { ...q, limit: 10, filter: { outcome: 'deny' } })).map((m) => m.id), ['a', 'c', 'd']);
      assert.deepEqual((await store.search(collection, { ...q, limit: 10, filter: { userId: 'u1', outcome: 'deny' } })).map((m) => m.id), ['a', 'd']);
      assert.deepEqual(await store.search(collection, { ...q, limit: 10, filter: { userId: 'nobody' } }), []);
    });

    test('upsert replaces a point with the same id', async () => {
      const { store, collection } = await fresh();
      await store.upsert(collection, [{ id: 'p', vector: [1, 0, 0, 0], payload: { v: 1 } }]);
      await store.upsert(collection, [{ id: 'p', vector: [0, 1, 0, 0], payload: { v: 2 } }]);
      const matches = await store.search(collection, { vector: [0, 1, 0, 0], limit: 10 });
      assert.equal(matches.length, 1);
      assert.equal(matches[0]!.id, 'p');
      assert.deepEqual(matches[0]!.payload, { v: 2 });
      assert.ok(matches[0]!.score > 0.999);
    });

    test('searchMany answers each query in order', async () => {
      const { store, collection } = await fresh();
      await store.upsert(collection, [
        { id: 'x', vector: [1, 0, 0, 0], payload: {} },
        { id: 'y', vector: [0, 1, 0, 0], payload: {} },
      ]);
      const results = await store.searchMany(collection, [
        { vector: [0, 1, 0, 0], limit: 1 },
        { vector: [1, 0, 0, 0], limit: 1 },
        { vector: [1, 0, 0, 0], limit: 5, filter: { missing: true } },
      ]);
      assert.deepEqual(results.map((r) => r.map((m) => m.id)), [['y'], ['x'], []]);
    });

    test('vectors of the wrong dimension are refused', async () => {
      const { store, collection } = await fresh();
      await assert.rejects(store.upsert(collection, [{ id: 'bad', vector: [1, 2], payload: {} }]));
      await assert.rejects(store.search(collection, { vector: [1, 2], limit: 1 }));
    });
  });
}
