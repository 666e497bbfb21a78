import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { AccessRule, actorId, Principal, READERS } from '../common/principal';
import { CreateAppDto, CreateTenantDto, ListTenantsQueryDto, UpdateTenantDto } from './dto/tenant.dto';
import { TenantsService } from './tenants.service';

// Inventory writes are creation and non-destructive edits; an inventory sync job holds an automation token.
const INVENTORY_WRITERS: AccessRule[] = ['maker', 'admin', 'token:admin', 'token:automation'];

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('api')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post('apps')
  @Access(...INVENTORY_WRITERS)
  createApp(@CurrentPrincipal() p: Principal, @Body() dto: CreateAppDto) {
    return this.tenants.createApp(actorId(p), dto);
  }

  @Get('apps')
  @Access(...READERS)
  async listApps() {
    return { items: await this.tenants.listApps() };
  }

  /** One tenant `{id, name, tier, ...}`, many `{tenants: [...]}`, or a CSV body (`Content-Type: text/csv`). */
  @Post('tenants')
  @Access(...INVENTORY_WRITERS)
  @ApiConsumes('application/json', 'text/csv')
  @ApiBody({ type: CreateTenantDto })
  create(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    if (typeof body === 'string') return this.tenants.importCsv(actorId(p), body);
    if (body !== null && typeof body === 'object' && 'tenants' in body) {
      const { tenants, ...rest } = body as { tenants: unknown };
      if (Object.keys(rest).length === 0) return this.tenants.importMany(actorId(p), tenants);
    }
    return this.tenants.createOne(actorId(p), body);
  }

  @Get('tenants')
  @Access(...READERS)
  list(@Query() q: ListTenantsQueryDto) {
    return this.tenants.list({ ...q, limit: q.limit ?? 100 });
  }

  @Get('tenants/:id')
  @Access(...READERS)
  get(@Param('id') id: string) {
    return this.tenants.get(id);
  }

  @Patch('tenants/:id')
  @Access(...INVENTORY_WRITERS)
  update(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: UpdateTenantDto) {
    return this.tenants.update(actorId(p), id, dto);
  }
}
