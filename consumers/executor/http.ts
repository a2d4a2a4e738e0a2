// Executor HTTP API (:7000): /health, /ready (including "key registry caught up"), /metrics from
// the kit, and the execution log: GET /api/executions?intentId= (API key).
import type { FastifyInstance } from 'fastify';
import type { ExecutorStore } from './store.ts';

export function registerExecutorRoutes(app: FastifyInstance, deps: { store: ExecutorStore }): void {
  app.get('/api/executions', {
    config: { auth: 'api-key' },
    schema: {
      querystring: {
        type: 'object', additionalProperties: false, required: ['intentId'],
        properties: { intentId: { type: 'string', minLength: 1, maxLength: 200 } },
      },
    },
  }, async (request) => {
    const { intentId } = request.query as { intentId: string };
    return { intentId, executions: await deps.store.resultsForIntent(intentId), traceId: request.trace.traceId };
  });
}
