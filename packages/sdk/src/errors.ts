// The errors the client rejects ready() with: a refused token, and no configuration in time.

// The token was refused (401/403). Retrying cannot help, so the client stops and ready() rejects with it.
export class WavegateAuthError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
  ) {
    super(
      `Wavegate refused the client token (HTTP ${status} on ${path}): check that it is a client token ` +
        `(POST /api/tokens {kind: "client", environment}) and that it has not been revoked`,
    );
    this.name = 'WavegateAuthError';
  }
}

export class WavegateTimeoutError extends Error {
  constructor(ms: number) {
    super(
      `Wavegate client not ready after ${ms} ms: no configuration from the server, bootstrap or cache file`,
    );
    this.name = 'WavegateTimeoutError';
  }
}
