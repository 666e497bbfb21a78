import {
  appendEntry,
  ArchiveEntry,
  ArchiveManifest,
  chainProblems,
  emptyManifest,
  expiredEntries,
  RetentionPolicy,
  windowStart,
} from './archive.manifest';

const H = 3_600_000;
const policy: RetentionPolicy = { allSeconds: 3600, hourlySeconds: 86_400, dailyDays: 30 };

/** A manifest with a base every 15 minutes and a segment every 5 minutes for `days` days from t0. */
function history(t0: number, days: number): ArchiveManifest {
  const m = emptyManifest();
  let pos = 0;
  for (let t = t0; t < t0 + days * 24 * H; t += 5 * 60_000) {
    const at = new Date(t).toISOString();
    appendEntry(m, {
      kind: 'segment',
      file: `segment-${pos + 1}-${pos + 10}.wga`,
      sha256: 'x',
      size: 1,
      paritySha256: 'y',
      after: pos,
      to: pos + 10,
      firstAt: at,
      lastAt: at,
      createdAt: at,
    });
    pos += 10;
    if ((t - t0) % (15 * 60_000) === 0)
      appendEntry(m, {
        kind: 'base',
        file: `base-${t}.wga`,
        sha256: 'x',
        size: 1,
        paritySha256: 'y',
        after: pos,
        to: pos,
        firstAt: at,
        lastAt: at,
        createdAt: at,
      });
  }
  return m;
}

/** Times parsed once: the checks below look at thousands of moments. */
function parsed(entries: ArchiveEntry[]) {
  return entries.map((e) => ({
    e,
    at: Date.parse(e.lastAt as string),
    first: Date.parse(e.firstAt as string),
  }));
}

/**
 * Whether the moment can be rebuilt from what is kept: a kept base at or before it, and no deleted segment that holds
 * a change after that base and not after the moment. Judged from the files, not from the rule that chose them.
 */
function restorable(
  keptBases: ReturnType<typeof parsed>,
  goneSegments: ReturnType<typeof parsed>,
  at: number,
): boolean {
  let base: ArchiveEntry | undefined;
  for (const b of keptBases) if (b.at <= at) base = b.e;
  if (!base) return false;
  const from = base.to;
  return !goneSegments.some((s) => s.e.to > from && s.first <= at);
}

