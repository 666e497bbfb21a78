// The REST client: same-origin fetch with the session cookie (httpOnly, SameSite=Strict), JSON in and out, and the
// service's error body ({statusCode, error, message, code?, details?}) turned into an ApiError the pages can show.

export interface ErrorDetail {
  field?: string;
  target?: string;
  row?: number;
  reason: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

let onUnauthorized: (() => void) | null = null;
/** Called when a signed-in call comes back 401 (the session expired): the app returns to the login page. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const e = (typeof data === 'object' && data !== null ? data : {}) as {
      message?: string | string[];
      code?: string;
      details?: ErrorDetail[];
    };
    const message = Array.isArray(e.message) ? e.message.join('; ') : (e.message ?? `${res.status} ${res.statusText}`);
    if (res.status === 401 && !path.startsWith('/api/auth/')) onUnauthorized?.();
    throw new ApiError(res.status, message, e.code, e.details);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const details = (e.details ?? [])
      .slice(0, 20)
      .map((d) => `${d.target ?? d.field ?? (d.row !== undefined ? `row ${d.row}` : '')}: ${d.reason}`)
      .join('\n');
    return details ? `${e.message}\n${details}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
