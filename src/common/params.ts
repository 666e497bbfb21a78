import { Param, ParseUUIDPipe } from '@nestjs/common';
import { badRequest } from './errors';

/** A UUID path parameter; anything else is a 400 naming the parameter. */
export const UuidParam = (name: string) =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () =>
        badRequest('VALIDATION.BAD_ID', `${name}: must be a UUID`, [
          { field: name, reason: 'must be a UUID' },
        ]),
    }),
  );
