// DSSE pre-authentication encoding, the JSON envelope form, and the base64 rules of the format.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envelopeFromJson, envelopeToJson, preAuthEncoding } from '../../../src/approval/dsse.ts';
import { decodeBase64Strict, decodeBase64UrlStrict, encodeBase64, encodeBase64Url } from '../../../src/approval/encoding.ts';

describe('PAE', () => {
  test('the DSSE protocol.md test vector: "DSSEv1 29 http://example.com/HelloWorld 11 hello world"', () => {
    const pae = preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world'));
    assert.equal(pae.toString('latin1'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  test('lengths are byte lengths (UTF-8), decimal without leading zeros, and an empty body is "0 "', () => {
    const pae = preAuthEncoding('t\u20ac', Buffer.alloc(0));
    assert.deepEqual(pae, Buffer.concat([Buffer.from('DSSEv1 4 t'), Buffer.from('\u20ac', 'utf8'), Buffer.from(' 0 ')]));
  });

  test('binary bodies are copied verbatim', () => {
    const body = Buffer.from([0, 255, 32, 10]);
    const pae = preAuthEncoding('x', body);
    assert.deepEqual(pae.subarray(pae.length - 4), body);
    assert.equal(pae.subarray(0, pae.length - 4).toString('latin1'), 'DSSEv1 1 x 4 ');
  });

  test('type and body boundaries cannot be shifted: different splits give different encodings', () => {
    assert.notDeepEqual(preAuthEncoding('ab', Buffer.from('c')), preAuthEncoding('a', Buffer.from('bc')));
  });
});

describe('JSON envelope', () => {
  const envelope = { payloadType: 'application/x', payload: Buffer.from('{"a":1}'), signatures: [{ keyid: 'k', sig: Buffer.alloc(64, 7) }] };

  test('round-trips, with padded standard base64 on output', () => {
    const json = envelopeToJson(envelope);
    assert.equal(json.payload, 'eyJhIjoxfQ==');
    const parsed = envelopeFromJson(JSON.parse(JSON.stringify(json)));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.envelope, envelope);
  });

  test('accepts URL-safe base64 and a missing keyid (DSSE parsing rules), ignores unknown members', () => {
    const parsed = envelopeFromJson({ payloadType: 'p', payload: 'eyJhIjoxfQ', signatures: [{ sig: Buffer.alloc(64, 0xfb).toString('base64url') }], extra: 1 });
    assert.ok(parsed.ok);
    assert.equal(parsed.envelope.signatures[0]?.keyid, '');
    assert.deepEqual(parsed.envelope.signatures[0]?.sig, Buffer.alloc(64, 0xfb));
  });

  for (const [name, value] of [
    ['not an object', 'x'],
    ['array', []],
    ['payloadType missing', { payload: '', signatures: [] }],
    ['payload not base64', { payloadType: 'p', payload: 'a b', signatures: [] }],
    ['signatures not an array', { payloadType: 'p', payload: '', signatures: {} }],
    ['sig not a string', { payloadType: 'p', payload: '', signatures: [{ keyid: 'k', sig: 1 }] }],
    ['keyid not a string', { payloadType: 'p', payload: '', signatures: [{ keyid: 1, sig: '' }] }],
  ] as const) {
    test(`refuses: ${name}`, () => {
      assert.equal(envelopeFromJson(value).ok, false);
    });
  }
});

describe('base64', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x01]);

  test('encoders: standard padded and URL-safe unpadded', () => {
    assert.equal(encodeBase64(bytes), '+/+/AQ==');
    assert.equal(encodeBase64Url(bytes), '-_-_AQ');
  });

  test('decodes all four spellings DSSE allows to the same bytes', () => {
    for (const text of ['+/+/AQ==', '+/+/AQ', '-_-_AQ==', '-_-_AQ']) assert.deepEqual(decodeBase64Strict(text), bytes, text);
  });

  for (const text of ['+/-_AQ==', '+/+/AQ=', '+/+/AQ===', '+/+/AR==', ' +/+/AQ==', '+/+/\nAQ==', 'A', 'AB=C', '%%%%']) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(decodeBase64Strict(text), null);
    });
  }

  test('unpadded base64url only, canonical trailing bits', () => {
    assert.deepEqual(decodeBase64UrlStrict('-_-_AQ'), bytes);
    assert.equal(decodeBase64UrlStrict('-_-_AQ=='), null);
    assert.equal(decodeBase64UrlStrict('+/+/AQ'), null);
    assert.equal(decodeBase64UrlStrict('-_-_AR'), null);
  });
});
