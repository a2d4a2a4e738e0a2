// canonicalize() against a naive reference (sorted keys + JSON.stringify) on generated JSON, and
// its refusals with the JSON Pointer of the offending member.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CanonicalizationError, canonicalize } from '../../../src/canonical/jcs.ts';

function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

test('canonicalize agrees with sorted-keys JSON.stringify on any JSON value without lone surrogates', () => {
  const json = fc.jsonValue({ noUnicodeString: false }).filter((v) => !/[\uD800-\uDFFF]/.test(JSON.stringify(v)) || reference(v) === JSON.stringify(JSON.parse(reference(v))));
  fc.assert(fc.property(json, (value) => {
    let expected: string;
    try { expected = reference(value); } catch { return true; }
    let actual: string;
    try { actual = canonicalize(value); } catch (error) { return error instanceof CanonicalizationError; }
    return actual === expected && JSON.stringify(JSON.parse(actual)) === JSON.stringify(JSON.parse(expected));
  }), { numRuns: 3000 });
});

test('strings needing escapes and keys in UTF-16 order are handled as RFC 8785 says', () => {
  assert.equal(canonicalize({ b: 'quote " backslash \\ nl \n', a: '\u0001', é: 1, '\u20ac': 2, '\ud83d\ude00': 3 }),
    '{"a":"\\u0001","b":"quote \\" backslash \\\\ nl \\n","é":1,"€":2,"😀":3}');
  assert.equal(canonicalize([-0, 1e-7, 1.5, -0.000001, 1 / 3]), '[0,1e-7,1.5,-0.000001,0.3333333333333333]');
});

test('refusals name the member: lone surrogate, non-finite, unsafe integer, undefined, non-plain object', () => {
  const pathOf = (value: unknown) => { try { canonicalize(value); return 'accepted'; } catch (e) { return (e as CanonicalizationError).path; } };
  assert.equal(pathOf({ a: [1, { 'x/y': '\ud800' }] }), '/a/1/x~1y');
  assert.equal(pathOf({ n: Infinity }), '/n');
  assert.equal(pathOf({ big: 2 ** 60 }), '/big');
  assert.equal(pathOf({ u: undefined }), '');
  assert.equal(pathOf({ d: new Date(0) }), '/d');
  assert.equal(pathOf({ f: () => 1 }), '/f');
});
