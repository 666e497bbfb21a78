import { WavegateClient } from './client';
import { silentLogger } from './index';
import type { FetchInitLike, FetchLike, FetchResponseLike } from './types';

// A fetch that, like Node 18's after a garbage collection, does not honour the request's AbortSignal: the
// client must still time requests out, end idle streams and close streams on close().
function signalDeafFetch(
  handler: (url: string, init: FetchInitLike | undefined) => Promise<FetchResponseLike>,
) {
  const calls: string[] = [];
  const fetch: FetchLike = (url, init) => {
    calls.push(url);
    return handler(url, init);
  };
  return { fetch, calls };
}

function streamResponse(onCancel: () => void): FetchResponseLike {
  return {
    status: 200,
    ok: true,
    headers: { get: () => null },
    // A stream that never sends a byte and only ends when cancelled.
    body: new ReadableStream<Uint8Array>({
      pull: () => new Promise<void>(() => undefined),
      cancel: onCancel,
    }),
    text: () => Promise.resolve(''),
  };
}

describe('WavegateClient with a fetch that ignores AbortSignal', () => {
  it('times a poll out after timeoutMs and reports it', async () => {
    const { fetch, calls } = signalDeafFetch(() => new Promise<FetchResponseLike>(() => undefined));
    const client = new WavegateClient({
      url: 'http://wavegate.invalid',
      token: 't',
      appName: 'abort-spec',
      streaming: false,
      timeoutMs: 100,
      refreshIntervalMs: 60_000,
      fetch,
      logger: silentLogger,
    });
    const started = Date.now();
    const error = await new Promise<Error>((resolve) => client.once('error', resolve));
    expect(error.message).toMatch(/fetching flags failed: .*aborted/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls.some((u) => u.endsWith('/api/client/features'))).toBe(true);
    await client.close();
  });

  it('cancels an idle stream body, reconnects, and cancels the stream on close()', async () => {
    let cancelled = 0;
    const { fetch, calls } = signalDeafFetch((url) =>
      Promise.resolve(
        url.endsWith('/api/client/stream')
          ? streamResponse(() => void cancelled++)
          : {
              status: 304,
              ok: false,
              headers: { get: () => null },
              body: null,
              text: () => Promise.resolve(''),
            },
      ),
    );
    const client = new WavegateClient({
      url: 'http://wavegate.invalid',
      token: 't',
      appName: 'abort-spec',
      streamIdleTimeoutMs: 150,
      backoffMinMs: 10,
      backoffMaxMs: 20,
      refreshIntervalMs: 60_000,
      fetch,
      logger: silentLogger,
    });
    client.on('error', () => undefined);
    const streams = () => calls.filter((u) => u.endsWith('/api/client/stream')).length;
    const deadline = Date.now() + 5_000;
    while ((streams() < 2 || cancelled < 1) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    // The first stream went idle: its body was cancelled (closing the connection) and a new one opened.
    expect(cancelled).toBeGreaterThanOrEqual(1);
    expect(streams()).toBeGreaterThanOrEqual(2);
    const before = cancelled;
    const opened = streams();
    await client.close();
    await new Promise((r) => setTimeout(r, 50));
    // close() ends the stream that was open, and opens none.
    expect(cancelled).toBe(before + 1);
    expect(streams()).toBe(opened);
  });
});
