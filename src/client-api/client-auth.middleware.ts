import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const RAW_TOKEN_RE = /^wg[acu]_[A-Za-z0-9_-]{43}$/;

/**
 * Unleash SDKs send the API token as the whole `Authorization` header, without `Bearer `. On the client API and
 * OFREP routes such a header is read as a bearer token, so existing SDKs work unchanged.
 */
@Injectable()
export class RawTokenMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const h = req.headers.authorization;
    if (typeof h === 'string' && RAW_TOKEN_RE.test(h)) req.headers.authorization = `Bearer ${h}`;
    next();
  }
}
