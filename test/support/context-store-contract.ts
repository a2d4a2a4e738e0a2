// Behaviour every ContextStore must have: run against the in-memory stores (unit) and against
// PostgreSQL + Redis (integration). Each test uses its own user ids, so stores may be shared.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Action, Decision, EpochMillis, Intent } from '../../src/domain/types.ts';
import { emptyContext } from '../../src/policy/context.ts';
import { decide } from '../../src/policy/decide.ts';
import { deriveDecisionId } from '../../src/policy/ids.ts';
import type { ContextStore } from '../../src/policy/store/types.ts';
import { command, DAY, defaultRuleSet, email, HOUR, intentFor, MINUTE, NOW, transfer } from './policy-fixtures.ts';

function user(): string {
  return `user-${randomUUID()}`;
}

async function decideAndRecord(store: ContextStore, intent: Intent, now: EpochMillis): Promise<Decision> {
  const [loaded] = await store.loadMany([intent], now);
  const decision = decide(intent, loaded!.context, await defaultRuleSet(), { now, decisionId: deriveDecisionId(intent.intentId) });
  await store.record(decision);
  return decision;
}

/** A decision with a chosen outcome, regardless of the rules (to set up a history). */
async function recorded(store: ContextStore, action: Action, userId: string, at: EpochMillis, outcome: Decision['outcome']): Promise<Decision> {
  const intent = intentFor(action, { userId });
  const decision = { ...decide(intent, emptyContext(), await defaultRuleSet(), { now: at, decisionId: deriveDecisionId(intent.intentId) }), outcome };
  await store.record(decision);
  return decision;
}

