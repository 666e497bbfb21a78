import { DynamicModule, Module } from '@nestjs/common';
import { defaultWebDistDir, WEB_DIST_DIR, WebUiController } from './web-ui.controller';

/** The approval UI at /ui (see WebUiController). `dir` overrides where the built files are (tests). */
@Module({})
export class WebUiModule {
  static forRoot(dir: string = defaultWebDistDir()): DynamicModule {
    return {
      module: WebUiModule,
      controllers: [WebUiController],
      providers: [{ provide: WEB_DIST_DIR, useValue: dir }],
    };
  }
}
