// docker-compose.yml against the Compose Specification JSON Schema (vendored, offline:
// test/vectors/schemas/compose-spec/, see test/vectors/schemas/README.md), as written and
// after interpolation with .env.example; and proof that the validator rejects broken files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPOSE_FORMATS, clone, composeSchema, formatErrors, interpolateAll, isObj, loadCompose, obj,
  parseEnvFile, readText, validateCompose, type Json, type Obj,
} from './support.ts';

function formatsUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) formatsUsed(n, out);
  else if (isObj(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'format' && typeof v === 'string') out.add(v);
      else formatsUsed(v, out);
    }
  }
  return out;
}

function errorsAt(doc: unknown): string[] {
  return validateCompose(doc).map((e) => `${e.instancePath} ${e.keyword}`);
}

describe('docker-compose.yml against the Compose Specification schema', () => {
  it('is valid as written', () => {
    const errors = validateCompose(loadCompose());
    assert.deepEqual(errors, [], formatErrors(errors));
  });

  it('is valid once interpolated with .env.example', () => {
    const env = parseEnvFile(readText('.env.example')).values;
    const doc = interpolateAll(loadCompose() as Json, env);
    const errors = validateCompose(doc);
    assert.deepEqual(errors, [], formatErrors(errors));
  });

  it('defines every format the schema uses (none is silently skipped)', () => {
    const used = [...formatsUsed(composeSchema())].sort();
    assert.ok(used.length > 0);
    assert.deepEqual(used, Object.keys(COMPOSE_FORMATS).sort());
  });

  it('checks the formats it defines', () => {
    assert.ok(COMPOSE_FORMATS.duration('1m30s'));
    assert.ok(!COMPOSE_FORMATS.duration('10 seconds'));
    assert.ok(COMPOSE_FORMATS.ports('127.0.0.1:8080:8080'));
    assert.ok(COMPOSE_FORMATS.ports('3000-3005:3000-3005/udp'));
    assert.ok(COMPOSE_FORMATS.ports(8080));
    assert.ok(!COMPOSE_FORMATS.ports('8080:http'));
    assert.ok(!COMPOSE_FORMATS.ports(70000));
    assert.ok(COMPOSE_FORMATS.expose('9092/tcp'));
    assert.ok(COMPOSE_FORMATS.subnet_ip_address('172.28.0.0/16'));
    assert.ok(!COMPOSE_FORMATS.subnet_ip_address('172.28.0.0'));
  });

  describe('rejects a broken copy', () => {
    const base = loadCompose();
    const mutate = (f: (doc: Obj) => void): Obj => {
      const doc = clone(base);
      f(doc);
      return doc;
    };

    it('with an unknown service key (a typo of healthcheck)', () => {
      const doc = mutate((d) => {
        const policy = obj(obj(d, 'services'), 'policy');
        policy['helthcheck'] = policy['healthcheck'] ?? null;
        delete policy['healthcheck'];
      });
      assert.ok(errorsAt(doc).includes('/services/policy additionalProperties'), errorsAt(doc).join('\n'));
    });

    it('with a depends_on condition the specification does not know', () => {
      const doc = mutate((d) => {
        obj(obj(obj(obj(d, 'services'), 'channels'), 'depends_on'), 'policy')['condition'] = 'service_ready';
      });
      assert.ok(errorsAt(doc).some((e) => e.startsWith('/services/channels/depends_on')), errorsAt(doc).join('\n'));
    });

    it('with a health-check interval that is not a duration', () => {
      const doc = mutate((d) => {
        obj(obj(obj(d, 'services'), 'kafka'), 'healthcheck')['interval'] = '10 seconds';
      });
      assert.ok(errorsAt(doc).includes('/services/kafka/healthcheck/interval format'), errorsAt(doc).join('\n'));
    });

    it('with a port mapping that is not one', () => {
      const doc = mutate((d) => {
        obj(obj(d, 'services'), 'signer')['ports'] = ['127.0.0.1:3000:http'];
      });
      assert.ok(errorsAt(doc).some((e) => e.startsWith('/services/signer/ports/0')), errorsAt(doc).join('\n'));
    });

    it('with an unknown top-level key', () => {
      const doc = mutate((d) => {
        d['service'] = {};
      });
      assert.ok(errorsAt(doc).includes(' additionalProperties'), errorsAt(doc).join('\n'));
    });

    it('with a volume declared under an invalid name', () => {
      const doc = mutate((d) => {
        obj(d, 'volumes')['kafka data'] = null;
      });
      assert.ok(errorsAt(doc).includes('/volumes additionalProperties'), errorsAt(doc).join('\n'));
    });
  });
});
