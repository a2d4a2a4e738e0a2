// The key registry through time, for audit and replay (docs/approval-format.md §8: verify with the
// key set as it stood when the executor acted). registryAsOf(registry, T) changes only at a key's
// createdAt, revokedAt and notAfter; the timeline computes each distinct registry once and finds
// the one for T by binary search. Pure.
import { emptyKeyRegistry, registryAsOf, type KeyRegistry } from '../approval/keys/registry.ts';
import type { EpochMillis } from '../domain/types.ts';

export interface KeyTimeline {
  /** Every key with its latest known record (for the key material). */
  readonly latest: KeyRegistry;
  /** The registry as it stood at `at`. */
  at(at: EpochMillis): KeyRegistry;
}

export function keyTimeline(latest: KeyRegistry): KeyTimeline {
  const points = new Set<number>();
  for (const { record } of latest.entries.values()) {
    points.add(record.createdAt);
    if (record.revokedAt !== null) points.add(record.revokedAt);
    points.add(record.notAfter + 1);
  }
  const boundaries = [...points].sort((a, b) => a - b);
  const cache = new Map<number, KeyRegistry>();
  const empty = emptyKeyRegistry();
  return {
    latest,
    at(at) {
      let low = 0;
      let high = boundaries.length - 1;
      let index = -1;
      while (low <= high) {
        const mid = (low + high) >> 1;
        if (boundaries[mid]! <= at) { index = mid; low = mid + 1; } else high = mid - 1;
      }
      if (index < 0) return empty;
      let registry = cache.get(index);
      if (registry === undefined) cache.set(index, (registry = registryAsOf(latest, boundaries[index]!)));
      return registry;
    },
  };
}
