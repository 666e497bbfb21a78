// Discussion on change requests (issue 15): comments with mentions, in the audit log and the outbox.
import { Module } from '@nestjs/common';
import { PeopleModule } from '../people/people.module';
import { CommentsController } from './comments.controller';
import { CommentsService } from './comments.service';

@Module({ imports: [PeopleModule], controllers: [CommentsController], providers: [CommentsService] })
export class CommentsModule {}
