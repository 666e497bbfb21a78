// The configuration the client evaluates, whichever way it came (bootstrap, cache file, poll, stream): compiles
// each new one, works out which flags it changed, and keeps the server's latest in the cache file so that a
// restart while Wavegate is unreachable starts from it. The client holds the compiled evaluator it hands over.
import {
  EMPTY_FEATURES_RESPONSE,
  applyDelta,
  compile,
  isDelta,
  type ClientFeaturesResponse,
  type DeltaEvent,
  type Evaluator,
} from '@wavegate/evaluation';
import {
  isFeaturesResponse,
  readConfiguration,
  readConfigurationSync,
  writeConfiguration,
} from './cache-file';
import { safeHostname } from './hostname';
import type { ConfigurationSource, Logger } from './types';

export interface AppliedConfiguration {
  evaluator: Evaluator;
  source: ConfigurationSource;
  // The flags added, changed or removed; all of them for the first configuration.
  changed: string[];
  first: boolean;
  // Whether the configuration refers to a field of the static context (see WavegateClient.withStatic).
  usesStaticContext: boolean;
}

export interface ConfigurationListener {
  applied(configuration: AppliedConfiguration): void;
  // A configuration that does not compile: the previous one stays in use.
  rejected(error: Error): void;
}

export class ConfigurationStore {
  private config: ClientFeaturesResponse | undefined;
  // Each flag's JSON, to tell which flags a new configuration changes.
  private flagJson = new Map<string, string>();
  private currentSource: ConfigurationSource | undefined;
  private hasServerConfiguration = false;
  private cacheTried = false;
  private cacheWrite: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly cacheFile: string | undefined,
    // The static context's field names (appName, environment, options.context).
    private readonly staticKeys: readonly string[],
    private readonly logger: Logger,
    private readonly listener: ConfigurationListener,
  ) {}

  get current(): ClientFeaturesResponse | undefined {
    return this.config;
  }

  get source(): ConfigurationSource | undefined {
    return this.currentSource;
  }

  // Whether the server has sent a configuration (by poll or stream) since the client started.
  get fromServer(): boolean {
    return this.hasServerConfiguration;
  }

  // Settles when the cache file writes queued so far are done (or have failed, which is logged).
  get pendingWrite(): Promise<void> {
    return this.cacheWrite;
  }

  // options.bootstrap: a features response, or the path of a file holding one. A bad one is logged and ignored.
  loadBootstrap(bootstrap: ClientFeaturesResponse | string): void {
    try {
      const data = typeof bootstrap === 'string' ? readConfigurationSync(bootstrap) : bootstrap;
      if (!isFeaturesResponse(data))
        throw new Error('bootstrap: not a features response (no "features" array)');
      this.apply(data, 'bootstrap');
    } catch (e) {
      this.logger.warn(`bootstrap ignored: ${(e as Error).message}`);
    }
  }

  apply(config: ClientFeaturesResponse, source: ConfigurationSource): void {
    let evaluator: Evaluator;
    try {
      evaluator = compile(config, { hostname: safeHostname() });
    } catch (e) {
      this.listener.rejected(new Error(`configuration from ${source} rejected: ${(e as Error).message}`));
      return;
    }
    const json = new Map<string, string>();
    for (const f of config.features) json.set(f.name, JSON.stringify(f));
    const segmentsJson = JSON.stringify(config.segments ?? []);
    const changed = this.changedFlags(json, segmentsJson);
    const first = this.config === undefined;

    this.config = config;
    this.flagJson = json;
    this.currentSource = source;
    const whole = `${[...json.values()].join(',')}${segmentsJson}`;
    const usesStaticContext = this.staticKeys.some((k) => whole.includes(`"${k}"`));

    if (source === 'poll' || source === 'stream') {
      const firstFromServer = !this.hasServerConfiguration;
      this.hasServerConfiguration = true;
      if (this.cacheFile !== undefined && (changed.length > 0 || firstFromServer))
        this.persist(this.cacheFile, config);
    }
    this.listener.applied({ evaluator, source, changed, first, usesStaticContext });
  }

  // A stream event's body: a full configuration replaces the current one; a delta ({events} or one event)
  // is applied to it. False for any other body (ignored).
  applyStreamBody(body: unknown): boolean {
    if (isFeaturesResponse(body)) this.apply(body, 'stream');
    else if (isDelta(body)) this.apply(applyDelta(this.config ?? EMPTY_FEATURES_RESPONSE, body), 'stream');
    else if (isDeltaEvent(body))
      this.apply(applyDelta(this.config ?? EMPTY_FEATURES_RESPONSE, [body]), 'stream');
    else return false;
    return true;
  }

  // At boot, when the server cannot be reached: the last configuration it served, if a cache file holds one.
  async loadCacheOnce(): Promise<void> {
    const path = this.cacheFile;
    if (path === undefined || this.cacheTried || this.hasServerConfiguration) return;
    this.cacheTried = true;
    try {
      const config = await readConfiguration(path);
      if (this.hasServerConfiguration || this.closed) return;
      this.apply(config, 'cache');
      this.logger.info(`Wavegate unreachable: started from cache file ${path}`);
    } catch (e) {
      this.logger.warn(`cache file not used: ${(e as Error).message}`);
    }
  }

  // After close() a cache file read still under way is not applied.
  close(): void {
    this.closed = true;
  }

  private changedFlags(json: Map<string, string>, segmentsJson: string): string[] {
    const previousSegments = JSON.stringify(this.config?.segments ?? []);
    const changed: string[] = [];
    for (const [name, j] of json) {
      if (this.flagJson.get(name) !== j) changed.push(name);
      else if (segmentsJson !== previousSegments && j.includes('"segments"')) changed.push(name);
    }
    for (const name of this.flagJson.keys()) if (!json.has(name)) changed.push(name);
    return changed;
  }

  private persist(path: string, config: ClientFeaturesResponse): void {
    this.cacheWrite = this.cacheWrite
      .then(() => writeConfiguration(path, config))
      .catch((e: unknown) => this.logger.warn(`cache file ${path} not written: ${(e as Error).message}`));
  }
}

function isDeltaEvent(body: unknown): body is DeltaEvent {
  const type = (body as { type?: unknown } | null)?.type;
  return (
    type === 'hydration' ||
    type === 'feature-updated' ||
    type === 'feature-removed' ||
    type === 'segment-updated' ||
    type === 'segment-removed'
  );
}
