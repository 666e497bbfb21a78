import { Module } from '@nestjs/common';
import { PeopleModule } from '../people/people.module';
import { PoliciesModule } from '../policies/policies.module';
import { ChangeRequestAuthoring } from './change-request.authoring';
import { ChangeRequestCommands } from './change-request.commands';
import { ChangeRequestExpirySweeper } from './change-request.expiry';
import { ChangeRequestPlanner } from './change-request.planner';
import { ChangeRequestQueries } from './change-request.queries';
import { ChangeRequestsController } from './change-requests.controller';
import { ChangeRequestsService } from './change-requests.service';

@Module({
  imports: [PoliciesModule, PeopleModule],
  controllers: [ChangeRequestsController],
  providers: [
    ChangeRequestsService,
    ChangeRequestAuthoring,
    ChangeRequestCommands,
    ChangeRequestQueries,
    ChangeRequestPlanner,
    ChangeRequestExpirySweeper,
  ],
  exports: [ChangeRequestsService, ChangeRequestPlanner],
})
export class ChangeRequestsModule {}
