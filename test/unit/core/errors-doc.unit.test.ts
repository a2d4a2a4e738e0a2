// The error codes and their documentation stay in step (after fastify's errors test).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, SentinelError, classifyFailure, isErrorCode, type ErrorCode } from '../../../src/errors/index.ts';
import { ERRORS_DOC, renderErrorsDoc } from '../../../scripts/gen-errors-doc.ts';

test('docs/errors.md lists exactly the codes in src/errors, with their status and retriability', () => {
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  assert.equal(doc, renderErrorsDoc(), 'docs/errors.md is out of date: run node scripts/gen-errors-doc.ts');
  const documented = [...doc.matchAll(/^\| `(SNT_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
  assert.equal(new Set(documented).size, documented.length, 'each code documented once');
});

test('every code is prefixed, maps to an HTTP status, and builds an error that knows whether it is retriable', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^SNT_[A-Z0-9_]+$/);
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    assert.ok(spec.summary.length > 10, code);
    const error = new SentinelError(code as ErrorCode, 'm');
    assert.equal(error.status, spec.status);
    assert.equal(classifyFailure(error), spec.retriable ? 'transient' : 'permanent');
    assert.ok(isErrorCode(code));
  }
  assert.equal(isErrorCode('SNT_NOPE'), false);
  assert.equal(classifyFailure(new TypeError('bug')), 'permanent');
  assert.equal(classifyFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'transient');
  assert.equal(classifyFailure(new Error('something odd')), 'unknown');
});
