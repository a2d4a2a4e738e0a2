// Coalesces sends issued in the same turn of the event loop into one produce request, with one
// request in flight at a time: concurrent HTTP requests or handlers share a round trip to the
// broker, and an idempotent producer's sequence numbers stay in order.
import type { MessageProducer, OutgoingMessage } from './types.ts';
import { chunkBySize, MAX_REQUEST_BYTES } from './limits.ts';

interface Pending { messages: OutgoingMessage[]; resolve: () => void; reject: (error: unknown) => void }

export class BatchingProducer implements MessageProducer {
  private readonly sendBatch: (messages: OutgoingMessage[]) => Promise<void>;
  private readonly closeClient: () => Promise<void>;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private flushing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(sendBatch: (messages: OutgoingMessage[]) => Promise<void>, closeClient: () => Promise<void>, maxBatch = 2000) {
    this.sendBatch = sendBatch;
    this.closeClient = closeClient;
    this.maxBatch = maxBatch;
  }

  send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.idle = new Promise((r) => { this.markIdle = r; });
        setImmediate(() => { void this.flush(); });
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (this.queue.length > 0 && (batch.length === 0 || count + this.queue[0]!.messages.length <= this.maxBatch)) {
        const next = this.queue.shift()!;
        batch.push(next);
        count += next.messages.length;
      }
      const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((p) => p.messages);
      try {
        for (const chunk of chunkBySize(messages, MAX_REQUEST_BYTES)) await this.sendBatch(chunk);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.flushing = false;
    this.markIdle();
  }

  async close(): Promise<void> {
    await this.idle;
    await this.closeClient();
  }
}
