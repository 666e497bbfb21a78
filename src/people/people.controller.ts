// GET /api/people: the directory of people by name, for every signed-in reader (the UI shows names instead of
// ids and offers mentions from it). Emails and names only; roles, tokens and credentials stay with /api/users.
import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth.decorators';
import { READERS } from '../common/principal';
import { PeopleService } from './people.service';

@ApiTags('people')
@ApiBearerAuth()
@Controller('api/people')
export class PeopleController {
  constructor(private readonly people: PeopleService) {}

  @Get()
  @Access(...READERS)
  async list() {
    return { items: await this.people.directory() };
  }
}
