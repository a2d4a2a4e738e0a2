// Redis adapter of CounterStore: the hot counters of the policy memory.
//   <prefix>:{<user>}:day:<YYYYMMDD>   hash  <CUR>:minor, <CUR>:count   transfers committed that UTC day
//   <prefix>:{<user>}:actions          zset  decision id → decidedAt     velocity windows (trimmed to 1 h)
//   <prefix>:{<user>}:denials          zset  decision id → decidedAt     denials (trimmed to 24 h)
//   <prefix>:{<user>}:decided:<id>     string                            "already counted" marker
// One Lua script records a decision atomically: it sets the marker with NX and updates the counters
// only if the marker was new, so replicas sharing the load count each decision exactly once and a
// redelivery counts nothing. The {user} hash tag keeps a user's keys in one Redis Cluster slot.
import type { Redis } from 'ioredis';
import type { Decision, EpochMillis, Intent } from '../../domain/types.ts';
import { commitsAction, utcDay } from '../context.ts';
import { asRedisError } from '../../db/redis.ts';
import type { CounterFacts, CounterStore } from './types.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const RECORD_LUA = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[4] .. ':minor', ARGV[5])
  redis.call('HINCRBY', KEYS[2], ARGV[4] .. ':count', 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[9])
if ARGV[10] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[8])
  redis.call('PEXPIRE', KEYS[4], ARGV[9])
end
return 1`;

const COMMAND = 'sentinelPolicyRecordDecision';

type RecordCommand = Record<typeof COMMAND, (...args: Array<string | number>) => unknown>;

export interface RedisCounterStoreOptions {
  /** Prefix of every key, e.g. "sentinel:policy" (tests use a random one). */
  keyPrefix?: string;
  /** How long a decision id stays remembered as counted. Default 7 days. */
  markerTtlMs?: number;
}

export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly markerTtlMs: number;

  constructor(redis: Redis, options: RedisCounterStoreOptions = {}) {
    this.redis = redis;
    this.prefix = options.keyPrefix ?? 'sentinel:policy';
    this.markerTtlMs = options.markerTtlMs ?? 7 * DAY_MS;
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 4, lua: RECORD_LUA });
  }

  private userKey(userId: string): string {
    // encodeURIComponent keeps "{" and "}" of odd user ids out of the hash tag (and needs well-formed text).
    return `${this.prefix}:{${encodeURIComponent(userId.toWellFormed())}}`;
  }

  async loadMany(intents: readonly Intent[], now: EpochMillis): Promise<CounterFacts[]> {
    if (intents.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const day = utcDay(now);
    for (const intent of intents) {
      const user = this.userKey(intent.requester.userId);
      const currency = intent.action.type === 'transfer' ? intent.action.currency : '';
      pipeline.hmget(`${user}:day:${day}`, `${currency}:minor`, `${currency}:count`);
      pipeline.zcount(`${user}:actions`, `(${now - 10 * MINUTE_MS}`, '+inf');
      pipeline.zcount(`${user}:actions`, `(${now - HOUR_MS}`, '+inf');
      pipeline.zcount(`${user}:denials`, `(${now - DAY_MS}`, '+inf');
    }
    const replies = await this.exec(pipeline);
    return intents.map((intent, i) => {
      const [minor, count] = replies[i * 4] as [string | null, string | null];
      const isTransfer = intent.action.type === 'transfer';
      return {
        transferredTodayMinor: isTransfer ? Number(minor ?? 0) : 0,
        transfersToday: isTransfer ? Number(count ?? 0) : 0,
        actionsLast10Min: replies[i * 4 + 1] as number,
        actionsLastHour: replies[i * 4 + 2] as number,
        denialsLast24h: replies[i * 4 + 3] as number,
      };
    });
  }

  async record(decisions: readonly Decision[]): Promise<number> {
    if (decisions.length === 0) return 0;
    const pipeline = this.redis.pipeline() as unknown as RecordCommand & ReturnType<Redis['pipeline']>;
    for (const d of decisions) {
      const user = this.userKey(d.requester.userId);
      const countsTransfer = d.action.type === 'transfer' && commitsAction(d);
      pipeline[COMMAND](
        `${user}:decided:${d.decisionId}`, `${user}:day:${utcDay(d.decidedAt)}`, `${user}:actions`, `${user}:denials`,
        d.decisionId,
        d.decidedAt,
        this.markerTtlMs,
        countsTransfer && d.action.type === 'transfer' ? d.action.currency : '',
        countsTransfer && d.action.type === 'transfer' ? d.action.amountMinor : 0,
        2 * DAY_MS,
        d.decidedAt - HOUR_MS,
        d.decidedAt - DAY_MS,
        DAY_MS + HOUR_MS,
        d.outcome === 'deny' ? '1' : '0',
      );
    }
    const replies = await this.exec(pipeline);
    return replies.reduce<number>((sum, reply) => sum + Number(reply), 0);
  }

  private async exec(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw asRedisError(error);
    }
    if (results === null) throw asRedisError(new Error('Connection is closed (pipeline discarded)'));
    return results.map(([error, reply]) => {
      if (error !== null) throw asRedisError(error);
      return reply;
    });
  }
}
