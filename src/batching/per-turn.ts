// Calls made in the same turn of the event loop, run as one batch: under load, concurrent requests
// share one round trip to a database; an idle server adds no wait (the batch runs right after the
// current I/O phase). Used by the policy API's context loads and the signer's POST /sign.

export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * Returns a function that queues one item and resolves with its own outcome. `run` gets the items
 * of a batch in call order and returns one outcome per item; if it throws, every call of that batch
 * rejects with the error. A batch holds at most `maxBatch` items (more start the next batch at once).
 */
export function perTurn<I, O>(run: (items: I[]) => Promise<Array<Settled<O>>>, options: { maxBatch?: number } = {}): (item: I) => Promise<O> {
  const maxBatch = options.maxBatch ?? 128;
  let queue: Array<{ item: I; resolve: (value: O) => void; reject: (error: unknown) => void }> = [];
  let scheduled = false;
  const flush = () => {
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    run(batch.map((p) => p.item)).then((outcomes) => {
      if (outcomes.length !== batch.length) throw new TypeError(`a batch of ${batch.length} got ${outcomes.length} outcomes`);
      batch.forEach((p, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) p.resolve(outcome.value);
        else p.reject(outcome.error);
      });
    }).catch((error: unknown) => {
      for (const p of batch) p.reject(error);
    });
  };
  return (item) => new Promise<O>((resolve, reject) => {
    queue.push({ item, resolve, reject });
    if (queue.length >= maxBatch) {
      flush();
    } else if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        flush();
      });
    }
  });
}
