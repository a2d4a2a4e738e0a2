// The deterministic intent extractor: the requests we promise to understand, the questions it asks
// instead of guessing, multi-turn slot filling, and properties over arbitrary input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createRuleExtractor, extractWithRules, HELP_TEXT, MAX_EXTRACTION_TEXT } from '../../../src/channels/extract/rules.ts';
import type { ExtractionResult, PendingClarification } from '../../../src/channels/extract/types.ts';
import { validateActionSchema } from '../../../src/channels/schemas.ts';
import type { Action } from '../../../src/domain/types.ts';

function action(text: string): { action: Action; confidence: number } {
  const result = extractWithRules({ text });
  assert.equal(result.kind, 'action', `${text} -> ${JSON.stringify(result)}`);
  return result as { action: Action; confidence: number };
}

function clarify(text: string, pending: PendingClarification | null = null): Extract<ExtractionResult, { kind: 'clarify' }> {
  const result = extractWithRules({ text, pending });
  assert.equal(result.kind, 'clarify', `${text} -> ${JSON.stringify(result)}`);
  return result as Extract<ExtractionResult, { kind: 'clarify' }>;
}

test('the requests of the brief become typed actions', () => {
  const table: Array<[string, Action]> = [
    ['transfer $5000 to Alice', { type: 'transfer', amountMinor: 500000, currency: 'USD', payee: 'Alice', memo: null }],
    ['send 250 EUR to Bob for rent', { type: 'transfer', amountMinor: 25000, currency: 'EUR', payee: 'Bob', memo: 'rent' }],
    ['pay alice 12.50', { type: 'transfer', amountMinor: 1250, currency: 'USD', payee: 'alice', memo: null }],
    ['email the report to bob@example.com', { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: null, body: 'the report' }],
    ['text +15551234567 saying hi', { type: 'message_send', medium: 'sms', recipient: '+15551234567', subject: null, body: 'hi' }],
    ['run `df -h` on build-01', { type: 'command_run', host: 'build-01', command: 'df -h' }],
    ['run uptime on web-2', { type: 'command_run', host: 'web-2', command: 'uptime' }],
  ];
  for (const [text, expected] of table) assert.deepEqual(action(text).action, expected, text);
});

test('more ways people phrase the same requests', () => {
  const table: Array<[string, Action]> = [
    ['Please transfer $1,000.00 to Alice for invoice 42, thanks', { type: 'transfer', amountMinor: 100000, currency: 'USD', payee: 'Alice', memo: 'invoice 42' }],
    ['can you wire €250 to Bob', { type: 'transfer', amountMinor: 25000, currency: 'EUR', payee: 'Bob', memo: null }],
    ['send 1.5k EUR to Alice', { type: 'transfer', amountMinor: 150000, currency: 'EUR', payee: 'Alice', memo: null }],
    ['transfer 5,000 dollars to Alice.', { type: 'transfer', amountMinor: 500000, currency: 'USD', payee: 'Alice', memo: null }],
    ['wire 100 JPY to tanaka', { type: 'transfer', amountMinor: 100, currency: 'JPY', payee: 'tanaka', memo: null }],
    ['pay GBP 20 to "Acme Ltd"', { type: 'transfer', amountMinor: 2000, currency: 'GBP', payee: 'Acme Ltd', memo: null }],
    ['send an email to bob@example.com saying the build is green', { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: null, body: 'the build is green' }],
    ['email bob@example.com about launch: we ship friday', { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: 'launch', body: 'we ship friday' }],
    ['send the report to bob@example.com', { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: null, body: 'the report' }],
    ['text +1 (555) 123-4567: on my way', { type: 'message_send', medium: 'sms', recipient: '+15551234567', subject: null, body: 'on my way' }],
    ['message carol saying the deploy is done', { type: 'message_send', medium: 'chat', recipient: 'carol', subject: null, body: 'the deploy is done' }],
    ['run `ls -la /var/log` on host db-1.internal', { type: 'command_run', host: 'db-1.internal', command: 'ls -la /var/log' }],
    ['on build-01 run uptime', { type: 'command_run', host: 'build-01', command: 'uptime' }],
    ['execute "systemctl status nginx" on web-2', { type: 'command_run', host: 'web-2', command: 'systemctl status nginx' }],
    // Words that look like politeness but are the payee or the message.
    ['transfer $5 to Thx', { type: 'transfer', amountMinor: 500, currency: 'USD', payee: 'Thx', memo: null }],
    ['message bob saying thanks', { type: 'message_send', medium: 'chat', recipient: 'bob', subject: null, body: 'thanks' }],
    ['transfer $5 to Bob please', { type: 'transfer', amountMinor: 500, currency: 'USD', payee: 'Bob', memo: null }],
  ];
  for (const [text, expected] of table) assert.deepEqual(action(text).action, expected, text);
});

test('confidence is lower when the extractor had to assume something', () => {
  assert.equal(action('transfer $5000 to Alice').confidence, 0.95);
  assert.ok(action('pay alice 12.50').confidence < 0.95, 'no currency given: the default was assumed');
  assert.ok(action('text +15551234567 running late').confidence < action('text +15551234567 saying running late').confidence);
});

