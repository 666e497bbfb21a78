// typescript-eslint with type information (immich: server/eslint.config.mjs), STYLE.md habit 8.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'web/**',
      'coverage/**',
      'test-output/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Issue 16: a file a newcomer can hold. Source only: tests, migrations and benchmarks aside (web/ is not linted
    // here; its files are under 400 lines too).
    files: ['src/**/*.ts', 'packages/*/src/**/*.ts'],
    ignores: ['**/*.spec.ts', 'src/database/migrations/**'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  {
    // Functions still over 80 lines when the rule came in (issue 16's note lists them); remove a file from this list
    // once it is split. Not for new code.
    files: [
      'src/config/config.schema.ts',
      'src/connectors/connector-restore.operation.ts',
      'src/operations/builtin.apply.ts',
      'packages/evaluation/src/constraints.ts',
      'src/change-requests/change-request.planner.ts',
      'src/webhooks/webhook-delivery.worker.ts',
      'src/signals/signals.service.ts',
      'src/demo/demo.seed.ts',
      'src/demo/demo.ts',
      'src/demo/demo.platform.ts',
      'src/webhooks/webhook.sender.ts',
      'src/change-requests/domain/halt-policy.ts',
      'src/tenants/tenant-input.validator.ts',
      'src/providers/provider-register.operation.ts',
      'src/providers/inventory.sync.ts',
      'src/providers/provider.operations.ts',
      'src/providers/domain/provider-definition.ts',
    ],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
