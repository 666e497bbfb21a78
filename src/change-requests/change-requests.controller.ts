import { Body, Controller, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { UuidParam } from '../common/params';
import { AccessRule, Principal, READERS } from '../common/principal';
import {
  ApproveDto,
  BreakGlassDto,
  BreakGlassReviewDto,
  CreateChangeRequestDto,
  EditChangeRequestDto,
  ListChangeRequestsQueryDto,
  ReasonDto,
  RejectDto,
} from './dto/change-request.dto';
import { ChangeRequestsService } from './change-requests.service';

// Who may call what (the lifecycle then applies the finer rules: author vs. checker, state, expiry).
// Automation tokens are makers; approving and rejecting need a person with the checker role.
const MAKERS: AccessRule[] = ['maker', 'admin', 'token:automation'];
const CHECKERS: AccessRule[] = ['checker'];
const OPERATORS: AccessRule[] = ['maker', 'checker', 'admin'];

@ApiTags('change-requests')
@ApiBearerAuth()
@Controller('api/change-requests')
export class ChangeRequestsController {
  constructor(private readonly crs: ChangeRequestsService) {}

  @Post()
  @Access(...MAKERS)
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateChangeRequestDto) {
    return this.crs.create(p, dto);
  }

  @Get()
  @Access(...READERS)
  list(@CurrentPrincipal() p: Principal, @Query() q: ListChangeRequestsQueryDto) {
    return this.crs.list(p, { ...q, limit: q.limit ?? 50 });
  }

  @Get(':id')
  @Access(...READERS)
  get(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string) {
    return this.crs.get(p, id);
  }

  @Patch(':id')
  @Access(...MAKERS)
  edit(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: EditChangeRequestDto) {
    return this.crs.edit(p, id, dto);
  }

  @Post(':id/submit')
  @HttpCode(200)
  @Access(...MAKERS)
  submit(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string) {
    return this.crs.command(p, id, { type: 'submit' });
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Access(...CHECKERS)
  approve(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: ApproveDto) {
    return this.crs.command(p, id, { type: 'approve', planHash: dto.planHash, comment: dto.comment });
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Access(...CHECKERS)
  reject(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: RejectDto) {
    return this.crs.command(p, id, { type: 'reject', comment: dto.comment, planHash: dto.planHash });
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Access(...MAKERS)
  cancel(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: ReasonDto) {
    return this.crs.command(p, id, { type: 'cancel', reason: dto.reason });
  }

  /** Starts an approved CR now (the wave engine picks up `change_request.started`). */
  @Post(':id/execute')
  @HttpCode(200)
  @Access(...OPERATORS)
  execute(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string) {
    return this.crs.command(p, id, { type: 'execute' });
  }

  /**
   * Emergency path (design rule 8): an admin starts a reversible draft or pending CR without approval, with an
   * incident reference. Flagged in the audit log and in the `change_request.started` event (webhooks always
   * deliver it); never for irreversible operations such as purge.
   */
  @Post(':id/break-glass')
  @HttpCode(200)
  @Access('admin')
  breakGlass(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: BreakGlassDto) {
    return this.crs.command(p, id, { type: 'break_glass_execute', incidentRef: dto.incidentRef.trim() });
  }

  /**
   * The review after the fact of a break-glass execution (design rule 8, ADR 0010): a checker who neither broke
   * the glass nor wrote or edited the CR records `accepted` or `concerns` with a note, once, whatever the CR's
   * status. Emits `change_request.break_glass_reviewed`.
   */
  @Post(':id/break-glass/review')
  @HttpCode(200)
  @Access(...CHECKERS)
  reviewBreakGlass(
    @CurrentPrincipal() p: Principal,
    @UuidParam('id') id: string,
    @Body() dto: BreakGlassReviewDto,
  ) {
    return this.crs.reviewBreakGlass(p, id, { outcome: dto.outcome, note: dto.note });
  }
}
