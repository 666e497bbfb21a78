import type { ErrorReport } from './types';

const MAX_MESSAGE_LENGTH = 500;

// Counts errors per (flag, tenant) between two sends, keeping the latest message. At most `maxKeys`
// distinct pairs are kept; beyond that an error is added to the flag's tenant-less count, so a flag's
// total is never lost, only its split by tenant.
export class ErrorAggregator {
  private entries = new Map<string, ErrorReport>();

  constructor(private readonly maxKeys: number) {}

  add(flag: string, tenantId: string | undefined, message: string, count = 1): void {
    let key = tenantId === undefined ? flag : `${flag}\u0000${tenantId}`;
    let entry = this.entries.get(key);
    if (entry === undefined && this.entries.size >= this.maxKeys && tenantId !== undefined) {
      key = flag;
      tenantId = undefined;
      entry = this.entries.get(key);
    }
    if (entry === undefined) {
      // The tenant-less entry of a flag is always admitted, one per flag at most beyond the bound.
      if (this.entries.size >= this.maxKeys * 2) return;
      entry = { flag, count: 0, message: '' };
      if (tenantId !== undefined) entry.tenantId = tenantId;
      this.entries.set(key, entry);
    }
    entry.count += count;
    entry.message = message.slice(0, MAX_MESSAGE_LENGTH);
  }

  get size(): number {
    return this.entries.size;
  }

  take(): ErrorReport[] {
    const out = [...this.entries.values()];
    this.entries = new Map();
    return out;
  }

  restore(reports: ErrorReport[]): void {
    for (const r of reports) this.add(r.flag, r.tenantId, r.message, r.count);
  }
}

export function errorMessage(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
