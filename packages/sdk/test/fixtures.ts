import type { ClientFeature, ClientFeaturesResponse } from '@wavegate/evaluation';

export const flag = (name: string, enabled: boolean, extra: Partial<ClientFeature> = {}): ClientFeature => ({
  name,
  enabled,
  strategies: [{ name: 'default', parameters: {}, constraints: [] }],
  variants: [],
  ...extra,
});

export const config = (...features: ClientFeature[]): ClientFeaturesResponse => ({
  version: 2,
  features,
  segments: [],
});

export const baseConfig = (): ClientFeaturesResponse =>
  config(
    flag('on', true),
    flag('off', false),
    flag('beta-users', true, {
      strategies: [{ name: 'userWithId', parameters: { userIds: 'u1,u2' }, constraints: [] }],
    }),
    flag('pro-tenants', true, {
      strategies: [
        {
          name: 'default',
          parameters: {},
          constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }],
        },
      ],
    }),
    flag('checkout', true, {
      variants: [
        {
          name: 'blue',
          weight: 1000,
          weightType: 'variable',
          payload: { type: 'string', value: 'blue-button' },
        },
      ],
    }),
    flag('limits', true, {
      variants: [
        { name: 'v', weight: 1000, weightType: 'variable', payload: { type: 'json', value: '{"max":5}' } },
      ],
    }),
    flag('timeout', true, {
      variants: [
        { name: 't', weight: 1000, weightType: 'variable', payload: { type: 'number', value: '250' } },
      ],
    }),
    flag('this-app-only', true, {
      strategies: [
        {
          name: 'default',
          parameters: {},
          constraints: [{ contextName: 'appName', operator: 'IN', values: ['billing'] }],
        },
      ],
    }),
  );
