import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseConfig } from '../config/config.schema';
import { AuditLedgerAppender } from '../audit/ledger.appender';
import { LEDGER_APPENDER, TransactionRunner } from '../common/transaction';
import { buildDataSourceOptions } from './data-source.options';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(db: DatabaseConfig, poolSize?: number): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({ ...buildDataSourceOptions(db, poolSize), retryAttempts: 2, retryDelay: 500 }),
      ],
      providers: [TransactionRunner, { provide: LEDGER_APPENDER, useClass: AuditLedgerAppender }],
      exports: [TransactionRunner],
    };
  }
}
