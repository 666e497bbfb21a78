import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { CreateSignalDto } from './dto/signal.dto';
import { SignalsService, signalsFromAlertmanager } from './signals.service';

@ApiTags('signals')
@ApiBearerAuth()
@Controller('api/signals')
export class SignalsController {
  constructor(private readonly signals: SignalsService) {}

  @Post()
  @HttpCode(201)
  @Access('token:automation', 'token:admin', 'admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateSignalDto) {
    return this.signals.report({ ...dto, recordedBy: actorId(p) });
  }

  /**
   * Prometheus Alertmanager's webhook body; a firing alert is a signal, a resolved one is only recorded. Labels
   * `tenant`, `change_request`, `flag`, `environment` (one that names no environment leaves the signal unscoped).
   */
  @Post('alertmanager')
  @HttpCode(200)
  @Access('token:automation', 'token:admin', 'admin')
  async alertmanager(@CurrentPrincipal() p: Principal, @Body() body: Record<string, unknown>) {
    return { items: await this.signals.reportAlerts(signalsFromAlertmanager(body, actorId(p))) };
  }
}
