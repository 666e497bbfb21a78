// People by name (issue 15): change requests and the audit log name people by actor id (`user:<uuid>`,
// `token:<uuid>`); the directory (GET /api/people, readable by every signed-in person) turns them into names.
// The viewer is "Name (you)"; an id nobody can resolve stays a short id.
import { createContext, useContext, useEffect, useState } from 'react';
import { get } from './api';
import { useSession } from './auth';
import type { Person, User } from './types';

export interface Directory {
  /** By actor id (`user:<uuid>`) and by plain user id. */
  byId: Map<string, Person>;
  list: Person[];
}

export const NamesContext = createContext<Directory>({ byId: new Map(), list: [] });

export function useNamesLoader(user: User | null): Directory {
  const [dir, setDir] = useState<Directory>({ byId: new Map(), list: [] });
  useEffect(() => {
    if (!user) return;
    get<{ items: Person[] }>('/api/people')
      .then((r) => {
        const byId = new Map<string, Person>();
        for (const p of r.items) {
          byId.set(p.id, p);
          if (p.id.startsWith('user:')) byId.set(p.id.slice(5), p);
        }
        setDir({ byId, list: r.items });
      })
      .catch(() => undefined);
  }, [user]);
  return dir;
}

export function useDirectory(): Directory {
  return useContext(NamesContext);
}

/** A readable label for an actor id or a person: "Name (you)", a known name, "Wavegate", or a short id. */
export function useWho(): (actor: string | Person | undefined | null) => string {
  const { user } = useSession();
  const { byId } = useContext(NamesContext);
  return (actor) => {
    if (!actor) return '—';
    if (typeof actor === 'object') return actor.id === `user:${user.id}` ? `${actor.name} (you)` : actor.name;
    const id = actor.startsWith('user:') ? actor.slice(5) : actor;
    if (id === user.id) return `${user.name} (you)`;
    const p = byId.get(actor) ?? byId.get(id);
    if (p) return p.name;
    if (actor === 'system' || actor.startsWith('system')) return 'Wavegate';
    if (actor.startsWith('user:')) return `user ${id.slice(0, 8)}`;
    if (actor.startsWith('token:')) return `token ${actor.slice(6, 14)}`;
    return actor.length > 24 ? `${actor.slice(0, 24)}…` : actor;
  };
}
