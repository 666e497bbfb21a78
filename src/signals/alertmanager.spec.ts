import { DomainError } from '../common/errors';
import { signalsFromAlertmanager } from './signals.service';

const body = (alerts: unknown[]) => ({ version: '4', status: 'firing', receiver: 'wavegate', alerts });

describe('signalsFromAlertmanager', () => {
  it('maps labels and annotations of each alert to a signal', () => {
    const [s] = signalsFromAlertmanager(
      body([
        {
          status: 'firing',
          labels: {
            alertname: 'HighErrorRate',
            severity: 'critical',
            tenant: 'acme',
            change_request: 'cr-1',
            flag: 'new-ui',
            environment: 'production',
          },
          annotations: { summary: '5xx above 10 %', description: 'longer text' },
        },
      ]),
      'token:t1',
    );
    expect(s).toEqual({
      source: 'alertmanager:HighErrorRate',
      severity: 'critical',
      state: 'firing',
      tenantId: 'acme',
      changeRequestId: 'cr-1',
      flagKey: 'new-ui',
      environment: 'production',
      message: '5xx above 10 %',
      recordedBy: 'token:t1',
    });
  });

  it('records a resolved alert as resolved; unknown severities count as errors, page as critical', () => {
    const out = signalsFromAlertmanager(
      body([
        { status: 'resolved', labels: { alertname: 'A', severity: 'warning' } },
        { status: 'firing', labels: { alertname: 'B' } },
        { status: 'firing', labels: { alertname: 'C', severity: 'page' } },
        { status: 'firing', labels: { alertname: 'D', severity: 'warn' } },
      ]),
      'x',
    );
    expect(out.map((s) => s.environment)).toEqual([null, null, null, null]);
    expect(out.map((s) => [s.state, s.severity, s.message])).toEqual([
      ['resolved', 'warning', 'A'],
      ['firing', 'error', 'B'],
      ['firing', 'critical', 'C'],
      ['firing', 'warning', 'D'],
    ]);
  });

  it('refuses a body without alerts and names each bad alert', () => {
    expect(() => signalsFromAlertmanager({}, 'x')).toThrow(DomainError);
    try {
      signalsFromAlertmanager(body([{ labels: {} }, { status: 'firing' }, null]), 'x');
      throw new Error('not refused');
    } catch (e) {
      expect((e as DomainError).details?.map((d) => d.field)).toEqual([
        'alerts[1].labels',
        'alerts[2].labels',
      ]);
    }
  });
});
