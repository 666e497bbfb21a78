import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Access, Public } from '../common/auth.decorators';
import { ReplicaLifecycle } from '../common/replica-lifecycle';
import { MetricsService } from './metrics.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly lifecycle: ReplicaLifecycle,
  ) {}

  @Public()
  @Get('health/live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /**
   * Ready when the replica is not shutting down, the database answers and every migration is applied. On SIGTERM this
   * turns 503 first (`replica: draining`), while the replica still serves, so the load balancer moves away before the
   * streams are closed (docs/operations.md, "Health checks").
   */
  @Public()
  @Get('health/ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, string> = {};
    if (this.lifecycle.draining) {
      res.status(503);
      return { status: 'unavailable', checks: { replica: 'draining' } };
    }
    try {
      await this.dataSource.query('SELECT 1');
      checks.database = 'ok';
      checks.migrations = (await this.dataSource.showMigrations()) ? 'pending' : 'ok';
    } catch (e) {
      checks.database = `error: ${e instanceof Error ? e.message.slice(0, 200) : 'unreachable'}`;
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  @Get('metrics')
  @Access('admin', 'token:admin', 'token:automation')
  @Header('Cache-Control', 'no-store')
  async prometheus(@Res() res: Response) {
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }
}