export function contextStoreContract(name: string, makeStore: () => Promise<ContextStore> | ContextStore): void {
  describe(`ContextStore contract: ${name}`, () => {
    test('a user without history gets the empty context', async () => {
      const store = await makeStore();
      const [loaded] = await store.loadMany([intentFor(transfer(100), { userId: user() })], NOW);
      assert.deepEqual(loaded, { context: emptyContext(), previous: null });
    });

    test('a recorded transfer shows in totals, windows, the payee\'s first use and the user\'s history', async () => {
      const store = await makeStore();
      const u = user();
      const first = await recorded(store, transfer(12_345, 'Bob'), u, NOW - 5 * MINUTE, 'allow');
      const [loaded] = await store.loadMany([intentFor(transfer(1, '  BOB '), { userId: u })], NOW);
      assert.deepEqual(loaded!.context, {
        ...emptyContext(),
        transferredTodayMinor: 12_345,
        transfersToday: 1,
        actionsLast10Min: 1,
        actionsLastHour: 1,
        counterpartyFirstSeenAt: first.decidedAt,
        userFirstSeenAt: first.decidedAt,
        userDecisionsTotal: 1,
      });
    });

    test('recording is idempotent by decision id', async () => {
      const store = await makeStore();
      const u = user();
      const decision = await recorded(store, transfer(500), u, NOW - MINUTE, 'allow');
      assert.deepEqual(await store.record(decision), { history: 0, counters: 0 });
      assert.deepEqual(await store.recordMany([decision, decision]), { history: 0, counters: 0 });
      const [loaded] = await store.loadMany([intentFor(transfer(1), { userId: u })], NOW);
      assert.equal(loaded!.context.transferredTodayMinor, 500);
      assert.equal(loaded!.context.actionsLast10Min, 1);
      assert.equal(loaded!.context.userDecisionsTotal, 1);
    });

    test('a denial counts as a denial, not as money moved, and does not make the payee known', async () => {
      const store = await makeStore();
      const u = user();
      await recorded(store, transfer(9_999, 'Mallory'), u, NOW - 2 * HOUR, 'deny');
      const [loaded] = await store.loadMany([intentFor(transfer(1, 'Mallory'), { userId: u })], NOW);
      assert.equal(loaded!.context.denialsLast24h, 1);
      assert.equal(loaded!.context.transferredTodayMinor, 0);
      assert.equal(loaded!.context.counterpartyFirstSeenAt, null);
      assert.equal(loaded!.context.userDecisionsTotal, 1);
    });

    test('totals are per currency and per UTC day; windows are 10 minutes, 1 hour and 24 hours', async () => {
      const store = await makeStore();
      const u = user();
      await recorded(store, transfer(100, 'A', 'EUR'), u, NOW - 30 * MINUTE, 'allow');
      await recorded(store, transfer(200, 'A', 'USD'), u, NOW - 11 * MINUTE, 'require_human');
      await recorded(store, transfer(400, 'A', 'USD'), u, NOW - DAY, 'allow');
      await recorded(store, email('x@example.com'), u, NOW - 23 * HOUR, 'deny');
      await recorded(store, email('y@example.com'), u, NOW - 25 * HOUR, 'deny');
      await recorded(store, command('ls'), u, NOW - 9 * MINUTE, 'allow');
      const [usd, eur, mail] = await store.loadMany([
        intentFor(transfer(1, 'A', 'USD'), { userId: u }), intentFor(transfer(1, 'A', 'EUR'), { userId: u }), intentFor(email('x@example.com'), { userId: u }),
      ], NOW);
      assert.deepEqual([usd!.context.transferredTodayMinor, usd!.context.transfersToday], [200, 1]);
      assert.deepEqual([eur!.context.transferredTodayMinor, eur!.context.transfersToday], [100, 1]);
      assert.deepEqual([mail!.context.transferredTodayMinor, mail!.context.transfersToday], [0, 0], 'transfer totals only for transfers');
      assert.equal(usd!.context.actionsLast10Min, 1);
      assert.equal(usd!.context.actionsLastHour, 3);
      assert.equal(usd!.context.denialsLast24h, 1);
      assert.equal(mail!.context.counterpartyFirstSeenAt, null, 'a denied recipient is not known');
      assert.equal(usd!.context.userDecisionsTotal, 6);
      assert.equal(usd!.context.userFirstSeenAt, NOW - 25 * HOUR);
    });

    test('the first use of a counterparty is the earliest committed decision, whatever the order of recording', async () => {
      const store = await makeStore();
      const u = user();
      await recorded(store, email('Carol@Example.com'), u, NOW - HOUR, 'allow');
      await recorded(store, email('carol@example.com'), u, NOW - 3 * HOUR, 'require_human');
      const [loaded] = await store.loadMany([intentFor(email(' carol@example.com'), { userId: u })], NOW);
      assert.equal(loaded!.context.counterpartyFirstSeenAt, NOW - 3 * HOUR);
    });

    test('a redelivered intent gets the decision already recorded for it', async () => {
      const store = await makeStore();
      const intent = intentFor(transfer(700), { userId: user() });
      const decision = await decideAndRecord(store, intent, NOW);
      const [again, other] = await store.loadMany([intent, intentFor(transfer(700), { userId: intent.requester.userId })], NOW + 1000);
      assert.deepEqual(again!.previous, decision);
      assert.equal(other!.previous, null);
    });

    test('a batch is answered in order, for several users at once', async () => {
      const store = await makeStore();
      const [u1, u2] = [user(), user()];
      await recorded(store, transfer(111), u1, NOW - MINUTE, 'allow');
      await recorded(store, transfer(222), u2, NOW - MINUTE, 'allow');
      const loaded = await store.loadMany([u2, u1, u2, user()].map((u) => intentFor(transfer(1), { userId: u })), NOW);
      assert.deepEqual(loaded.map((l) => l.context.transferredTodayMinor), [222, 111, 222, 0]);
    });

    test('semantic memory: an intent resembling one of the user\'s denied intents is recognised', async () => {
      const store = await makeStore();
      const u = user();
      const denied = await recorded(store, command('rm -rf /var/lib/postgresql/data', 'db-01'), u, NOW - HOUR, 'deny');
      await recorded(store, command('df -h', 'db-01'), u, NOW - HOUR, 'allow');
      await recorded(store, command('rm -rf /var/lib/postgresql/data', 'db-01'), user(), NOW - HOUR, 'deny');
      const [similar, different, stranger] = await store.loadMany([
        intentFor(command('rm -rf /var/lib/postgresql/data/', 'db-01'), { userId: u }),
        intentFor(tool('weather.lookup', '{"city":"Oslo"}'), { userId: u }),
        intentFor(command('rm -rf /var/lib/postgresql/data', 'db-01'), { userId: user() }),
      ], NOW);
      assert.ok(similar!.context.nearestDeniedSimilarity >= 0.9, `similarity ${similar!.context.nearestDeniedSimilarity}`);
      assert.equal(similar!.context.nearestDeniedIntentId, denied.intentId);
      assert.ok(different!.context.nearestDeniedSimilarity < 0.5, `similarity ${different!.context.nearestDeniedSimilarity}`);
      assert.deepEqual([stranger!.context.nearestDeniedSimilarity, stranger!.context.nearestDeniedIntentId], [0, null], 'another user\'s denials do not count');
    });

    test('load → decide → record: the daily limit stops the third large transfer of the day', async () => {
      const store = await makeStore();
      const u = user();
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await decideAndRecord(store, intentFor(transfer(2_000_000, 'Supplier'), { userId: u }), NOW + i * MINUTE);
        outcomes.push(`${d.outcome}:${d.firedRules.includes('deny-transfer-over-daily-limit')}`);
      }
      assert.deepEqual(outcomes, ['require_human:false', 'require_human:false', 'deny:true']);
    });

    test('load → decide → record: the payee\'s cooling-off ends 24 hours after its first use', async () => {
      const store = await makeStore();
      const u = user();
      const first = await decideAndRecord(store, intentFor(transfer(2_000, 'Landlord'), { userId: u }), NOW - 25 * HOUR);
      assert.ok(first.firedRules.includes('human-transfer-new-payee-cooling-off'));
      const during = await decideAndRecord(store, intentFor(transfer(2_000, 'landlord'), { userId: u }), NOW - 2 * HOUR);
      assert.equal(during.outcome, 'require_human');
      const after = await decideAndRecord(store, intentFor(transfer(2_000, 'Landlord'), { userId: u }), NOW);
      assert.equal(after.outcome, 'allow');
    });
  });
}

function tool(name: string, argumentsJson: string): Action {
  return { type: 'tool_call', tool: name, argumentsJson };
}