describe('archive retention (pure, on a fake clock)', () => {
  const t0 = Date.parse('2026-11-01T00:00:00.000Z');
  const m = history(t0, 40);
  const now = new Date(t0 + 40 * 24 * H);
  const start = windowStart(now, policy);
  const gone = new Set(expiredEntries(m, now, policy).map((e) => e.seq));
  const kept = m.entries.filter((e) => !gone.has(e.seq));
  const keptBases = kept.filter((e) => e.kind === 'base').map((e) => Date.parse(e.lastAt as string));

  it('keeps every base of the last hour, the first of each hour for a day, the first of each day for 30 days', () => {
    expect(start).toBe(now.getTime() - 25 * H - 30 * 24 * H);
    const lastHour = keptBases.filter((t) => now.getTime() - t <= H);
    expect(lastHour).toHaveLength(4);
    const hourly = keptBases.filter((t) => now.getTime() - t > H && now.getTime() - t <= 25 * H);
    expect(hourly.every((t) => t % H === 0)).toBe(true);
    expect(hourly).toHaveLength(24);
    // The daily tier: the first base of each day (midnight here), and the newest base at or before the window's
    // start, which the moments from the start to the next midnight need. Here a base falls exactly at the start
    // (23:00, 25 h + 30 days ago), so that base is the anchor; no older base survives.
    const daily = keptBases.filter((t) => now.getTime() - t > 25 * H);
    expect(daily.filter((t) => t % (24 * H) !== 0)).toEqual([start]);
    expect(daily.filter((t) => t % (24 * H) === 0)).toHaveLength(30);
    expect(Math.min(...keptBases)).toBe(start);
    expect(gone.size).toBeGreaterThan(0);
  });

  it('every moment inside the window stays restorable; nothing kept depends on a pruned file', () => {
    const bases = parsed(kept.filter((e) => e.kind === 'base'));
    const goneSegs = parsed(m.entries.filter((e) => e.kind === 'segment' && gone.has(e.seq)));
    expect(goneSegs.length).toBeGreaterThan(0);
    for (let at = start; at <= now.getTime(); at += 7 * 60_000 + 13_000)
      expect([new Date(at).toISOString(), restorable(bases, goneSegs, at)]).toEqual([
        new Date(at).toISOString(),
        true,
      ]);
  });

  it('run every 15 minutes as time passes, it keeps the whole window restorable, including its oldest moments', () => {
    // The incremental case: files are deleted step by step, so a day's first base is long gone from the
    // hourly tier's leftovers by the time it ages out; the window's start must still have a base before it.
    const small: RetentionPolicy = { allSeconds: 1800, hourlySeconds: 6 * 3600, dailyDays: 2 };
    const full = history(t0, 5);
    const live = emptyManifest();
    const goneSegs: ReturnType<typeof parsed> = [];
    let checked = 0;
    for (const e of full.entries) {
      live.entries.push(e);
      if (e.kind !== 'base') continue;
      const at = new Date(Date.parse(e.lastAt as string));
      for (const x of expiredEntries(live, at, small)) {
        live.pruned[String(x.seq)] = at.toISOString();
        if (x.kind === 'segment') goneSegs.push(...parsed([x]));
      }
      const from = windowStart(at, small);
      if (from < t0) continue; // the history is not yet as long as the window
      const bases = parsed(live.entries.filter((x) => x.kind === 'base' && !live.pruned[String(x.seq)]));
      for (let m2 = from; m2 <= at.getTime(); m2 += 11 * 60_000 + 7_000) {
        expect([at.toISOString(), new Date(m2).toISOString(), restorable(bases, goneSegs, m2)]).toEqual([
          at.toISOString(),
          new Date(m2).toISOString(),
          true,
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
    // And it does delete: what is older than the window goes, except the one base that anchors the window's start.
    const keptNow = live.entries.filter((x) => x.kind === 'base' && !live.pruned[String(x.seq)]);
    const end = new Date(Date.parse(full.entries[full.entries.length - 1].lastAt as string));
    const older = keptNow.filter((x) => Date.parse(x.lastAt as string) < windowStart(end, small));
    expect(older.length).toBeLessThanOrEqual(1);
    expect(goneSegs.length).toBeGreaterThan(0);
  });

  it('never prunes without a newer kept base, and keeps the newest base whatever its age', () => {
    const one = history(t0, 1);
    const late = new Date(t0 + 400 * 24 * H);
    const pruned = expiredEntries(one, late, policy);
    const bases = one.entries.filter((e) => e.kind === 'base');
    expect(pruned.map((e) => e.seq)).not.toContain(bases[bases.length - 1].seq);
    expect(expiredEntries(emptyManifest(), late, policy)).toEqual([]);
  });

  it('chain: an altered, removed or reordered entry and a position gap are named', () => {
    const c = history(t0, 0.1);
    expect(chainProblems(c)).toEqual([]);
    const altered = structuredClone(c);
    altered.entries[2].size = 99;
    expect(chainProblems(altered)[0]).toMatchObject({ seq: 3, reason: expect.stringContaining('altered') });
    const removed = structuredClone(c);
    removed.entries.splice(2, 1);
    const reasons = chainProblems(removed).map((p) => p.reason);
    expect(reasons.some((r) => r.includes('chain broken'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('gap'))).toBe(true);
    const swapped = structuredClone(c);
    [swapped.entries[1], swapped.entries[2]] = [swapped.entries[2], swapped.entries[1]];
    expect(chainProblems(swapped).length).toBeGreaterThan(0);
  });
});
