export type Role = 'viewer' | 'maker' | 'checker' | 'admin';
export const ROLES: Role[] = ['viewer', 'maker', 'checker', 'admin'];
export type TokenKind = 'admin' | 'automation' | 'client';
export const TOKEN_KINDS: TokenKind[] = ['admin', 'automation', 'client'];

/** Who is calling: a signed-in person, or an API token. */
export type Principal =
  | { kind: 'user'; id: string; email: string; name: string; roles: Role[]; sessionId?: string }
  | {
      kind: 'token';
      id: string;
      name: string;
      tokenKind: TokenKind;
      environment: string | null;
      createdBy: string;
    };

/** The id written to the audit log for a principal. */
export function actorId(p: Principal): string {
  return p.kind === 'user' ? `user:${p.id}` : `token:${p.id}`;
}

/**
 * An access rule names a human role or a token kind. Routes list the rules that may call them
 * (`@Access('checker')`, `@Access(...READERS)`); a principal passes when it matches any rule.
 */
export type AccessRule = Role | `token:${TokenKind}`;

export const READERS: AccessRule[] = [
  'viewer',
  'maker',
  'checker',
  'admin',
  'token:admin',
  'token:automation',
];

export function matchesRule(p: Principal, rule: AccessRule): boolean {
  if (rule.startsWith('token:')) return p.kind === 'token' && `token:${p.tokenKind}` === rule;
  // Tokens never hold human roles: approvals and other people-only acts need a person.
  return p.kind === 'user' && p.roles.includes(rule as Role);
}
