// One call to a provider's platform: JSON body, `X-Wavegate-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`
// keyed by the provider's shared secret (the same scheme as webhooks and the http operation), the Idempotency-Key
// when given, a timeout per attempt, and retries with backoff on what may be transient (network error, timeout,
// 429, 5xx). A 4xx other than 429 is the platform's answer and is returned, not retried.
import { signHttpBody } from '../operations/http.apply';

export interface ProviderCallSettings {
  timeoutMs: number;
  attempts: number;
  /** Waits between attempts; the last value repeats. */
  backoffMs: number[];
}

export interface ProviderCall {
  url: string;
  body: Record<string, unknown>;
  secret: string;
  idempotencyKey?: string;
  now: () => Date;
  settings: ProviderCallSettings;
}

export interface ProviderAnswer {
  status: number;
  body: Record<string, unknown>;
  attempts: number;
}

/** The platform could not be reached or kept failing; `message` says how (timeout, status, error). */
export class ProviderUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderUnreachable';
  }
}

export async function callProvider(c: ProviderCall): Promise<ProviderAnswer> {
  const body = JSON.stringify(c.body);
  const attempts = Math.max(1, c.settings.attempts);
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    const ts = Math.floor(c.now().getTime() / 1000);
    try {
      const res = await fetch(c.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-wavegate-signature': signHttpBody(Buffer.from(c.secret, 'utf8'), ts, body),
          'user-agent': 'wavegate-provider/1',
          ...(c.idempotencyKey ? { 'idempotency-key': c.idempotencyKey } : {}),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(c.settings.timeoutMs),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        const v: unknown = text ? JSON.parse(text) : {};
        parsed =
          v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
      } catch {
        parsed = { raw: text.slice(0, 500) };
      }
      if (res.status < 500 && res.status !== 429) return { status: res.status, body: parsed, attempts: i };
      last = `HTTP ${res.status}${typeof parsed.error === 'string' ? ` (${parsed.error.slice(0, 200)})` : ''}`;
    } catch (e) {
      last =
        e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
          ? `timed out after ${c.settings.timeoutMs} ms`
          : e instanceof Error
            ? ((e.cause as Error | undefined)?.message ?? e.message)
            : String(e);
    }
    if (i < attempts) {
      const wait = c.settings.backoffMs[Math.min(i - 1, c.settings.backoffMs.length - 1)] ?? 0;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  throw new ProviderUnreachable(`POST ${c.url} failed after ${attempts} attempt(s): ${last}`);
}

/** The platform's own words for a refusal: `error`/`message` of its JSON body, else the status. */
export function platformMessage(a: ProviderAnswer): string {
  const m = a.body.message ?? a.body.error;
  return typeof m === 'string' && m ? `HTTP ${a.status}: ${m.slice(0, 500)}` : `HTTP ${a.status}`;
}
