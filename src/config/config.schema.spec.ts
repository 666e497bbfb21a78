import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.schema';

const dir = () => mkdtempSync(join(tmpdir(), 'wg-config-'));

describe('loadConfig', () => {
  it('uses safe embedded defaults and generates a 0600 secret once', () => {
    const cwd = dir();
    const a = loadConfig({}, cwd);
    expect(a.port).toBe(3000);
    expect(a.host).toBe('127.0.0.1');
    expect(a.database).toEqual({
      kind: 'sqlite',
      path: join(cwd, 'data/wavegate.sqlite'),
      url: 'sqlite:data/wavegate.sqlite',
    });
    expect(a.secret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(cwd, 'data/secret')).mode & 0o777).toBe(0o600);
    expect(loadConfig({}, cwd).secret).toBe(a.secret);
  });

  it('reports every bad variable at once, one line each', () => {
    let err: unknown;
    try {
      loadConfig(
        { PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', WAVEGATE_SECRET: 'short' },
        dir(),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
      'WAVEGATE_SECRET',
    ]);
  });

  it('validates the engine tuning variables with the others', () => {
    expect(() => loadConfig({ WAVEGATE_ENGINE_BATCH: '0', WAVEGATE_ENGINE_DISABLED: 'yes' }, dir())).toThrow(
      /WAVEGATE_ENGINE_BATCH: must be between 1 and 1000[\s\S]*WAVEGATE_ENGINE_DISABLED/,
    );
  });

  it('validates the backup schedule: 300 s and 288 kept by default, 0 disables, nonsense is refused', () => {
    const cwd = dir();
    expect(loadConfig({}, cwd)).toMatchObject({
      backupDir: join(cwd, 'data/backups'),
      backupIntervalSeconds: 300,
      backupRetain: 288,
    });
    expect(loadConfig({ WAVEGATE_BACKUP_INTERVAL_SECONDS: '0' }, cwd).backupIntervalSeconds).toBe(0);
    expect(() =>
      loadConfig({ WAVEGATE_BACKUP_INTERVAL_SECONDS: '5m', WAVEGATE_BACKUP_RETAIN: '0' }, cwd),
    ).toThrow(
      /WAVEGATE_BACKUP_INTERVAL_SECONDS: expected an integer[\s\S]*WAVEGATE_BACKUP_RETAIN: must be between 1/,
    );
  });

  it('requires an explicit secret with PostgreSQL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1/test' }, dir())).toThrow(
      /WAVEGATE_SECRET/,
    );
  });

  it('requires admin email and password together', () => {
    expect(() => loadConfig({ WAVEGATE_ADMIN_EMAIL: 'a@b.c' }, dir())).toThrow(/set both or neither/);
  });

  it('reads the Slack signing secret only in its own shape, never echoing a wrong one', () => {
    const cwd = dir();
    expect(loadConfig({}, cwd).slack).toBeUndefined();
    const secret = '8f742231b10e8888abcd99yyyzzz85a5'.replace(/[yz]/g, 'e');
    expect(loadConfig({ WAVEGATE_SLACK_SIGNING_SECRET: secret }, cwd).slack).toEqual({
      signingSecret: secret,
      responseOrigins: ['https://hooks.slack.com'],
    });
    let message = '';
    try {
      loadConfig({ WAVEGATE_SLACK_SIGNING_SECRET: 'xoxb-not-a-signing-secret' }, cwd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/WAVEGATE_SLACK_SIGNING_SECRET: expected the Slack app's signing secret/);
    expect(message).not.toContain('xoxb-not-a-signing-secret');
    expect(() =>
      loadConfig(
        { WAVEGATE_SLACK_SIGNING_SECRET: secret, WAVEGATE_SLACK_RESPONSE_ORIGINS: 'hooks.slack.com' },
        cwd,
      ),
    ).toThrow(/WAVEGATE_SLACK_RESPONSE_ORIGINS: "hooks.slack.com" is not an origin/);
  });
});
