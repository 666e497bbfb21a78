import { createContext, useContext, useEffect, useState } from 'react';
import { get } from './api';
import { useSession } from './auth';
import type { User } from './types';

// Change requests and the audit log name people by actor id (`user:<uuid>`). Admins may list users, so for them the
// ids become names; everyone else sees their own name and short ids.
export const NamesContext = createContext<Map<string, string>>(new Map());

export function useNamesLoader(user: User | null): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (!user?.roles.includes('admin')) return;
    get<{ items: { id: string; name: string }[] }>('/api/users')
      .then((r) => setNames(new Map(r.items.map((u) => [u.id, u.name]))))
      .catch(() => undefined);
  }, [user]);
  return names;
}

/** A readable label for an actor id: "Name (you)", a known name, "system", or a short id. */
export function useWho(): (actor: string | undefined | null) => string {
  const { user } = useSession();
  const names = useContext(NamesContext);
  return (actor) => {
    if (!actor) return '—';
    const id = actor.startsWith('user:') ? actor.slice(5) : actor;
    if (id === user.id) return `${user.name} (you)`;
    const name = names.get(id);
    if (name) return name;
    if (actor.startsWith('user:')) return `user ${id.slice(0, 8)}`;
    return actor.length > 24 ? `${actor.slice(0, 24)}…` : actor;
  };
}
