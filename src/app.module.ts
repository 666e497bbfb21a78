import { randomUUID } from 'node:crypto';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { AccessGuard } from './auth/access.guard';
import { AuthModule } from './auth/auth.module';
import { ChangeRequestsModule } from './change-requests/change-requests.module';
import { ClientApiModule } from './client-api/client-api.module';
import { AuditModule } from './audit/audit.module';
import { ArchiveModule } from './archive/archive.module';
import { BackupsModule } from './backups/backups.module';
import { CommonModule } from './common/common.module';
import { ConnectorsModule } from './connectors/connectors.module';
import { Clock, SystemClock } from './common/clock';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { ConfigModule } from './config/config.module';
import { AppConfig } from './config/config.schema';
import { DatabaseModule } from './database/database.module';
import { EnvironmentsModule } from './environments/environments.module';
import { EventsModule } from './events/events.module';
import { FlagChangeRequestsModule } from './flags/flag-change-requests.module';
import { FlagsModule } from './flags/flags.module';
import { HealthModule } from './health/health.module';
import { OfrepModule } from './ofrep/ofrep.module';
import { OperationsModule } from './operations/operations.module';
import { PoliciesModule } from './policies/policies.module';
import { ProvidersModule } from './providers/providers.module';
import { RestoresModule } from './restores/restores.module';
import { RolloutsModule } from './rollouts/rollouts.module';
import { SignalsModule } from './signals/signals.module';
import { TenantsModule } from './tenants/tenants.module';
import { UsersModule } from './users/users.module';
import { PeopleModule } from './people/people.module';
import { CommentsModule } from './comments/comments.module';
import { SlackModule } from './slack/slack.module';
import { WebUiModule } from './web-ui/web-ui.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export interface AppOptions {
  /** A clock to read instead of the system's (tests pass a FakeClock). */
  clock?: Clock;
  /** Where the built approval UI is (default: web/dist in the repository). */
  webDistDir?: string;
  /** false: the caller handles SIGTERM itself (`serve` drains first, main.ts); default: Nest's shutdown hooks. */
  shutdownHooks?: boolean;
}

@Global()
@Module({})
class ClockModule {
  static forRoot(clock: Clock): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,100}$/;

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(options.clock ?? new SystemClock()),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // A request id on every log line: the caller's X-Request-Id when it is sane, else a new one.
            genReqId: (req, res) => {
              const given = req.headers['x-request-id'];
              const id = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
              res.setHeader('X-Request-Id', id);
              return id;
            },
            redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
            autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/health/ready' },
          },
        }),
        ThrottlerModule.forRoot([{ name: 'login', ttl: 60_000, limit: config.loginRateLimit }]),
        DatabaseModule.forRoot(config.database, config.dbPoolSize),
        CommonModule,
        HealthModule,
        EventsModule,
        AuthModule,
        UsersModule,
        PeopleModule,
        CommentsModule,
        SlackModule,
        AuditModule,
        OperationsModule,
        ConnectorsModule,
        TenantsModule,
        PoliciesModule,
        ChangeRequestsModule,
        RolloutsModule,
        SignalsModule,
        EnvironmentsModule,
        FlagsModule,
        FlagChangeRequestsModule,
        ProvidersModule,
        ClientApiModule,
        OfrepModule,
        WebUiModule.forRoot(options.webDistDir),
        WebhooksModule,
        BackupsModule,
        ArchiveModule,
        RestoresModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