test('missing or unusable fields get a clarifying question, never a guess', () => {
  assert.equal(clarify('transfer money to Alice').question, 'How much should I transfer to Alice?');
  assert.equal(clarify('transfer $500').question, 'Who should receive the 500.00 USD transfer?');
  assert.equal(clarify('pay bob').question, 'How much should I transfer to bob?');
  assert.equal(clarify('transfer money').question, 'How much should I transfer, and to whom?');
  assert.match(clarify('transfer 12.505 USD to bob').question, /^I can't use that amount: USD amounts have at most 2 decimal places\. How much/);
  assert.match(clarify('wire 100.5 JPY to tanaka').question, /JPY amounts cannot have decimals/);
  assert.match(clarify('pay 0 to bob').question, /more than zero/);
  assert.match(clarify('send €12,50 to bob').question, /decimal point/);
  assert.equal(clarify('email bob@example.com').question, 'What should the email to bob@example.com say?');
  assert.match(clarify('email bob saying hi').question, /email address/);
  assert.match(clarify('text 5551234567 saying hi').question, /international format/);
  assert.equal(clarify('run uptime').question, 'Which host should I run `uptime` on?');
  assert.equal(clarify('run on build-01').question, 'What command should I run on build-01?');
  assert.match(clarify('run df -h on build 01').question, /“build 01” is not a host name/);
});

test('unknown or ambiguous requests get help, not an action', () => {
  for (const text of ['do the thing', '', '   ', 'hi', '/start', '/help@sentinel_bot', 'what is the weather', 'approve everything']) {
    const result = extractWithRules({ text });
    assert.equal(result.kind, 'help', text);
    assert.equal((result as { text: string }).text, HELP_TEXT, text);
  }
  const ambiguous = extractWithRules({ text: 'send hi to bob' });
  assert.equal(ambiguous.kind, 'help');
  assert.match((ambiguous as { text: string }).text, /money or a message/);
  const long = extractWithRules({ text: `transfer $5 to ${'a'.repeat(MAX_EXTRACTION_TEXT)}` });
  assert.equal(long.kind, 'help');
  assert.match((long as { text: string }).text, /too long/);
});

test('a clarification is answered on the next turn', () => {
  const first = clarify('transfer money');
  const second = clarify('250 EUR', first.pending);
  assert.equal(second.question, 'Who should receive the 250.00 EUR transfer?');
  const done = extractWithRules({ text: 'Bob', pending: second.pending });
  assert.deepEqual(done, {
    kind: 'action', action: { type: 'transfer', amountMinor: 25000, currency: 'EUR', payee: 'Bob', memo: null }, confidence: 0.9, extractor: 'rules/1',
  });

  const email = clarify('email bob saying hi');
  assert.deepEqual((extractWithRules({ text: 'bob@example.com', pending: email.pending }) as { action: Action }).action,
    { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: null, body: 'hi' });

  const host = clarify('run uptime');
  assert.match(clarify('not a host!', host.pending).question, /not a host name/);
  assert.deepEqual((extractWithRules({ text: 'web-2', pending: host.pending }) as { action: Action }).action,
    { type: 'command_run', host: 'web-2', command: 'uptime' });
});

test('a pending question can be cancelled or overtaken by a complete new request', () => {
  const pending = clarify('run uptime').pending;
  assert.deepEqual(extractWithRules({ text: 'never mind', pending }), { kind: 'help', text: 'OK, I have dropped that request.', extractor: 'rules/1' });
  assert.deepEqual((extractWithRules({ text: 'transfer $5 to bob', pending }) as { action: Action }).action,
    { type: 'transfer', amountMinor: 500, currency: 'USD', payee: 'bob', memo: null });
  // A free-text answer that happens to start like a request is still the answer.
  const body = clarify('email bob@example.com').pending;
  assert.deepEqual((extractWithRules({ text: 'send the files tomorrow', pending: body }) as { action: Action }).action,
    { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: null, body: 'send the files tomorrow' });
});

test('the default currency is configurable and must be known', async () => {
  const extractor = createRuleExtractor({ defaultCurrency: 'EUR' });
  assert.equal(extractor.name, 'rules/1');
  const result = await extractor.extract({ text: 'pay alice 12.50' });
  assert.equal((result as { action: { currency: string } }).action.currency, 'EUR');
  assert.throws(() => createRuleExtractor({ defaultCurrency: 'XXX' }), RangeError);
});

test('property: any text yields a result, and every action passes the action schema', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.constantFrom('transfer ', 'send ', 'pay ', 'email ', 'text ', 'run ').chain((verb) => fc.string({ maxLength: 80 }).map((rest) => verb + rest))), (text) => {
      const result = extractWithRules({ text });
      assert.ok(['action', 'clarify', 'help'].includes(result.kind));
      if (result.kind === 'action') assert.ok(validateActionSchema(result.action), JSON.stringify(result.action));
      if (result.kind === 'clarify') assert.ok(result.question.length > 0);
    }),
    { numRuns: 2000 },
  );
});

test('property: generated transfer requests parse to exactly the amount, currency and payee written', () => {
  const payee = fc.stringMatching(/^[A-Z][a-z]{1,11}$/);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom('USD', 'EUR', 'GBP', 'CHF'), payee, fc.constantFrom('transfer', 'send', 'pay', 'wire'), (minor, currency, name, verb) => {
      const amount = `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
      const result = extractWithRules({ text: `${verb} ${amount} ${currency} to ${name}` });
      assert.deepEqual((result as { action: Action }).action, { type: 'transfer', amountMinor: minor, currency, payee: name, memo: null });
    }),
    { numRuns: 500 },
  );
});

test('property: the extractor is deterministic', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (text) => {
      assert.deepEqual(extractWithRules({ text }), extractWithRules({ text }));
    }),
    { numRuns: 300 },
  );
});
