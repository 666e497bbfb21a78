import type { MetricsBucket } from './types';

// One variant's count in a bucket. `key` is the variant result object the evaluator returns for it (results
// are precomputed and frozen): the hot path finds the cell by identity, with no lookup by name.
interface VariantCell {
  name: string;
  key: object | undefined;
  n: number;
}

export interface ToggleCounter {
  yes: number;
  no: number;
  // In first-seen order; at most MAX_VARIANTS_PER_FLAG.
  cells: VariantCell[];
  // The same cells by name. Prototype-less dictionaries (here and for the flags): any name, `__proto__`
  // included, is an ordinary key.
  variants: Record<string, VariantCell | undefined>;
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
    if (counter !== undefined) {
      countIn(counter, enabled);
      this.countVariantByName(counter, variant, undefined);
    }
  }

  // The flag's counter in the current bucket (created if need be), for countIn() and countVariantIn()
  // until the generation changes; undefined when the bucket is full (the evaluation counts as dropped).
  counterFor(flag: string): ToggleCounter | undefined {
    const counter = this.toggles[flag];
    return counter !== undefined ? counter : this.add(flag);
  }

  // Counts a variant result from the evaluator: found by identity when it has been seen in this bucket.
  countVariantIn(counter: ToggleCounter, enabled: boolean, variant: { readonly name: string }): void {
    countIn(counter, enabled);
    const cells = counter.cells;
    for (let k = 0; k < cells.length; k++) {
      if (cells[k].key === variant) {
        cells[k].n++;
        return;
      }
    }
    // Only frozen results are kept as keys: a caller's fallback is a new object on every call.
    this.countVariantByName(counter, variant.name, Object.isFrozen(variant) ? variant : undefined);
  }

  private countVariantByName(counter: ToggleCounter, name: string, key: object | undefined): void {
    const cell = counter.variants[name];
    if (cell !== undefined) {
      cell.n++;
      if (cell.key === undefined) cell.key = key;
    } else if (counter.cells.length < MAX_VARIANTS_PER_FLAG) {
      const fresh: VariantCell = { name, key, n: 1 };
      counter.cells.push(fresh);
      setOwn(counter.variants, name, fresh);
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
      for (const cell of c.cells) setOwn(variants, cell.name, cell.n);
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
      for (const [variant, n] of Object.entries(t.variants)) {
        const cell = counter.variants[variant];
        if (cell !== undefined) cell.n += n;
        else if (counter.cells.length < MAX_VARIANTS_PER_FLAG) {
          const fresh: VariantCell = { name: variant, key: undefined, n };
          counter.cells.push(fresh);
          setOwn(counter.variants, variant, fresh);
        }
      }
    }
  }

  private add(flag: string): ToggleCounter | undefined {
    if (this.flagCount >= this.maxFlags) {
      this.dropped++;
      return undefined;
    }
    const counter: ToggleCounter = { yes: 0, no: 0, cells: [], variants: dictionary() };
    this.toggles[flag] = counter;
    this.flagCount++;
    return counter;
  }
}
