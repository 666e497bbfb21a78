import { Module } from '@nestjs/common';
import { PoliciesModule } from '../policies/policies.module';
import { ChangeRequestExpirySweeper } from './change-request.expiry';
import { ChangeRequestPlanner } from './change-request.planner';
import { ChangeRequestsController } from './change-requests.controller';
import { ChangeRequestsService } from './change-requests.service';

@Module({
  imports: [PoliciesModule],
  controllers: [ChangeRequestsController],
  providers: [ChangeRequestsService, ChangeRequestPlanner, ChangeRequestExpirySweeper],
  exports: [ChangeRequestsService, ChangeRequestPlanner],
})
export class ChangeRequestsModule {}
