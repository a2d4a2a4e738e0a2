// Aureus OS HTTP API (:5000): synchronous risk assessment and policy checks with the same pure
// decide() and the same context as the consumer (a dry run: nothing is recorded or emitted),
// per-user context, and the decision log.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { validateActionSchema, fieldProblems, validationError } from '../../src/channels/schemas.ts';
import { CHANNEL_NAMES, type Action, type Intent } from '../../src/domain/types.ts';
import { SentinelError } from '../../src/errors/index.ts';
import { decide, deriveDecisionId, type CompiledRuleSet, type ContextStore, type HistoryStore } from '../../src/policy/index.ts';
import { CoalescingContextLoader } from '../../src/policy/store/coalescing.ts';
import type { ContextNotes } from './notes.ts';

const principal = {
  type: 'object', additionalProperties: false, required: ['userId'],
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 128 },
    channel: { enum: [...CHANNEL_NAMES] },
    channelUserId: { type: 'string', minLength: 1, maxLength: 128 },
    displayName: { type: 'string', maxLength: 128 },
  },
} as const;

const assessBody = {
  type: 'object', additionalProperties: false, required: ['requester', 'action'],
  properties: {
    intentId: { type: 'string', minLength: 1, maxLength: 128 },
    requester: principal,
    conversation: {
      type: 'object', additionalProperties: false, required: ['channel', 'conversationId'],
      properties: { channel: { enum: [...CHANNEL_NAMES] }, conversationId: { type: 'string', minLength: 1, maxLength: 256 } },
    },
    text: { type: 'string', maxLength: 4000 },
    source: { enum: ['chat', 'agent'] },
    action: { type: 'object' },
  },
} as const;

const contextBody = {
  type: 'object', additionalProperties: false, required: ['userId'],
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 128 },
    conversationId: { type: 'string', minLength: 1, maxLength: 256 },
    remember: {
      type: 'object', additionalProperties: false, required: ['text'],
      properties: { text: { type: 'string', minLength: 1, maxLength: 2000 }, tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 64 } } },
    },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
  },
} as const;

interface AssessBody {
  intentId?: string;
  requester: { userId: string; channel?: Intent['requester']['channel']; channelUserId?: string; displayName?: string };
  conversation?: Intent['conversation'];
  text?: string;
  source?: Intent['source'];
  action: unknown;
}

export function intentFromRequest(body: AssessBody, now: number): Intent {
  if (!validateActionSchema(body.action)) throw validationError('invalid action', fieldProblems(validateActionSchema.errors, '/action'));
  const channel = body.requester.channel ?? body.conversation?.channel ?? 'http';
  return {
    intentId: body.intentId ?? randomUUID(),
    conversation: body.conversation ?? { channel, conversationId: `api:${body.requester.userId}` },
    requester: { userId: body.requester.userId, channel, channelUserId: body.requester.channelUserId ?? body.requester.userId, displayName: body.requester.displayName ?? null },
    source: body.source ?? 'agent',
    text: body.text ?? null,
    action: body.action as Action,
    extraction: { extractor: 'api', confidence: 1 },
    submittedAt: now,
  };
}

export interface PolicyApiDependencies {
  ruleSet: () => CompiledRuleSet;
  store: ContextStore;
  history: HistoryStore;
  notes: ContextNotes;
  clock: () => number;
}

export function registerPolicyRoutes(app: FastifyInstance, deps: PolicyApiDependencies): void {
  // Requests arriving together share one context load (one PostgreSQL query, one Redis round trip).
  const contexts = new CoalescingContextLoader(deps.store, deps.clock);
  const evaluate = async (body: AssessBody) => {
    const intent = intentFromRequest(body, deps.clock());
    const { loaded, now } = await contexts.load(intent);
    return decide(intent, loaded.context, deps.ruleSet(), { now, decisionId: deriveDecisionId(intent.intentId) });
  };

  app.post('/api/assess-risk', { config: { auth: 'api-key' }, schema: { body: assessBody } }, async (request) => {
    const decision = await evaluate(request.body as AssessBody);
    return {
      intentId: decision.intentId,
      risk: decision.risk,
      requiresApproval: decision.outcome === 'require_human',
      outcome: decision.outcome,
      reason: decision.reason,
      policyVersion: decision.policyVersion,
      policyDigest: decision.policyDigest,
      traceId: request.trace.traceId,
    };
  });

  app.post('/api/check-policy', { config: { auth: 'api-key' }, schema: { body: assessBody } }, async (request) => {
    const decision = await evaluate(request.body as AssessBody);
    return { decision, traceId: request.trace.traceId };
  });

  app.post('/api/context', { config: { auth: 'api-key' }, schema: { body: contextBody } }, async (request) => {
    const body = request.body as { userId: string; conversationId?: string; remember?: { text: string; tags?: string[] }; limit?: number };
    if (body.remember) await deps.notes.add({ userId: body.userId, conversationId: body.conversationId ?? null, text: body.remember.text, tags: body.remember.tags ?? [], at: deps.clock() });
    const [notes, decisions] = await Promise.all([
      deps.notes.list(body.userId, body.conversationId ?? null, body.limit ?? 20),
      deps.history.findByUser(body.userId, { limit: body.limit ?? 20 }),
    ]);
    return { userId: body.userId, conversationId: body.conversationId ?? null, notes, recentDecisions: decisions, traceId: request.trace.traceId };
  });

  app.get('/api/decisions', {
    config: { auth: 'api-key' },
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          intentId: { type: 'string', maxLength: 128 }, userId: { type: 'string', maxLength: 128 }, ruleId: { type: 'string', maxLength: 128 },
          since: { type: 'string', pattern: '^[0-9]{1,15}$' }, before: { type: 'string', pattern: '^[0-9]{1,15}$' }, limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
        },
      },
    },
  }, async (request) => {
    const q = request.query as { intentId?: string; userId?: string; ruleId?: string; since?: string; before?: string; limit?: string };
    const query = { limit: q.limit ? Math.min(500, Number(q.limit)) : 50, ...(q.since ? { since: Number(q.since) } : {}), ...(q.before ? { before: Number(q.before) } : {}) };
    if (q.intentId) return { decisions: await deps.history.findByIntent(q.intentId) };
    if (q.userId) return { decisions: await deps.history.findByUser(q.userId, query) };
    if (q.ruleId) return { decisions: await deps.history.findByRule(q.ruleId, query) };
    throw new SentinelError('SNT_VALIDATION_FAILED', 'give one of intentId, userId or ruleId', { details: { paths: ['querystring'] } });
  });

  app.get('/api/policy', { config: { auth: 'api-key' } }, async () => {
    const ruleSet = deps.ruleSet();
    return { version: ruleSet.version, digest: ruleSet.digest, rules: ruleSet.document.rules.map((r) => ({ id: r.id, description: r.description, effect: r.effect })) };
  });
}
