// Coalesces the context loads of concurrent HTTP requests (POST /api/assess-risk, /api/check-policy)
// into one loadMany per turn of the event loop: under load, one PostgreSQL query and one Redis
// round trip serve every request that arrived together, as they do for a consumer batch. An idle
// server adds no wait (the flush runs right after the current I/O phase).
import type { EpochMillis, Intent } from '../../domain/types.ts';
import type { ContextStore, LoadedContext } from './types.ts';

interface Pending {
  intent: Intent;
  resolve: (value: { loaded: LoadedContext; now: EpochMillis }) => void;
  reject: (error: unknown) => void;
}

export class CoalescingContextLoader {
  private readonly store: Pick<ContextStore, 'loadMany'>;
  private readonly clock: () => EpochMillis;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private scheduled = false;
  /** Batches loaded so far (for tests and metrics). */
  batches = 0;

  constructor(store: Pick<ContextStore, 'loadMany'>, clock: () => EpochMillis, options: { maxBatch?: number } = {}) {
    this.store = store;
    this.clock = clock;
    this.maxBatch = options.maxBatch ?? 128;
  }

  /**
   * The context of `intent`, and the time it was loaded at: the decision must be made with that
   * same time, since the counters' windows (today, the last 10 minutes) are measured from it.
   */
  load(intent: Intent): Promise<{ loaded: LoadedContext; now: EpochMillis }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ intent, resolve, reject });
      if (this.queue.length >= this.maxBatch) {
        this.flush();
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const now = this.clock();
    this.batches++;
    this.store.loadMany(batch.map((p) => p.intent), now).then((results) => {
      if (results.length !== batch.length) throw new TypeError(`loadMany returned ${results.length} contexts for ${batch.length} intents`);
      batch.forEach((p, i) => p.resolve({ loaded: results[i]!, now }));
    }).catch((error: unknown) => {
      for (const p of batch) p.reject(error);
    });
  }
}
