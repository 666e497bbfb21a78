// Time until a scheduled start, as a release manager reads it ("in 2 h 05 min", "in 45 s", "due now"), and a hook
// that re-renders every second while a countdown is on screen.
import { useEffect, useState } from 'react';

export function countdownText(ms: number): string {
  if (ms <= 0) return 'due now';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `in ${d} d ${h} h`;
  if (h > 0) return `in ${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `in ${m} min ${String(sec).padStart(2, '0')} s`;
  return `in ${sec} s`;
}

/** The current time, updated every `everyMs` while `on`. */
export function useNow(on: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [on, everyMs]);
  return now;
}
