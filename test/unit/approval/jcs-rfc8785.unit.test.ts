// RFC 8785 conformance of src/canonical/jcs.ts, from the RFC's own examples (typed in from its text):
// §3.2.2 (the combined example), §3.2.3 (property sorting), §3.2.4 (UTF-8 output) and Appendix B
// (number serialisation). jcs.ts is deliberately stricter than the RFC in one place: it refuses
// integers beyond ±(2^53 - 1) (I-JSON interoperability) instead of serialising them; the rows that
// hit that rule assert the refusal, and a control shows the number formatting itself still matches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CanonicalizationError, canonicalBytes, canonicalize } from '../../../src/canonical/jcs.ts';

function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

/** Appendix B: IEEE-754 bit pattern -> canonical text. */
const APPENDIX_B: Array<[string, string]> = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];
/** Appendix B rows the RFC lists as errors. */
const APPENDIX_B_ERRORS = ['7fffffffffffffff', '7ff0000000000000'];

describe('RFC 8785 Appendix B: number serialisation', () => {
  for (const [bits, expected] of APPENDIX_B) {
    const value = double(bits);
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      test(`${bits} is an integer beyond 2^53 - 1: refused (Sentinel's I-JSON rule), formatted ${expected} by the RFC`, () => {
        assert.throws(() => canonicalize(value), CanonicalizationError);
        assert.throws(() => canonicalize({ n: value }), /safe range at \/n/);
        // The formatter underneath jcs.ts (ECMAScript Number::toString) gives the RFC's text.
        assert.equal(JSON.stringify(value), expected);
      });
    } else {
      test(`${bits} -> ${expected}`, () => {
        assert.equal(canonicalize(value), expected);
        assert.equal(canonicalize([value]), `[${expected}]`);
      });
    }
  }
  for (const bits of APPENDIX_B_ERRORS) {
    test(`${bits} (NaN / Infinity) is an error`, () => {
      assert.throws(() => canonicalize(double(bits)), CanonicalizationError);
    });
  }
  test('the table exercises both the accepted and the refused path', () => {
    const refused = APPENDIX_B.filter(([bits]) => { const v = double(bits); return Number.isInteger(v) && !Number.isSafeInteger(v); });
    assert.deepEqual(refused.map(([bits]) => bits), [
      '7fefffffffffffff', 'ffefffffffffffff', '4340000000000000', 'c340000000000000', '4430000000000000',
      '44b52d02c7e14af5', '44b52d02c7e14af6', '44b52d02c7e14af7', '444b1ae4d6e2ef4e', '444b1ae4d6e2ef4f', '444b1ae4d6e2ef50',
    ]);
  });
});

describe('RFC 8785 §3.2.2: the combined example', () => {
  // Input text (§3.2.2):
  // {
  //   "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  //   "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  //   "literals": [null, true, false]
  // }
  const inputText = '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
    + '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
    + '  "literals": [null, true, false]\n}';
  // Output (§3.2.2):
  // {"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}
  const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    + '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';

  test('1E30 is an integer beyond 2^53: Sentinel refuses the RFC example as given', () => {
    assert.throws(() => canonicalize(JSON.parse(inputText)), /safe range at \/numbers\/1/);
  });

  test('with 1E30 written as a non-integer of the same format path, the output matches the RFC byte for byte', () => {
    const value = JSON.parse(inputText) as { numbers: number[] };
    // Replace only the refused element; every other member, string escape and ordering is the RFC's.
    value.numbers[1] = 1.5e-30;
    assert.equal(canonicalize(value), expected.replace('1e+30', '1.5e-30'));
    // and the refused element's own formatting is still the RFC's
    assert.equal(JSON.stringify(1e30), '1e+30');
  });

  test('§3.2.4: the output is UTF-8 (the euro sign is e2 82 ac, no escapes for it)', () => {
    const value = JSON.parse(inputText) as { numbers: number[] };
    value.numbers = [];
    const bytes = canonicalBytes(value);
    const text = '{"literals":[null,true,false],"numbers":[],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    assert.deepEqual(bytes, Buffer.from(text, 'utf8'));
    assert.equal(bytes.subarray(bytes.indexOf('"string":"') + 10, bytes.indexOf('"string":"') + 13).toString('hex'), 'e282ac');
  });
});

describe('RFC 8785 §3.2.3: sorting by UTF-16 code units', () => {
  test('the RFC example sorts to \\r, 1, \\u0080, \\u00f6, \\u20ac, \\ud83d\\ude00, \\ufb33', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const expected = '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
      + '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    assert.equal(canonicalize(input), expected);
  });

  test('U+1F600 (a surrogate pair starting D83D) sorts before U+FB33 although its code point is larger', () => {
    const text = canonicalize({ '\ufb33': 1, '\ud83d\ude00': 2 });
    assert.ok(text.indexOf('\ud83d\ude00') < text.indexOf('\ufb33'));
  });
});

describe('strictness beyond the RFC text (I-JSON)', () => {
  test('lone surrogates are refused', () => {
    assert.throws(() => canonicalize('\ud800'), CanonicalizationError);
    assert.throws(() => canonicalize({ '\udc00': 1 }), CanonicalizationError);
  });
  test('-0 serialises as 0', () => {
    assert.equal(canonicalize(-0), '0');
  });
});
