// One list with cursor pagination for the pages that show a filtered server list (audit log, tenants): the data
// hook reads the first page whenever the filters change (debounced 150 ms; rows of other filters are never shown)
// and appends the next page on "Load more"; the component draws the error, the empty text, the rows and the button.
import { ReactNode, useCallback, useEffect, useState } from 'react';
import { errorText, get, qs } from '../api';
import type { Page } from '../types';
import { Empty, ErrorBox } from './ui';

type Params = Record<string, string | number | undefined | null>;

export interface PagedData<T> {
  items: T[] | null;
  next: string | undefined;
  error: string | null;
  more: () => Promise<void>;
}

export function usePagedList<T>(path: string, params: Params, limit = 100): PagedData<T> {
  const filters = qs({ ...params, limit });
  // The rows are tagged with the filters they answer: rows of other filters are never shown as if they matched.
  const [page, setPage] = useState<{ filters: string; items: T[] } | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const t = window.setTimeout(() => {
      get<Page<T>>(`${path}${filters}`)
        .then((p) => {
          if (!live) return;
          setPage({ filters, items: p.items });
          setNext(p.nextCursor);
          setError(null);
        })
        .catch((e: unknown) => live && setError(errorText(e)));
    }, 150);
    return () => {
      live = false;
      window.clearTimeout(t);
    };
  }, [path, filters]);
  const more = useCallback(async () => {
    if (!next) return;
    try {
      // `filters` always holds the limit, so the cursor follows with '&'.
      const p = await get<Page<T>>(`${path}${filters}&cursor=${encodeURIComponent(next)}`);
      setPage((prev) => (prev && prev.filters === filters ? { filters, items: [...prev.items, ...p.items] } : prev));
      setNext(p.nextCursor);
    } catch (e) {
      setError(errorText(e));
    }
  }, [path, filters, next]);
  const current = page && page.filters === filters;
  return { items: current ? page.items : null, next: current ? next : undefined, error, more };
}

/** The list's frame: error, "nothing matches", the rows (only when there are some) and "Load more". */
export function PagedList<T>(props: { data: PagedData<T>; empty: string; children: (items: T[]) => ReactNode }) {
  const { items, next, error, more } = props.data;
  return (
    <>
      <ErrorBox error={error} />
      {!items && !error && <p className="loading">Loading…</p>}
      {items && items.length === 0 && <Empty>{props.empty}</Empty>}
      {items && items.length > 0 && props.children(items)}
      {next && (
        <button type="button" onClick={() => void more()}>
          Load more
        </button>
      )}
    </>
  );
}
