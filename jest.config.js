// Three tiers (STYLE.md habit 6): unit specs next to the code, HTTP e2e specs under test/,
// browser specs under test/browser. ts-jest transpiles only; `tsc` (npm run build / lint) type-checks.
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }];
const moduleNameMapper = {
  '^@wavegate/evaluation$': '<rootDir>/packages/evaluation/src',
  '^@wavegate/sdk$': '<rootDir>/packages/sdk/src',
  '^@wavegate/sdk/(.*)$': '<rootDir>/packages/sdk/src/$1',
};
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
};
module.exports = {
  testTimeout: 60000,
  // A suite that leaves a socket or timer open must not hang CI; leaks are still fixed where found.
  forceExit: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts', '<rootDir>/packages/*/test/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      // `*.pg-e2e-spec.ts`: suites that need PostgreSQL throughout, run only in the PostgreSQL pass (TEST_DATABASE_URL).
      testMatch: [
        '<rootDir>/test/**/*.e2e-spec.ts',
        ...(process.env.TEST_DATABASE_URL ? ['<rootDir>/test/**/*.pg-e2e-spec.ts'] : []),
      ],
    },
  ],
};
