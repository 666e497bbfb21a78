import { createContext, useContext } from 'react';
import type { Role, User } from './types';

export interface Session {
  user: User;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

export const hasRole = (u: User, ...roles: Role[]) => roles.some((r) => u.roles.includes(r));
