import type { MetricsBucket } from './types';

interface ToggleCounter {
  yes: number;
  no: number;
  variants: Record<string, number>;
  variantCount: number;
}

const MAX_VARIANTS_PER_FLAG = 100;

// Counts evaluations per flag between two sends, in the Unleash metrics bucket format. Memory is bounded:
// at most `maxFlags` flags and 100 variant names per flag are kept per bucket; evaluations beyond that are
// counted in `dropped` only (a service asking for millions of distinct unknown names cannot grow it).
export class MetricsAggregator {
  private toggles = new Map<string, ToggleCounter>();
  private start: number;
  dropped = 0;

  constructor(
    private readonly maxFlags: number,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  count(flag: string, enabled: boolean): void {
    let counter = this.toggles.get(flag);
    if (counter === undefined) {
      counter = this.add(flag);
      if (counter === undefined) return;
    }
    if (enabled) counter.yes++;
    else counter.no++;
  }

  countVariant(flag: string, enabled: boolean, variant: string): void {
    let counter = this.toggles.get(flag);
    if (counter === undefined) {
      counter = this.add(flag);
      if (counter === undefined) return;
    }
    if (enabled) counter.yes++;
    else counter.no++;
    const current = counter.variants[variant];
    if (current !== undefined) counter.variants[variant] = current + 1;
    else if (counter.variantCount < MAX_VARIANTS_PER_FLAG) {
      counter.variants[variant] = 1;
      counter.variantCount++;
    } else this.dropped++;
  }

  get size(): number {
    return this.toggles.size;
  }

  // Takes the bucket and starts a new one; undefined when nothing was counted.
  take(): MetricsBucket | undefined {
    const stop = this.now();
    const toggles = this.toggles;
    const start = this.start;
    this.toggles = new Map();
    this.start = stop;
    if (toggles.size === 0) return undefined;
    const out: MetricsBucket['toggles'] = {};
    for (const [name, c] of toggles) out[name] = { yes: c.yes, no: c.no, variants: c.variants };
    return { start: new Date(start).toISOString(), stop: new Date(stop).toISOString(), toggles: out };
  }

  // Puts back a bucket whose send failed, so that counts are not lost across a short outage.
  restore(bucket: MetricsBucket): void {
    this.start = Math.min(this.start, Date.parse(bucket.start));
    for (const [name, t] of Object.entries(bucket.toggles)) {
      let counter = this.toggles.get(name);
      if (counter === undefined) {
        counter = this.add(name);
        if (counter === undefined) continue;
      }
      counter.yes += t.yes;
      counter.no += t.no;
      for (const [variant, n] of Object.entries(t.variants)) {
        if (counter.variants[variant] !== undefined) counter.variants[variant] += n;
        else if (counter.variantCount < MAX_VARIANTS_PER_FLAG) {
          counter.variants[variant] = n;
          counter.variantCount++;
        }
      }
    }
  }

  private add(flag: string): ToggleCounter | undefined {
    if (this.toggles.size >= this.maxFlags) {
      this.dropped++;
      return undefined;
    }
    const counter: ToggleCounter = { yes: 0, no: 0, variants: {}, variantCount: 0 };
    this.toggles.set(flag, counter);
    return counter;
  }
}
