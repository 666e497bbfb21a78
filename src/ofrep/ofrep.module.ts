import { Module } from '@nestjs/common';
import { FlagsModule } from '../flags/flags.module';
import { OfrepController } from './ofrep.controller';

@Module({ imports: [FlagsModule], controllers: [OfrepController] })
export class OfrepModule {}
