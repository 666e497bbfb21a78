import { Body, Controller, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { forbidden } from '../common/errors';
import { Principal } from '../common/principal';
import { clientEnvironment } from '../client-api/client-principal';
import { etagMatches } from '../client-api/etag';
import { strongEtag, ServedFeature } from '../flags/domain/snapshot.builder';
import { Snapshot, SnapshotService } from '../flags/snapshot.service';
import { evaluateOne, OfrepFailure, toUnleashContext } from './ofrep.mapper';

const featureIndex = new WeakMap<Snapshot, Map<string, ServedFeature>>();
function features(s: Snapshot): Map<string, ServedFeature> {
  let m = featureIndex.get(s);
  if (!m) featureIndex.set(s, (m = new Map(s.json.features.map((f) => [f.name, f]))));
  return m;
}

const STATUS: Record<OfrepFailure['errorCode'], number> = {
  PARSE_ERROR: 400,
  INVALID_CONTEXT: 400,
  TARGETING_KEY_MISSING: 400,
  FLAG_NOT_FOUND: 404,
  GENERAL: 500,
};

/** OpenFeature Remote Evaluation Protocol, evaluated with Wavegate's engine over the environment's snapshot. */
@ApiTags('ofrep')
@ApiBearerAuth()
@Controller('ofrep/v1/evaluate')
export class OfrepController {
  constructor(private readonly snapshots: SnapshotService) {}

  private snapshot(p: Principal): Snapshot {
    const env = clientEnvironment(p);
    const s = this.snapshots.get(env);
    if (!s) throw forbidden('CLIENT.UNKNOWN_ENVIRONMENT', `The token's environment ${env} does not exist`);
    return s;
  }

  @Post('flags/:key')
  @Access('token:client')
  one(
    @CurrentPrincipal() p: Principal,
    @Param('key') key: string,
    @Body() body: unknown,
    @Res() res: Response,
  ): void {
    const s = this.snapshot(p);
    const ctx = toUnleashContext(body);
    const result = 'errorCode' in ctx ? { ...ctx, key } : evaluateOne(s.evaluator(), features(s), key, ctx);
    res.status('errorCode' in result ? STATUS[result.errorCode] : 200).json(result);
  }

  /** Every flag of the environment for one context; ETag over the result, 304 on `If-None-Match`. */
  @Post('flags')
  @Access('token:client')
  bulk(
    @CurrentPrincipal() p: Principal,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): void {
    const s = this.snapshot(p);
    const ctx = toUnleashContext(body);
    if ('errorCode' in ctx) {
      res.status(400).json({ errorCode: ctx.errorCode, errorDetails: ctx.errorDetails });
      return;
    }
    const evaluator = s.evaluator();
    const index = features(s);
    const flags = s.json.features.map((f) => evaluateOne(evaluator, index, f.name, ctx));
    const bytes = Buffer.from(JSON.stringify({ flags }));
    const etag = strongEtag(bytes);
    res.setHeader('ETag', etag);
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(bytes);
  }
}
