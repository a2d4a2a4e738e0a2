// Lint: typescript-eslint's recommended rules, plus purity for the consumers' brains: the pure
// modules may not import I/O clients or read the clock and randomness (time and ids are passed in).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PURE_MODULES = [
  'src/canonical/**', 'src/serde/wire.ts', 'src/policy/decide.ts', 'src/policy/conditions.ts', 'src/policy/ruleset.ts',
  'src/approval/draft.ts', 'src/approval/authorize.ts', 'src/approval/verify/**', 'src/approval/dsse.ts', 'src/approval/payload.ts',
  'src/channels/extract/**', 'src/channels/render/**',
  'consumers/signer/plan.ts', 'consumers/executor/outcome.ts',
  'producers/channels/model.ts', 'producers/channels/routing.ts', 'producers/channels/classify.ts',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.state/**', 'infra/**/target/**', 'producers/channels/web/**', 'coverage/**', 'examples/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', performance: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: PURE_MODULES,
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['kafkajs', 'pg', 'ioredis', 'node:net', 'node:http', 'node:https', 'node:fs', 'node:fs/*', 'fastify', 'ws', '@aws-sdk/*', '@qdrant/*', 'node:child_process'], message: 'pure modules do no I/O: take what you need as a parameter' },
      ] }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'pure modules take time as a parameter' },
        { object: 'Math', property: 'random', message: 'pure modules take randomness as a parameter' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'pure modules take time as a parameter' }],
    },
  },
);
