import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, secretValues, VARIABLES } from '../../../src/config/index.ts';
import { SentinelError } from '../../../src/errors/index.ts';

test('local defaults give each service the seed\'s port', () => {
  assert.equal(loadConfig('channels', {}).http.port, 8080);
  assert.equal(loadConfig('channels', {}).http.wsPort, 8081);
  assert.equal(loadConfig('signer', {}).http.port, 3000);
  assert.equal(loadConfig('policy', {}).http.port, 5000);
  assert.deepEqual(loadConfig('policy', {}).kafka.brokers, ['127.0.0.1:19092']);
  assert.equal(loadConfig('policy', { PORT: '5050' }).http.port, 5050);
});

test('a bad value stops start-up with a message naming every bad variable', () => {
  try {
    loadConfig('signer', { PORT: 'eighty', KAFKA_BROKERS: 'nohost', USE_KMS: 'maybe', SCHEMA_REGISTRY_URL: 'ftp://x' });
    assert.fail('should have thrown');
  } catch (error) {
    assert.ok(error instanceof SentinelError);
    assert.equal(error.code, 'SNT_CONFIG_INVALID');
    for (const name of ['PORT', 'KAFKA_BROKERS', 'USE_KMS', 'SCHEMA_REGISTRY_URL']) assert.match(error.message, new RegExp(`${name}:`));
    assert.deepEqual([...(error.details.variables as string[])].sort(), ['KAFKA_BROKERS', 'PORT', 'SCHEMA_REGISTRY_URL', 'USE_KMS']);
  }
});

test('cross-field rules: KMS needs a key id, production signing needs KMS or a key file', () => {
  assert.throws(() => loadConfig('signer', { USE_KMS: 'true', KMS_KEY_ID: ' ' }), /KMS_KEY_ID/);
  assert.throws(() => loadConfig('signer', { NODE_ENV: 'production' }), /SIGNING_KEY_FILE/);
  assert.doesNotThrow(() => loadConfig('signer', { NODE_ENV: 'production', USE_KMS: 'true' }));
});

test('every secret variable is declared secret, and secretValues lists the values that are set', () => {
  const secrets = VARIABLES.filter((v) => v.secret).map((v) => v.name);
  for (const name of ['POSTGRES_PASSWORD', 'API_KEY', 'TELEGRAM_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DISCORD_BOT_TOKEN']) assert.ok(secrets.includes(name), name);
  assert.deepEqual(secretValues({ API_KEY: 'key-one,key-two', POSTGRES_PASSWORD: 'pw-secret', PORT: '1234' }).sort(), ['key-one', 'key-two', 'pw-secret']);
});
