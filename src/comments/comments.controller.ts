// Discussion routes (issue 15): POST/GET /api/change-requests/:id/comments and GET /api/comments/mentions (the
// signed-in person's inbox of mentions). Thin: auth, DTO in, one service call.
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { forbidden } from '../common/errors';
import { UuidParam } from '../common/params';
import { Principal, READERS } from '../common/principal';
import { CommentsService } from './comments.service';

export class CommentDto {
  @ApiProperty({ description: 'The text; `@Name` or `@email-local-part` mentions a person', maxLength: 5000 })
  @IsString()
  @Matches(/\S/, { message: 'must not be blank' })
  @MaxLength(5000)
  body!: string;
}

@ApiTags('change-requests')
@ApiBearerAuth()
@Controller('api')
export class CommentsController {
  constructor(private readonly comments: CommentsService) {}

  // People discuss; automation tokens read. Viewers may ask a question too: they are on the team.
  @Post('change-requests/:id/comments')
  @HttpCode(201)
  @Access('viewer', 'maker', 'checker', 'admin')
  post(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: CommentDto) {
    return this.comments.post(p, id, dto.body.trim());
  }

  @Get('change-requests/:id/comments')
  @Access(...READERS)
  async list(@UuidParam('id') id: string) {
    return { items: await this.comments.list(id) };
  }

  @Get('comments/mentions')
  @Access('viewer', 'maker', 'checker', 'admin')
  async mentions(@CurrentPrincipal() p: Principal) {
    if (p.kind !== 'user') throw forbidden('AUTH.PEOPLE_ONLY', 'Mentions belong to people, not tokens');
    return { items: await this.comments.mentionsOf(p.id) };
  }
}
