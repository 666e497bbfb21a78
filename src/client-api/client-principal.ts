import { forbidden } from '../common/errors';
import { Principal } from '../common/principal';

/** The environment a client token is bound to (the only one it can read). */
export function clientEnvironment(p: Principal): string {
  if (p.kind !== 'token' || p.tokenKind !== 'client' || !p.environment) {
    throw forbidden('AUTH.FORBIDDEN', 'This route needs a client token bound to an environment');
  }
  return p.environment;
}
