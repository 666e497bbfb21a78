import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal, READERS } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { HttpAllowlistEntity } from '../operations/http-allowlist.entity';

export class HttpAllowlistDto {
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(500, { each: true })
  // A prefix must name at least scheme://host/ so that "http" alone cannot allow everything.
  @Matches(/^https?:\/\/[^/\s]+\/\S*$/, {
    each: true,
    message: 'each prefix must look like https://host/ or https://host/path',
  })
  prefixes!: string[];
}

/** The URL prefixes the `http` operation may call; replaced as a whole by an admin. */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('api/operations/http/allowlist')
export class HttpAllowlistController {
  constructor(private readonly tx: TransactionRunner) {}

  @Get()
  @Access(...READERS)
  async get() {
    const rows = await this.tx.run((tx) =>
      tx.manager.find(HttpAllowlistEntity, { order: { prefix: 'ASC' } }),
    );
    return { prefixes: rows.map((r) => r.prefix) };
  }

  @Put()
  @Access('admin', 'token:admin')
  async put(@CurrentPrincipal() p: Principal, @Body() dto: HttpAllowlistDto) {
    const prefixes = [...new Set(dto.prefixes)].sort();
    await this.tx.run(async (tx) => {
      await tx.manager.createQueryBuilder().delete().from(HttpAllowlistEntity).execute();
      for (const prefix of prefixes) {
        await tx.manager.insert(HttpAllowlistEntity, { prefix, createdBy: actorId(p), createdAt: tx.now });
      }
      tx.audit({
        actor: actorId(p),
        action: 'http_allowlist.replaced',
        entityType: 'http_allowlist',
        entityId: 'http',
        data: { prefixes },
      });
      tx.emit({
        type: 'http_allowlist.replaced',
        entityType: 'http_allowlist',
        entityId: 'http',
        actor: actorId(p),
        data: { prefixes },
      });
    });
    return { prefixes };
  }
}
