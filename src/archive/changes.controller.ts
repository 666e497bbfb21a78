import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth.decorators';
import { ChangesService } from './changes.service';
import { ChangePageDto, ListChangesQueryDto } from './dto/changes.dto';

@ApiTags('changes')
@ApiBearerAuth()
@Controller('api/changes')
export class ChangesController {
  constructor(private readonly changes: ChangesService) {}

  @Get()
  @Access('admin', 'token:admin')
  @ApiOkResponse({
    type: ChangePageDto,
    description: 'captured row changes of tenant-scoped tables in position order, after `after`',
  })
  list(@Query() q: ListChangesQueryDto) {
    return this.changes.page(q.after, q.limit ?? 100);
  }
}
