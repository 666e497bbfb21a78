import type {
  ClientFeature,
  ClientFeaturesDelta,
  ClientFeaturesResponse,
  DeltaEvent,
  Segment,
} from './types';

export const EMPTY_FEATURES_RESPONSE: ClientFeaturesResponse = Object.freeze({
  version: 2,
  features: [],
  segments: [],
});

// Applies Unleash delta events (GET /api/client/delta) to a features response and returns the new one;
// the input is not modified. `hydration` replaces everything, the other events upsert or remove one item.
export function applyDelta(
  state: ClientFeaturesResponse,
  delta: ClientFeaturesDelta | readonly DeltaEvent[],
): ClientFeaturesResponse {
  const events = Array.isArray(delta)
    ? (delta as readonly DeltaEvent[])
    : (delta as ClientFeaturesDelta).events;
  const features = new Map<string, ClientFeature>(state.features.map((f) => [f.name, f]));
  const segments = new Map<number, Segment>((state.segments ?? []).map((s) => [s.id, s]));
  for (const event of events) {
    switch (event.type) {
      case 'hydration':
        features.clear();
        segments.clear();
        for (const f of event.features) features.set(f.name, f);
        for (const s of event.segments ?? []) segments.set(s.id, s);
        break;
      case 'feature-updated':
        features.set(event.feature.name, event.feature);
        break;
      case 'feature-removed':
        features.delete(event.featureName);
        break;
      case 'segment-updated':
        segments.set(event.segment.id, event.segment);
        break;
      case 'segment-removed':
        segments.delete(event.segmentId);
        break;
    }
  }
  return { ...state, features: [...features.values()], segments: [...segments.values()] };
}

// Whether a parsed JSON body is a delta (`{events}`) rather than a full response (`{version, features}`).
export function isDelta(body: unknown): body is ClientFeaturesDelta {
  return typeof body === 'object' && body !== null && Array.isArray((body as { events?: unknown }).events);
}
