import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { DomainError } from '../common/errors';
import { actorId, Principal, READERS } from '../common/principal';
import { ProposeProviderDto, SyncInventoryDto } from './dto/provider.dto';
import { InventorySyncService } from './inventory.sync';
import { ProvidersService } from './providers.service';

/** A definition's problems are named from the request body's root (`provider.operations[0].endpoints.apply`). */
function prefixed<T>(work: () => Promise<T>): Promise<T> {
  return work().catch((e: unknown) => {
    if (e instanceof DomainError && e.code.startsWith('PROVIDER.') && e.details)
      throw new DomainError(
        e.kind,
        e.code,
        e.message,
        e.details.map((d) => (d.field ? { ...d, field: `provider.${d.field}` } : d)),
      );
    throw e;
  });
}

@ApiTags('providers')
@ApiBearerAuth()
@Controller('api')
export class ProvidersController {
  constructor(
    private readonly providers: ProvidersService,
    private readonly inventory: InventorySyncService,
  ) {}

  /** Opens and submits a `provider.register` change request; the provider exists once it is executed. */
  @Post('providers')
  @HttpCode(202)
  @Access('admin')
  propose(@CurrentPrincipal() p: Principal, @Body() dto: ProposeProviderDto) {
    return prefixed(() => this.providers.propose(p, dto.provider, dto));
  }

  @Patch('providers/:name')
  @HttpCode(202)
  @Access('admin')
  edit(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Body() dto: ProposeProviderDto) {
    return prefixed(() => this.providers.propose(p, dto.provider, dto, name));
  }

  @Get('providers')
  @Access(...READERS)
  async list() {
    return { items: await this.providers.list() };
  }

  @Get('providers/:name')
  @Access(...READERS)
  get(@Param('name') name: string) {
    return this.providers.get(name);
  }

  @Post('inventory/sync')
  @HttpCode(200)
  @Access('admin', 'token:admin')
  async sync(@CurrentPrincipal() p: Principal, @Body() dto: SyncInventoryDto) {
    if (dto.provider) return { results: [await this.inventory.sync(dto.provider, actorId(p))], errors: [] };
    return this.inventory.syncAll(actorId(p));
  }

  @Get('inventory')
  @Access(...READERS)
  async status() {
    return { items: await this.inventory.status() };
  }
}
