// The signed-in person's profile: who they are in Wavegate, and their Slack link (ADR 0017), the one place where a
// Slack user is tied to them so that Slack's Approve / Reject buttons act as them.
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, get, post } from '../api';
import { useSession } from '../auth';
import { ErrorBox } from '../components/ui';
import { when } from '../format';

interface SlackLink {
  slackTeamId: string;
  slackTeamDomain: string | null;
  slackUserId: string;
  slackUserName: string | null;
  createdAt: string;
}

interface SlackLinkStatus {
  configured: boolean;
  link: SlackLink | null;
  pendingCodeExpiresAt: string | null;
}

interface LinkCode {
  code: string;
  expiresAt: string;
  command: string;
}

export function ProfilePage() {
  const { user } = useSession();
  return (
    <section>
      <h1>Your profile</h1>
      <div className="card">
        <dl className="facts">
          <div>
            <dt>Name</dt>
            <dd data-testid="profile-name">{user.name}</dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Roles</dt>
            <dd>{user.roles.join(', ')}</dd>
          </div>
        </dl>
      </div>
      <SlackLinkPanel />
    </section>
  );
}

/** Whole seconds left until `iso`, re-read each second; 0 once passed. */
function useSecondsLeft(iso: string | null): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!iso) return;
    const t = window.setInterval(() => setTick((n) => n + 1), 1000);
    return () => window.clearInterval(t);
  }, [iso]);
  // Read the clock at render: a value kept from an earlier tick would show more time than is left.
  return iso ? Math.max(0, Math.floor((new Date(iso).getTime() - Date.now()) / 1000)) : 0;
}

function SlackLinkPanel() {
  const [status, setStatus] = useState<SlackLinkStatus | null>(null);
  const [code, setCode] = useState<LinkCode | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const left = useSecondsLeft(code?.expiresAt ?? null);

  const load = useCallback(async () => {
    try {
      const s = await get<SlackLinkStatus>('/api/slack/link');
      setStatus(s);
      setError(null);
      // Linked from Slack while the code was on screen: the code is spent.
      if (s.link) setCode(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // While a code is shown, look every few seconds for the link that Slack's command makes.
  // (Keyed on whether the code is live, not on the seconds left: restarting the timer each second would never fire.)
  const live = code !== null && left > 0;
  useEffect(() => {
    if (!live) return;
    const t = window.setInterval(() => void load(), 3000);
    return () => window.clearInterval(t);
  }, [live, load]);

  const createCode = async () => {
    setBusy(true);
    setCopied(false);
    try {
      setCode(await post<LinkCode>('/api/slack/link-code'));
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const unlink = async () => {
    setBusy(true);
    try {
      await api<void>('DELETE', '/api/slack/link');
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!code) return;
    try {
      await navigator.clipboard.writeText(code.command);
      setCopied(true);
    } catch {
      // No clipboard (insecure origin): the command is selectable text.
    }
  };

  return (
    <div className="card" aria-labelledby="slack-heading">
      <h2 id="slack-heading">Slack</h2>
      <ErrorBox error={error} />
      {status === null ? (
        <p className="loading">Loading…</p>
      ) : !status.configured ? (
        <p className="muted" data-testid="slack-not-configured">
          Slack approvals are not set up on this Wavegate. An administrator sets the Slack app's signing
          secret (WAVEGATE_SLACK_SIGNING_SECRET; see docs/webhooks.md).
        </p>
      ) : status.link ? (
        <div data-testid="slack-linked">
          <p>
            Linked to Slack user{' '}
            <strong>
              {status.link.slackUserName ? `@${status.link.slackUserName}` : status.link.slackUserId}
            </strong>{' '}
            <span className="mono muted">{status.link.slackUserId}</span> in workspace{' '}
            <strong>{status.link.slackTeamDomain ?? status.link.slackTeamId}</strong>{' '}
            <span className="mono muted">{status.link.slackTeamId}</span>, since {when(status.link.createdAt)}
            .
          </p>
          <p className="why">
            The Approve and Reject buttons on Wavegate's Slack messages act as you, with your roles; every
            approval rule applies as in this UI.
          </p>
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={() => void unlink()}>
              Remove link
            </button>
          </div>
        </div>
      ) : (
        <div data-testid="slack-unlinked">
          <p>
            Link your Slack user once to approve or reject change requests from their Slack messages. Create a
            code here, then send it to Wavegate from Slack. The code works once, for 10 minutes.
          </p>
          {code && left > 0 ? (
            <div className="notice" data-testid="slack-code">
              <p>In Slack, send:</p>
              <p>
                <code className="mono slack-command">
                  {code.command.slice(0, code.command.length - code.code.length)}
                  <span className="nowrap">{code.code}</span>
                </code>
              </p>
              <div className="actions slack-code-row">
                <button type="button" onClick={() => void copy()}>
                  {copied ? 'Copied' : 'Copy command'}
                </button>
                <span className="why" aria-live="polite">
                  Valid for {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')} · this page shows the
                  link when it is made
                </span>
              </div>
            </div>
          ) : (
            <>
              {code && <p className="why">That code expired. Create a new one.</p>}
              {!code && status.pendingCodeExpiresAt && (
                <p className="why">
                  A code you created earlier is still valid until {when(status.pendingCodeExpiresAt)}; a new
                  one replaces it.
                </p>
              )}
              <div className="actions">
                <button type="button" className="primary" disabled={busy} onClick={() => void createCode()}>
                  Create link code
                </button>
              </div>
            </>
          )}
        </div>
      )}
    </div>
  );
}
