import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { CreateSignalDto } from './dto/signal.dto';
import { SignalsService, signalsFromAlertmanager } from './signals.service';

@ApiTags('signals')
@ApiBearerAuth()
@Controller('api/signals')
export class SignalsController {
  constructor(
    private readonly signals: SignalsService,
    private readonly tx: TransactionRunner,
  ) {}

  @Post()
  @HttpCode(201)
  @Access('token:automation', 'token:admin', 'admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateSignalDto) {
    return this.signals.report({ ...dto, recordedBy: actorId(p) });
  }

  /** Prometheus Alertmanager's webhook body; a firing alert is a signal, a resolved one is only recorded. */
  @Post('alertmanager')
  @HttpCode(200)
  @Access('token:automation', 'token:admin', 'admin')
  async alertmanager(@CurrentPrincipal() p: Principal, @Body() body: Record<string, unknown>) {
    const inputs = signalsFromAlertmanager(body, actorId(p));
    const recorded = await this.tx.run(async (tx) => {
      const out = [];
      for (const s of inputs) out.push(await this.signals.record(tx, s));
      return out;
    });
    return { items: recorded };
  }
}
