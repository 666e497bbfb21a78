import type { MetricsBucket } from './types';

export interface ToggleCounter {
  yes: number;
  no: number;
  // Prototype-less dictionaries (here and for the flags): a keyed load on one is about twice as fast as
  // Map.prototype.get, and any name, `__proto__` included, is an ordinary key.
  variants: Record<string, number | undefined>;
  variantCount: number;
}

function dictionary<T>(): Record<string, T | undefined> {
  return Object.create(null) as Record<string, T | undefined>;
}

const MAX_VARIANTS_PER_FLAG = 100;

// record[key] = value, also for the key `__proto__` (an own property, as JSON.parse would make it).
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

export function countIn(counter: ToggleCounter, enabled: boolean): void {
  if (enabled) counter.yes++;
  else counter.no++;
}

// Counts evaluations per flag between two sends, in the Unleash metrics bucket format. Memory is bounded:
// at most `maxFlags` flags and 100 variant names per flag are kept per bucket; evaluations beyond that are
// counted in `dropped` only (a service asking for millions of distinct unknown names cannot grow it).
export class MetricsAggregator {
  private toggles = dictionary<ToggleCounter>();
  private flagCount = 0;
  private start: number;
  dropped = 0;
  // Bumped by take(): counters from counterFor() before it belong to a bucket already taken.
  generation = 0;

  constructor(
    private readonly maxFlags: number,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  count(flag: string, enabled: boolean): void {
    const counter = this.counterFor(flag);
    if (counter !== undefined) countIn(counter, enabled);
  }

  countVariant(flag: string, enabled: boolean, variant: string): void {
    const counter = this.counterFor(flag);
    if (counter !== undefined) this.countVariantIn(counter, enabled, variant);
  }

  // The flag's counter in the current bucket (created if need be), for countIn() and countVariantIn()
  // until the generation changes; undefined when the bucket is full (the evaluation counts as dropped).
  counterFor(flag: string): ToggleCounter | undefined {
    const counter = this.toggles[flag];
    return counter !== undefined ? counter : this.add(flag);
  }

  countVariantIn(counter: ToggleCounter, enabled: boolean, variant: string): void {
    countIn(counter, enabled);
    const variants = counter.variants;
    const current = variants[variant];
    if (current !== undefined) variants[variant] = current + 1;
    else if (counter.variantCount < MAX_VARIANTS_PER_FLAG) {
      variants[variant] = 1;
      counter.variantCount++;
    } else this.dropped++;
  }

  get size(): number {
    return this.flagCount;
  }

  // Takes the bucket and starts a new one; undefined when nothing was counted.
  take(): MetricsBucket | undefined {
    const stop = this.now();
    const toggles = this.toggles;
    const flagCount = this.flagCount;
    const start = this.start;
    this.toggles = dictionary();
    this.flagCount = 0;
    this.generation++;
    this.start = stop;
    if (flagCount === 0) return undefined;
    const out: MetricsBucket['toggles'] = {};
    for (const name in toggles) {
      const c = toggles[name]!;
      const variants: Record<string, number> = {};
      for (const variant in c.variants) setOwn(variants, variant, c.variants[variant]!);
      setOwn(out, name, { yes: c.yes, no: c.no, variants });
    }
    return { start: new Date(start).toISOString(), stop: new Date(stop).toISOString(), toggles: out };
  }

  // Puts back a bucket whose send failed, so that counts are not lost across a short outage.
  restore(bucket: MetricsBucket): void {
    this.start = Math.min(this.start, Date.parse(bucket.start));
    for (const [name, t] of Object.entries(bucket.toggles)) {
      let counter = this.toggles[name];
      if (counter === undefined) {
        counter = this.add(name);
        if (counter === undefined) continue;
      }
      counter.yes += t.yes;
      counter.no += t.no;
      const variants = counter.variants;
      for (const [variant, n] of Object.entries(t.variants)) {
        const current = variants[variant];
        if (current !== undefined) variants[variant] = current + n;
        else if (counter.variantCount < MAX_VARIANTS_PER_FLAG) {
          variants[variant] = n;
          counter.variantCount++;
        }
      }
    }
  }

  private add(flag: string): ToggleCounter | undefined {
    if (this.flagCount >= this.maxFlags) {
      this.dropped++;
      return undefined;
    }
    const counter: ToggleCounter = { yes: 0, no: 0, variants: dictionary(), variantCount: 0 };
    this.toggles[flag] = counter;
    this.flagCount++;
    return counter;
  }
}
