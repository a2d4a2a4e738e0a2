// Agents over HTTP, end to end: POST /api/message answers at once (202 with the intent and trace
// ids), the outcome arrives later on the conversation, read with GET /api/conversations/:id/messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiHeaders, WebChatClient } from '../support/channels-service.ts';
import { E2E_API_KEY, executions, startPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

interface History { messages: Array<{ direction: string; kind: string; text: string; intentId: string | null }> }

test('HTTP API: an agent\'s tool calls are governed like chat; a high-risk one waits for an approver on web chat; outcomes are read from the conversation', async (t) => {
  const p = await startPipeline(t);
  const agent = `${p.people.alice.userId}-agent`; // linked to alice on the http channel
  const post = async (body: unknown) => {
    const response = await fetch(`${p.channels.url}/api/message`, { method: 'POST', headers: apiHeaders(E2E_API_KEY), body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { intentId: string; traceId: string; links: { messages: string } } };
  };
  const outcome = (intentId: string, prefix: string) => waitFor(async () => {
    const history = (await (await fetch(`${p.channels.url}${low.body.links.messages}`, { headers: apiHeaders(E2E_API_KEY) })).json()) as History;
    return history.messages.find((m) => m.intentId === intentId && m.direction === 'out' && m.text.startsWith(prefix));
  }, { timeoutMs: 30_000, what: `"${prefix}" for ${intentId}` });

  const low = await post({ userId: agent, toolCall: { tool: 'command_run', arguments: { host: 'build-01', command: 'uptime' } } });
  assert.equal(low.status, 202);
  assert.match(low.body.traceId, /^[0-9a-f]{32}$/);
  assert.match((await outcome(low.body.intentId, 'Done: run `uptime` on build-01')).text, /dry run/);

  const carol = await WebChatClient.connect(t, p.channels.wsUrl, p.people.carol.web);
  const high = await post({ userId: agent, toolCall: { tool: 'transfer', arguments: { amountMinor: 420_000, currency: 'EUR', payee: 'Dana' } } });
  assert.equal(high.status, 202);
  await outcome(high.body.intentId, 'Waiting for approval');
  const prompt = await carol.next('prompt', (f) => f.prompt.intentId === high.body.intentId);
  carol.send({ type: 'answer', id: 'a1', decisionId: prompt.prompt.decisionId, verdict: 'approve' });
  await outcome(high.body.intentId, 'Done: transfer 4,200.00 EUR to Dana');
  const ran = await executions(p, 2, 1000);
  assert.deepEqual(ran.map((e) => [e.intentId, e.status]).sort(), [[high.body.intentId, 'executed'], [low.body.intentId, 'executed']].sort());
});
