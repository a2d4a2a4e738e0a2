// Watches pipeline topics for a whole test: one read_committed consumer from the beginning that
// decodes every record, so a test can wait for what it expects and then check what else arrived.
import type { TestContext } from 'node:test';
import {
  ApprovalSigned, ChannelReplyRequested, ExecutionRecorded, SigningKeyPublished, type EventDefinition, type EventRecord,
} from '../../src/contracts/events.ts';
import type { ChannelReply, ExecutionResult, SignedApprovalEvent, SigningKeyRecord } from '../../src/domain/types.ts';
import type { IncomingMessage } from '../../src/kafka/types.ts';
import type { EventCodec } from '../../src/serde/codec.ts';
import { uniqueName, type TestBus } from './kafka.ts';
import { waitFor } from './wait.ts';

export interface Seen<T> { record: IncomingMessage; metadata: EventRecord<T>['metadata']; data: T }

export class TopicWatcher {
  readonly approvals: Array<Seen<SignedApprovalEvent>> = [];
  readonly replies: Array<Seen<ChannelReply>> = [];
  readonly executions: Array<Seen<ExecutionResult>> = [];
  readonly keys: Array<Seen<SigningKeyRecord>> = [];

  static async start(t: TestContext, bus: TestBus, codec: EventCodec, only?: ReadonlyArray<'approvals' | 'replies' | 'executions' | 'keys'>): Promise<TopicWatcher> {
    const watcher = new TopicWatcher();
    const all: Array<['approvals' | 'replies' | 'executions' | 'keys', EventDefinition<any>, Array<Seen<any>>]> = [
      ['approvals', ApprovalSigned, watcher.approvals],
      ['replies', ChannelReplyRequested, watcher.replies],
      ['executions', ExecutionRecorded, watcher.executions],
      ['keys', SigningKeyPublished, watcher.keys],
    ];
    const lists = new Map<string, { definition: EventDefinition<any>; list: Array<Seen<any>> }>(
      all.filter(([name]) => only === undefined || only.includes(name)).map(([, definition, list]) => [bus.topicName(definition.topic), { definition, list }]),
    );
    const consumer = bus.consumer({ groupId: uniqueName('watch'), topics: [...lists.keys()], fromBeginning: true, readCommitted: true });
    void consumer.run(async (batch) => {
      const target = lists.get(batch.topic)!;
      for (const record of batch.messages) {
        const decoded = await codec.decode<Record<string, unknown>>(record.topic, record.value!);
        const { metadata, data } = target.definition.fromAvro(decoded.value);
        target.list.push({ record, metadata, data });
      }
    });
    await consumer.joined();
    t.after(() => consumer.stop());
    return watcher;
  }

  async until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<Exclude<T, undefined | false>> {
    return waitFor(probe, { timeoutMs, what, intervalMs: 25 });
  }

  repliesFor(decisionOrIntent: string): ChannelReply[] {
    return this.replies.map((r) => r.data).filter((r) => r.intentId === decisionOrIntent || r.prompt?.decisionId === decisionOrIntent);
  }
}
