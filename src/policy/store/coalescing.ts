// Coalesces the context loads of concurrent HTTP requests (POST /api/assess-risk, /api/check-policy)
// into one loadMany per turn of the event loop: under load, one PostgreSQL query and one Redis
// round trip serve every request that arrived together, as they do for a consumer batch.
import { perTurn } from '../../batching/per-turn.ts';
import type { EpochMillis, Intent } from '../../domain/types.ts';
import type { ContextStore, LoadedContext } from './types.ts';

export class CoalescingContextLoader {
  /**
   * The context of an intent, and the time it was loaded at: the decision must be made with that
   * same time, since the counters' windows (today, the last 10 minutes) are measured from it.
   */
  readonly load: (intent: Intent) => Promise<{ loaded: LoadedContext; now: EpochMillis }>;

  constructor(store: Pick<ContextStore, 'loadMany'>, clock: () => EpochMillis, options: { maxBatch?: number } = {}) {
    this.load = perTurn(async (intents: Intent[]) => {
      const now = clock();
      const results = await store.loadMany(intents, now);
      if (results.length !== intents.length) throw new TypeError(`loadMany returned ${results.length} contexts for ${intents.length} intents`);
      return results.map((loaded) => ({ ok: true as const, value: { loaded, now } }));
    }, options);
  }
}
