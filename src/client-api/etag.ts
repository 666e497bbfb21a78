// Conditional GETs of the client API and OFREP: does the client's If-None-Match name the current ETag?
/** `If-None-Match` holds the ETag (or a list of them, or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === etag || v === `W/${etag}`;
  });
}
