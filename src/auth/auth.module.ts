import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { PasswordStrategy, ApiTokenStrategy, SessionJwtStrategy } from './strategies';
import { deriveKey } from './token.codec';
import { TokensController } from './tokens.controller';
import { TokensService } from './tokens.service';

@Global()
@Module({
  imports: [
    PassportModule,
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: deriveKey(config.secret, 'jwt').toString('base64'),
        signOptions: { algorithm: 'HS256' },
      }),
    }),
  ],
  controllers: [AuthController, TokensController],
  providers: [AuthService, TokensService, PasswordStrategy, SessionJwtStrategy, ApiTokenStrategy],
  exports: [AuthService],
})
export class AuthModule {}
