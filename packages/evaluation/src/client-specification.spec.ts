// Runs every case of the Unleash client specification (@unleash/client-specification) through the engine:
// each file's state is compiled once, each test's context evaluated, each expected result asserted.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyDelta, compile, EMPTY_FEATURES_RESPONSE, isDelta } from './index';
import type { ClientFeaturesResponse, EvaluationContext, Evaluator, VariantResult } from './index';

interface SpecTest {
  description: string;
  context: EvaluationContext;
  toggleName: string;
  expectedResult: boolean;
}

interface SpecVariantTest {
  description: string;
  context: EvaluationContext;
  toggleName: string;
  expectedResult: VariantResult;
}

interface SpecFile {
  name: string;
  state: unknown;
  tests?: SpecTest[];
  variantTests?: SpecVariantTest[];
}

// Cases this engine does not pass, keyed '<spec file> / <description>', with the reason. Kept empty:
// every case passes; the assertion below keeps any future exception visible and small.
const SKIPPED: Record<string, string> = {};

const specDir = join(
  dirname(require.resolve('@unleash/client-specification/package.json')),
  'specifications',
);
const index = JSON.parse(readFileSync(join(specDir, 'index.json'), 'utf8')) as string[];
const specs = index.map((file) => ({
  file,
  spec: JSON.parse(readFileSync(join(specDir, file), 'utf8')) as SpecFile,
}));

// A state is either a full features response or a list of delta events.
function evaluatorFor(state: unknown): Evaluator {
  const response = isDelta(state)
    ? applyDelta(EMPTY_FEATURES_RESPONSE, state)
    : (state as ClientFeaturesResponse);
  return compile(response, { hostname: 'spec-host' });
}

const evaluators = new Map(specs.map(({ file, spec }) => [file, evaluatorFor(spec.state)]));

const toggleCases = specs.flatMap(({ file, spec }) =>
  (spec.tests ?? []).map((t) => ({ key: `${file} / ${t.description}`, file, test: t })),
);
const variantCases = specs.flatMap(({ file, spec }) =>
  (spec.variantTests ?? []).map((t) => ({ key: `${file} / ${t.description}`, file, test: t })),
);

describe('Unleash client specification', () => {
  it('reads every specification file', () => {
    expect(index.length).toBeGreaterThanOrEqual(22);
    expect(toggleCases.length + variantCases.length).toBeGreaterThan(250);
  });

  it('skips at most a handful of cases, each with a reason', () => {
    expect(Object.keys(SKIPPED).length).toBeLessThanOrEqual(3);
    const keys = new Set([...toggleCases, ...variantCases].map((c) => c.key));
    for (const [key, reason] of Object.entries(SKIPPED)) {
      expect(keys.has(key)).toBe(true);
      expect(reason.length).toBeGreaterThan(10);
    }
  });

  test.each(toggleCases.filter((c) => !(c.key in SKIPPED)).map((c) => [c.key, c] as const))(
    'isEnabled: %s',
    (_key, { file, test }) => {
      const evaluator = evaluators.get(file) as Evaluator;
      expect(evaluator.isEnabled(test.toggleName, test.context)).toBe(test.expectedResult);
      // evaluate() must agree with isEnabled().
      expect(evaluator.evaluate(test.toggleName, test.context).enabled).toBe(test.expectedResult);
    },
  );

  test.each(variantCases.filter((c) => !(c.key in SKIPPED)).map((c) => [c.key, c] as const))(
    'getVariant: %s',
    (_key, { file, test }) => {
      const evaluator = evaluators.get(file) as Evaluator;
      expect(evaluator.getVariant(test.toggleName, test.context)).toStrictEqual(test.expectedResult);
      expect(evaluator.evaluate(test.toggleName, test.context).variant).toStrictEqual(test.expectedResult);
    },
  );
});
