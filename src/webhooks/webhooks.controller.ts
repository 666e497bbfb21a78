import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { UuidParam } from '../common/params';
import { actorId, Principal } from '../common/principal';
import { AllowlistDto, CreateWebhookDto, DeliveriesQueryDto, UpdateWebhookDto } from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

// Webhooks are admin business: a URL may itself be a credential (Slack incoming webhooks), and a subscription
// decides where data leaves the system. The allowlist routes come first so that `allowlist` is never taken for an id.
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get('allowlist')
  @Access('admin', 'token:admin')
  getAllowlist() {
    return this.webhooks.getAllowlist();
  }

  @Put('allowlist')
  @Access('admin', 'token:admin')
  setAllowlist(@CurrentPrincipal() p: Principal, @Body() dto: AllowlistDto) {
    return this.webhooks.setAllowlist(actorId(p), dto);
  }

  /** The response carries the signing secret; it is never shown again. */
  @Post()
  @Access('admin', 'token:admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateWebhookDto) {
    return this.webhooks.create(actorId(p), dto);
  }

  @Get()
  @Access('admin', 'token:admin')
  async list() {
    return { items: await this.webhooks.list() };
  }

  @Get(':id')
  @Access('admin', 'token:admin')
  get(@UuidParam('id') id: string) {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @Access('admin', 'token:admin')
  update(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: UpdateWebhookDto) {
    return this.webhooks.update(actorId(p), id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('admin', 'token:admin')
  async remove(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string): Promise<void> {
    await this.webhooks.remove(actorId(p), id);
  }

  /** Sends a signed `webhook.ping` now and reports the receiver's answer. */
  @Post(':id/test')
  @HttpCode(200)
  @Access('admin', 'token:admin')
  test(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string) {
    return this.webhooks.ping(actorId(p), id);
  }

  @Get(':id/deliveries')
  @Access('admin', 'token:admin')
  deliveries(@UuidParam('id') id: string, @Query() q: DeliveriesQueryDto) {
    return this.webhooks.deliveries(id, q);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @Access('admin', 'token:admin')
  redeliver(
    @CurrentPrincipal() p: Principal,
    @UuidParam('id') id: string,
    @UuidParam('deliveryId') deliveryId: string,
  ) {
    return this.webhooks.redeliver(actorId(p), id, deliveryId);
  }
}
