import { existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.decorators';
import { badRequest, notFound } from '../common/errors';

export const WEB_DIST_DIR = 'WEB_DIST_DIR';

/** `web/dist` in the repository: `src/web-ui` (ts-jest) and `dist/web-ui` (compiled) are both two levels below. */
export const defaultWebDistDir = (): string => resolve(__dirname, '..', '..', 'web', 'dist');

// The UI's own files only; the API it calls stays behind the access guard. The SPA never runs inline
// scripts, so the policy can forbid them; React's style attributes need inline styles.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wavegate UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web UI has not been built</h1>
<p>The service is running and its API is available under <code>/api</code> (documented at <a href="/api/docs">/api/docs</a>),
but <code>web/dist</code> is missing, so there is no approval UI to serve.</p>
<p>Build it from the repository root with <code>npm run build</code> (or only the UI with <code>npm run build -w web</code>),
then reload this page; no restart is needed.</p>
</body></html>`;

/**
 * Serves the approval UI (web/dist, built by Vite with base /ui/) at /ui: its files as they are, and index.html for
 * every other /ui path so that links into the single-page app can be shared and reloaded. When the UI is not built
 * the page says how to build it instead of failing.
 */
@ApiExcludeController()
@Controller()
export class WebUiController {
  private readonly root: string;

  constructor(@Inject(WEB_DIST_DIR) dir: string) {
    this.root = resolve(dir);
  }

  @Public()
  @Get()
  home(@Res() res: Response): void {
    res.redirect(302, '/ui/');
  }

  @Public()
  @Get(['ui', 'ui/*path'])
  serve(@Req() req: Request, @Res() res: Response): void {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    const index = join(this.root, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('html').setHeader('Cache-Control', 'no-store').send(NOT_BUILT);
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(req.path.replace(/^\/ui\/?/, ''));
    } catch {
      // A malformed escape such as `%E0%A4%A` is the client's mistake, not a server error.
      throw badRequest('VALIDATION.BAD_PATH', 'path: malformed percent-encoding', [
        { field: 'path', reason: 'malformed percent-encoding' },
      ]);
    }
    const file = rel ? resolve(this.root, rel) : index;
    const inside = file === this.root || file.startsWith(this.root + sep);
    if (inside && rel && existsSync(file) && statSync(file).isFile()) {
      // Vite fingerprints everything under assets/, so those never change under the same name.
      const immutable = rel.startsWith('assets/');
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.sendFile(file, { dotfiles: 'deny' });
      return;
    }
    // A missing file (a path with an extension) is a 404; anything else is a route of the app.
    if (extname(rel) !== '') {
      throw notFound('UI.NOT_FOUND', 'No such file in the web UI');
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  }
}
