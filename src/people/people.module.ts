// People by name (issue 15): the directory route and the lookup other modules use to name actors in views,
// history, webhooks and Slack messages.
import { Module } from '@nestjs/common';
import { PeopleController } from './people.controller';
import { PeopleService } from './people.service';

@Module({ controllers: [PeopleController], providers: [PeopleService], exports: [PeopleService] })
export class PeopleModule {}
