// Rate limits shared by every replica through Redis: a fixed one-minute window per key (one
// atomic Lua call: INCR, and PEXPIRE on the first hit). If Redis is unreachable, each replica
// falls back to its own in-memory window (fail open for ordinary traffic, still bounded per
// replica) and /ready reports Redis down.
import type { Redis } from 'ioredis';

export interface RateLimitDecision { allowed: boolean; limit: number; remaining: number; resetSeconds: number }

export interface RateLimiter {
  consume(key: string): Promise<RateLimitDecision>;
}

const SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {count, ttl}`;

export class MemoryRateLimiter implements RateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly clock: () => number;
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  constructor(limit: number, windowMs = 60_000, clock: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.clock = clock;
  }

  async consume(key: string): Promise<RateLimitDecision> {
    const now = this.clock();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) for (const [k, v] of this.windows) if (v.resetAt <= now) this.windows.delete(k);
    }
    w.count++;
    return { allowed: w.count <= this.limit, limit: this.limit, remaining: Math.max(0, this.limit - w.count), resetSeconds: Math.ceil((w.resetAt - now) / 1000) };
  }
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly prefix: string;
  private readonly fallback: MemoryRateLimiter;
  constructor(redis: Redis, limit: number, options: { windowMs?: number; prefix?: string } = {}) {
    this.redis = redis;
    this.limit = limit;
    this.windowMs = options.windowMs ?? 60_000;
    this.prefix = options.prefix ?? 'sentinel:ratelimit:';
    this.fallback = new MemoryRateLimiter(limit, this.windowMs);
  }

  async consume(key: string): Promise<RateLimitDecision> {
    if (this.redis.status !== 'ready') return this.fallback.consume(key);
    try {
      const [count, ttl] = (await this.redis.eval(SCRIPT, 1, `${this.prefix}${key}`, String(this.windowMs))) as [number, number];
      return { allowed: count <= this.limit, limit: this.limit, remaining: Math.max(0, this.limit - count), resetSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch {
      return this.fallback.consume(key);
    }
  }
}
