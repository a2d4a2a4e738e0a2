// Bounded batches for the signer and executor consumers. The messaging core hands the runner every
// record buffered for a partition at once (thousands under load) and writes a batch's outputs in
// one produce request per partition; past the broker's message.max.bytes (1 MiB by default) that
// request is refused (MESSAGE_TOO_LARGE) and the batch would be retried forever. Splitting each
// partition batch into slices of at most `maxMessages` records keeps every transaction's outputs
// well under the limit: each slice is processed, written and committed (outputs and offsets in one
// transaction) before the next, in offset order, so the delivery guarantees are unchanged.
import type { GroupConsumer, PartitionBatch } from '../../src/kafka/types.ts';

export const DEFAULT_MAX_BATCH_MESSAGES = 250;

export function boundedBatches(consumer: GroupConsumer, maxMessages = DEFAULT_MAX_BATCH_MESSAGES): GroupConsumer {
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RangeError('maxMessages must be a positive integer');
  return {
    run: (onBatch) => consumer.run(async (batch: PartitionBatch) => {
      for (let i = 0; i < batch.messages.length; i += maxMessages) {
        if (!batch.isRunning()) return;
        await onBatch({ ...batch, messages: batch.messages.slice(i, i + maxMessages) });
      }
    }),
    // Slices of several partitions travel together (one transaction) while their records add up
    // to at most maxMessages; two slices of one partition never share a group, so each partition
    // is still committed in offset order.
    runGrouped: consumer.runGrouped ? (onBatches) => consumer.runGrouped!(async (batches: PartitionBatch[]) => {
      let group: PartitionBatch[] = [];
      let size = 0;
      for (const batch of batches) {
        for (let i = 0; i < batch.messages.length; i += maxMessages) {
          const slice = { ...batch, messages: batch.messages.slice(i, i + maxMessages) };
          const samePartition = group.some((g) => g.topic === slice.topic && g.partition === slice.partition);
          if (group.length > 0 && (samePartition || size + slice.messages.length > maxMessages)) {
            await onBatches(group);
            group = [];
            size = 0;
          }
          group.push(slice);
          size += slice.messages.length;
        }
      }
      if (group.length > 0) await onBatches(group);
    }) : undefined,
    commit: (offsets) => consumer.commit(offsets),
    stop: () => consumer.stop(),
    assignment: () => consumer.assignment(),
    joined: () => consumer.joined(),
  };
}
