// Session state in Redis, shared by every replica: the clarifying question a conversation is
// waiting on, which replica holds each web chat identity's sockets (presence), and the pub/sub
// channels through which a replica that consumed a reply hands a web chat delivery to the replica
// holding the socket.
import type { Redis } from 'ioredis';
import type { PendingClarification } from '../../src/channels/extract/types.ts';
import type { ApprovalPrompt, ChannelName } from '../../src/domain/types.ts';
import { asRedisError } from '../../src/db/redis.ts';
import type { Logger } from '../../src/observability/log.ts';

/** A web chat delivery handed from one replica to another. */
export type WebFrameMessage =
  | { op: 'text'; webUserId: string; replyId: string; text: string }
  | { op: 'prompt'; webUserId: string; prompt: ApprovalPrompt }
  | { op: 'update'; webUserIds: string[]; prompt: ApprovalPrompt };

export interface SessionsOptions {
  redis: Redis;
  /** REDIS_KEY_PREFIX + "channels:" */
  prefix: string;
  instanceId: string;
  /** How long a clarifying question waits for its answer. */
  clarificationTtlSeconds?: number;
  /** How long a replica's presence entry lives without a refresh. */
  presenceTtlSeconds?: number;
}

async function redisCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asRedisError(error);
  }
}

export class ChannelSessions {
  readonly instanceId: string;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly clarificationTtl: number;
  readonly presenceTtl: number;

  constructor(options: SessionsOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.instanceId = options.instanceId;
    this.clarificationTtl = options.clarificationTtlSeconds ?? 900;
    this.presenceTtl = options.presenceTtlSeconds ?? 90;
  }

  private clarifyKey(channel: ChannelName, conversationId: string, userId: string): string {
    return `${this.prefix}clarify:${channel}:${conversationId}:${userId}`;
  }

  private presenceKey(webUserId: string): string {
    return `${this.prefix}presence:web:${webUserId}`;
  }

  /** Channel name of one replica's web chat inbox, and the one every replica listens to. */
  inbox(instanceId: string): string {
    return `${this.prefix}webchat:instance:${instanceId}`;
  }

  get broadcastChannel(): string {
    return `${this.prefix}webchat:all`;
  }

  // ------------------------------------------------------------------------------------------
  // Clarifications (per conversation and sender: in a group chat each person has their own)

  async pending(channel: ChannelName, conversationId: string, userId: string): Promise<PendingClarification | null> {
    const raw = await redisCall(() => this.redis.get(this.clarifyKey(channel, conversationId, userId)));
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as PendingClarification;
    } catch {
      return null;
    }
  }

  async setPending(channel: ChannelName, conversationId: string, userId: string, pending: PendingClarification | null): Promise<void> {
    const key = this.clarifyKey(channel, conversationId, userId);
    if (pending === null) await redisCall(() => this.redis.del(key));
    else await redisCall(() => this.redis.set(key, JSON.stringify(pending), 'EX', this.clarificationTtl));
  }

  // ------------------------------------------------------------------------------------------
  // Presence: hash per web identity, field = replica, value = its open sessions

  async join(webUserId: string, sessions: number): Promise<void> {
    const key = this.presenceKey(webUserId);
    await redisCall(() => this.redis.multi().hset(key, this.instanceId, String(sessions)).expire(key, this.presenceTtl).exec());
  }

  async leave(webUserId: string): Promise<void> {
    await redisCall(() => this.redis.hdel(this.presenceKey(webUserId), this.instanceId));
  }

  /** Refreshes this replica's presence for every identity it holds sockets for. */
  async refresh(held: ReadonlyMap<string, number>): Promise<void> {
    if (held.size === 0) return;
    const multi = this.redis.multi();
    for (const [webUserId, count] of held) {
      const key = this.presenceKey(webUserId);
      multi.hset(key, this.instanceId, String(count)).expire(key, this.presenceTtl);
    }
    await redisCall(() => multi.exec());
  }

  /** Replicas holding sockets of this web identity. */
  async holders(webUserId: string): Promise<string[]> {
    return redisCall(() => this.redis.hkeys(this.presenceKey(webUserId)));
  }

  async publish(channel: string, message: WebFrameMessage): Promise<void> {
    await redisCall(() => this.redis.publish(channel, JSON.stringify(message)));
  }
}

/**
 * The subscriber side: a dedicated connection listening to this replica's inbox and the
 * broadcast channel (ioredis re-subscribes after a reconnect).
 */
export async function subscribeWebFrames(
  redis: Redis, sessions: ChannelSessions, log: Logger, onMessage: (message: WebFrameMessage) => Promise<void>,
): Promise<{ close(): Promise<void> }> {
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
  subscriber.on('error', () => {});
  subscriber.on('message', (_channel: string, raw: string) => {
    let message: WebFrameMessage;
    try {
      message = JSON.parse(raw) as WebFrameMessage;
    } catch {
      log.warn('webchat fan-out: unreadable message ignored');
      return;
    }
    void onMessage(message).catch((error: unknown) => log.error({ err: error, op: message.op }, 'webchat fan-out: delivery failed'));
  });
  await subscriber.subscribe(sessions.inbox(sessions.instanceId), sessions.broadcastChannel);
  return {
    async close() {
      subscriber.disconnect();
    },
  };
}
