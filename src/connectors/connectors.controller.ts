import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Allow, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { badRequest, notFound } from '../common/errors';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal, READERS } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { ConnectorCaptureEntity } from '../snapshots/connector-capture.entity';
import { voidRestoresThrough } from './connector-restore.operation';
import { ConnectorsService } from './connectors.service';
import { parseDataConnector } from './data-connector.config';

/** Checked field by field by `parseDataConnector` (422 naming the field); declared here for the OpenAPI page. */
export class ProposeConnectorDto {
  @Allow()
  kind!: unknown;
  /** postgres://user:password@host:port/database[?schema=name]; stored sealed, never returned. */
  @Allow()
  url!: unknown;
  /** [{table, tenantColumn}] in foreign-key order (parents first). */
  @Allow()
  tables!: unknown;
}

export class ApproveConnectorDto {
  @IsString()
  @Matches(/^[0-9a-f]{64}$/, { message: 'proposalHash must be the 64-hex SHA-256 of the pending proposal' })
  proposalHash!: string;
}

export class CapturesQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  tenantId?: string;
}

const NAME = /^[a-z][a-z0-9_-]{0,99}$/;
const checkName = (name: string) => {
  if (!NAME.test(name)) {
    throw badRequest('CONNECTOR.INVALID', 'name: lowercase letters, digits, _ and -, at most 100', [
      { field: 'name', reason: 'lowercase letters, digits, _ and -, at most 100 characters' },
    ]);
  }
};

/**
 * Data connectors to the platform's database (ADR 0012). A change is proposed by an admin (checked against the
 * database first) and takes effect when a checker who did not propose it approves its proposal hash. The URL is
 * never returned, only its SHA-256.
 */
@ApiTags('connectors')
@ApiBearerAuth()
@Controller('api/connectors')
export class ConnectorsController {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly connectors: ConnectorsService,
  ) {}

  @Get()
  @Access(...READERS)
  async list() {
    return { items: await this.tx.run((t) => this.connectors.list(t.manager)) };
  }

  @Get(':name')
  @Access(...READERS)
  async get(@Param('name') name: string) {
    checkName(name);
    return this.tx.run(async (t) => {
      const all = await this.connectors.list(t.manager);
      const current = all.find((c) => c.name === name) ?? null;
      const proposal = await this.connectors.proposal(t.manager, name);
      if (!current && !proposal) throw notFound('CONNECTOR.NOT_FOUND', `no data connector named ${name}`);
      return { name, current, proposal };
    });
  }

  @Put(':name')
  @Access('admin', 'token:admin')
  async propose(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() dto: ProposeConnectorDto,
  ) {
    checkName(name);
    const spec = parseDataConnector(dto, 'body');
    await this.connectors.validate(name, spec, 'body');
    return this.tx.run(async (t) => {
      const view = await this.connectors.propose(t.manager, name, spec, actorId(p), t.now);
      const data = {
        name,
        proposalHash: view.proposalHash,
        urlHash: view.urlHash,
        tables: view.tables.length,
      };
      t.audit({
        actor: actorId(p),
        action: 'connector.proposed',
        entityType: 'connector',
        entityId: name,
        data,
      });
      t.emit({
        type: 'connector.proposed',
        entityType: 'connector',
        entityId: name,
        actor: actorId(p),
        data,
      });
      return view;
    });
  }

  @Post(':name/approve')
  @Access('checker')
  async approve(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() dto: ApproveConnectorDto,
  ) {
    checkName(name);
    return this.tx.run(async (t) => {
      const view = await this.connectors.approve(t.manager, name, dto.proposalHash, actorId(p), t.now);
      await voidRestoresThrough(t, name, view.version);
      const data = { name, proposalHash: dto.proposalHash, version: view.version, urlHash: view.urlHash };
      t.audit({
        actor: actorId(p),
        action: 'connector.approved',
        entityType: 'connector',
        entityId: name,
        data,
      });
      t.emit({
        type: 'connector.approved',
        entityType: 'connector',
        entityId: name,
        actor: actorId(p),
        data,
      });
      return view;
    });
  }

  /** Captures of tenants' rows taken through this connector (ids, hashes, counts; never the rows). */
  @Get(':name/captures')
  @Access(...READERS)
  async captures(@Param('name') name: string, @Query() q: CapturesQueryDto) {
    checkName(name);
    const rows = await this.tx.run((t) =>
      t.manager.find(ConnectorCaptureEntity, {
        where: { connector: name, ...(q.tenantId ? { tenantId: q.tenantId } : {}) },
        order: { createdAt: 'DESC' },
        take: 500,
      }),
    );
    return {
      items: rows.map((r) => ({
        id: r.id,
        tenantId: r.tenantId,
        changeRequestId: r.changeRequestId,
        reason: r.reason,
        hash: r.hash,
        rowCount: r.rowCount,
        createdAt: r.createdAt.toISOString(),
      })),
    };
  }
}
