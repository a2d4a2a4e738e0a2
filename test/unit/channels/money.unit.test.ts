// Amount parsing and formatting: exact minor units, no floating point between text and integer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { findMoney, formatMoney, hasDecimalComma, toMinorUnits } from '../../../src/domain/money.ts';

test('findMoney reads symbols, codes, words and bare numbers', () => {
  const table: Array<[string, { number: string; multiplier: number; currency: string | null } | null]> = [
    ['$5000 to Alice', { number: '5000', multiplier: 1, currency: 'USD' }],
    ['250 EUR to Bob', { number: '250', multiplier: 1, currency: 'EUR' }],
    ['USD 250 to x', { number: '250', multiplier: 1, currency: 'USD' }],
    ['5,000 dollars', { number: '5000', multiplier: 1, currency: 'USD' }],
    ['1.5k to bob', { number: '1.5', multiplier: 1000, currency: null }],
    ['alice 12.50', { number: '12.50', multiplier: 1, currency: null }],
    ['£20', { number: '20', multiplier: 1, currency: 'GBP' }],
    ['12.50 for lunch', { number: '12.50', multiplier: 1, currency: null }],
    ['money to Alice', null],
    ['+15551234567', null],
    ['web-2', null],
    ['bob2@example.com', null],
    ['€12,50', null],
  ];
  for (const [text, expected] of table) {
    const m = findMoney(text);
    assert.deepEqual(m === null ? null : { number: m.number, multiplier: m.multiplier, currency: m.currency }, expected, text);
  }
  assert.deepEqual(findMoney('pay web-2 50'), { index: 10, length: 2, number: '50', multiplier: 1, currency: null });
  assert.equal(findMoney('12.50 for lunch')?.length, 5, 'a following word that is not a currency is not part of the amount');
});

test('toMinorUnits is exact and refuses what it cannot represent', () => {
  assert.deepEqual(toMinorUnits('12.50', 1, 'USD'), { ok: true, amountMinor: 1250 });
  assert.deepEqual(toMinorUnits('0.1', 1, 'USD'), { ok: true, amountMinor: 10 });
  assert.deepEqual(toMinorUnits('1.5', 1000, 'EUR'), { ok: true, amountMinor: 150000 });
  assert.deepEqual(toMinorUnits('100', 1, 'JPY'), { ok: true, amountMinor: 100 });
  assert.deepEqual(toMinorUnits('1.234', 1, 'KWD'), { ok: true, amountMinor: 1234 });
  assert.equal(toMinorUnits('12.505', 1, 'USD').ok, false);
  assert.equal(toMinorUnits('0.5', 1, 'JPY').ok, false);
  assert.equal(toMinorUnits('0', 1, 'USD').ok, false);
  assert.equal(toMinorUnits('99999999999999999', 1, 'USD').ok, false);
  assert.equal(toMinorUnits('1', 1, 'XXX').ok, false);
});

test('formatMoney groups thousands and uses the currency exponent', () => {
  assert.equal(formatMoney(500000, 'USD'), '5,000.00 USD');
  assert.equal(formatMoney(5, 'EUR'), '0.05 EUR');
  assert.equal(formatMoney(1200, 'JPY'), '1,200 JPY');
  assert.equal(formatMoney(1234567, 'KWD'), '1,234.567 KWD');
});

test('a decimal comma is recognised so the user can be asked to rewrite it', () => {
  assert.equal(hasDecimalComma('€12,50'), true);
  assert.equal(hasDecimalComma('5,000'), false);
  assert.equal(hasDecimalComma('1,234,567.89'), false);
});

test('property: formatting then parsing gives back the same minor units', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom('USD', 'JPY', 'KWD'), (minor, currency) => {
      const text = formatMoney(minor, currency);
      const m = findMoney(text);
      assert.ok(m, text);
      assert.equal(m.currency, currency);
      assert.deepEqual(toMinorUnits(m.number, m.multiplier, currency), { ok: true, amountMinor: minor });
    }),
    { numRuns: 1000 },
  );
});
