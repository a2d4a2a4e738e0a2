// Reads the compacted sentinel.signing-keys topic in full into a key registry
// (docs/keys-and-kms.md §5). Every verifier instance reads every record: the consumer group is
// unique to the reader, starts from the beginning, and never commits offsets — so nothing is
// remembered between runs — and it is deleted when the reader stops.
//
// "Caught up" means: for each partition, every record below the high watermark measured at the
// time of asking has been applied. Verifiers wait for it at start-up, and ask again (bounded) when
// an approval names a key they do not know — the key may have been published moments ago.
import { registerKeys, type KeyRegistry, emptyKeyRegistry } from '../approval/keys/registry.ts';
import { SigningKeyPublished } from '../contracts/events.ts';
import type { SigningKeyRecord } from '../domain/types.ts';
import type { Messaging } from '../kafka/client.ts';
import type { GroupConsumer, MessagingAdmin } from '../kafka/types.ts';
import type { Logger } from '../observability/log.ts';
import type { EventCodec } from '../serde/codec.ts';

export interface KeyTopicReaderOptions {
  messaging: Messaging;
  admin: MessagingAdmin;
  /** A codec with a reader for `topic` (SigningKeyPublished). */
  codec: EventCodec;
  /** Physical topic name (with TOPIC_PREFIX). */
  topic: string;
  /** A group id unique to this reader (e.g. `${prefix}sentinel-executor-keys-${instanceId}`). */
  groupId: string;
  logger: Logger;
  onRejected?: (record: SigningKeyRecord | null, reason: string) => void;
  onApplied?: (registry: KeyRegistry) => void;
}

export class KeyTopicReader {
  readonly #options: KeyTopicReaderOptions;
  readonly #consumer: GroupConsumer;
  /** Next offset to apply, per partition. */
  readonly #next = new Map<number, bigint>();
  readonly #waiters = new Set<() => void>();
  #registry: KeyRegistry = emptyKeyRegistry();
  #caughtUp = false;
  #running: Promise<void> | null = null;
  #refreshing: Promise<boolean> | null = null;

  constructor(options: KeyTopicReaderOptions) {
    this.#options = options;
    this.#consumer = options.messaging.consumer({ groupId: options.groupId, topics: [options.topic], fromBeginning: true, maxWaitTimeMs: 50 });
  }

  get registry(): KeyRegistry {
    return this.#registry;
  }

  /** True once the reader has applied everything published before its first catch-up check. */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  get groupId(): string {
    return this.#options.groupId;
  }

  /** Starts reading (in the background). */
  start(): void {
    this.#running ??= this.#consumer.run(async (batch) => {
      const records: SigningKeyRecord[] = [];
      for (const message of batch.messages) {
        if (message.value === null) continue; // keys are never deleted; a tombstone changes nothing
        try {
          const decoded = await this.#options.codec.decode<Record<string, unknown>>(message.topic, message.value);
          records.push(SigningKeyPublished.fromAvro(decoded.value).data);
        } catch (error) {
          this.#options.logger.error({ err: error, offset: message.offset }, 'unreadable signing-key record ignored');
          this.#options.onRejected?.(null, (error as Error).message);
        }
      }
      const result = registerKeys(this.#registry, records);
      for (const { record, error } of result.rejected) {
        this.#options.logger.error({ keyId: record.keyId, code: error.code, reason: error.message }, 'signing-key record refused');
        this.#options.onRejected?.(record, error.message);
      }
      this.#registry = result.registry;
      const last = batch.messages[batch.messages.length - 1];
      if (last !== undefined) this.#next.set(batch.partition, BigInt(last.offset) + 1n);
      this.#options.onApplied?.(this.#registry);
      for (const wake of this.#waiters) wake();
    }).catch((error: unknown) => {
      this.#options.logger.error({ err: error }, 'signing-key reader stopped');
    });
  }

  async #highWatermarks(): Promise<Map<number, bigint>> {
    const rows = await this.#options.admin.groupLag(this.#options.groupId, [this.#options.topic]);
    return new Map(rows.map((r) => [r.partition, BigInt(r.high)]));
  }

  #reached(highs: ReadonlyMap<number, bigint>): boolean {
    for (const [partition, high] of highs) {
      if (high > 0n && (this.#next.get(partition) ?? 0n) < high) return false;
    }
    return true;
  }

  /**
   * Waits until everything on the topic now has been applied, or `timeoutMs` passed. Concurrent
   * callers share one check. Resolves true when caught up.
   */
  catchUp(timeoutMs: number): Promise<boolean> {
    this.#refreshing ??= (async () => {
      const highs = await this.#highWatermarks();
      const deadline = Date.now() + timeoutMs;
      while (!this.#reached(highs)) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise<void>((resolve) => {
          const wake = () => { clearTimeout(timer); this.#waiters.delete(wake); resolve(); };
          const timer = setTimeout(wake, Math.min(left, 200));
          this.#waiters.add(wake);
        });
      }
      this.#caughtUp = true;
      return true;
    })().finally(() => { this.#refreshing = null; });
    return this.#refreshing;
  }

  /** Start-up: keeps trying until caught up (the broker may be slow to hand out the partitions). */
  async waitCaughtUp(options: { attemptMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      if (options.signal?.aborted) throw new Error('stopped before the key registry caught up');
      try {
        if (await this.catchUp(options.attemptMs ?? 5000)) return;
        this.#options.logger.warn({ group: this.#options.groupId }, 'key registry not caught up yet; still reading');
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'cannot read the key topic\'s offsets yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Leaves the group, then deletes it (it holds no offsets; nothing is lost), when the admin can. */
  async stop(): Promise<void> {
    await this.#consumer.stop();
    await this.#running;
    for (const wake of this.#waiters) wake();
    try {
      await this.#options.admin.deleteGroups?.([this.#options.groupId]);
    } catch (error) {
      this.#options.logger.warn({ err: error, group: this.#options.groupId }, 'could not delete the key reader\'s consumer group');
    }
  }
}
