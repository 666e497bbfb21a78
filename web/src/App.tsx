import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, get, post, setUnauthorizedHandler } from './api';
import { hasRole, Session, SessionContext, useSession } from './auth';
import { Link, match, navigate, useLocation } from './router';
import type { User } from './types';
import { NamesContext, useNamesLoader } from './who';
import { AuditPage } from './pages/AuditPage';
import { ChangeRequestPage } from './pages/ChangeRequestPage';
import { FlagsPage } from './pages/FlagsPage';
import { InboxPage } from './pages/InboxPage';
import { LoginPage } from './pages/LoginPage';
import { NewChangeRequestPage } from './pages/NewChangeRequestPage';
import { ProfilePage } from './pages/ProfilePage';
import { TenantPage, TenantsPage } from './pages/TenantsPage';

// Whether this browser signed in: only then is the session cookie worth checking, so that a first visit shows the
// login form without a failing request.
const SIGNED_IN = 'wavegate.signedIn';

export function App() {
  const loc = useLocation();
  const [user, setUser] = useState<User | null>(null);
  const [checking, setChecking] = useState(() => localStorage.getItem(SIGNED_IN) === '1');

  useEffect(() => {
    if (!checking) return;
    get<User & { kind?: string }>('/api/auth/me')
      .then((u) => setUser(u))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) localStorage.removeItem(SIGNED_IN);
      })
      .finally(() => setChecking(false));
  }, [checking]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      localStorage.removeItem(SIGNED_IN);
      setUser(null);
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await post('/api/auth/logout');
    } finally {
      localStorage.removeItem(SIGNED_IN);
      setUser(null);
      navigate('/login');
    }
  }, []);

  const names = useNamesLoader(user);
  const session: Session | null = useMemo(() => (user ? { user, signOut } : null), [user, signOut]);

  if (checking) return <p className="loading">Loading…</p>;
  if (!session) {
    return (
      <LoginPage
        onSignedIn={(u) => {
          localStorage.setItem(SIGNED_IN, '1');
          setUser(u);
          const next = loc.query.get('next');
          navigate(loc.path === '/login' ? (next && next.startsWith('/') ? next : '/') : `${loc.path}${loc.query.size ? `?${loc.query}` : ''}`, {
            replace: true,
          });
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <NamesContext.Provider value={names}>
        <Header />
        <main id="main" tabIndex={-1}>
          <Routes />
        </main>
      </NamesContext.Provider>
    </SessionContext.Provider>
  );
}

function Header() {
  const loc = useLocation();
  const { user, signOut } = useSession();
  const nav: [string, string][] = [
    ['/', 'Inbox'],
    ['/tenants', 'Tenants'],
    ['/flags', 'Flags'],
    ['/audit', 'Audit'],
  ];
  const active = (to: string) => (to === '/' ? loc.path === '/' || loc.path.startsWith('/change-requests') : loc.path.startsWith(to));
  return (
    <header className="topbar">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Link to="/" className="brand">
        Wavegate
      </Link>
      <nav aria-label="Main">
        {nav.map(([to, label]) => (
          <Link key={to} to={to} aria-current={active(to) ? 'page' : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      <div className="who" aria-label="Signed in as">
        <Link to="/profile" className="who-name" data-testid="user-name" aria-current={loc.path === '/profile' ? 'page' : undefined}>
          {user.name}
        </Link>
        <span className="who-roles" data-testid="user-roles">
          {user.roles.join(', ')}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Routes() {
  const loc = useLocation();
  const { user } = useSession();
  const p = loc.path;
  if (p === '/' || p === '/login') return <InboxPage />;
  if (p === '/change-requests/new') return hasRole(user, 'maker', 'admin') ? <NewChangeRequestPage /> : <Forbidden what="create change requests" />;
  let m = match('/change-requests/:id', p);
  if (m) return <ChangeRequestPage key={m.id} id={m.id} />;
  if (p === '/tenants') return <TenantsPage />;
  m = match('/tenants/:id', p);
  if (m) return <TenantPage key={m.id} id={m.id} />;
  if (p === '/flags') return <FlagsPage />;
  m = match('/flags/:key', p);
  if (m) return <FlagsPage flagKey={m.key} />;
  if (p === '/audit') return <AuditPage />;
  if (p === '/profile') return <ProfilePage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{p}</code>. <Link to="/">Go to the inbox</Link>.
      </p>
    </section>
  );
}

function Forbidden({ what }: { what: string }) {
  return (
    <section>
      <h1>Not allowed</h1>
      <p>You need the maker role to {what}.</p>
    </section>
  );
}
