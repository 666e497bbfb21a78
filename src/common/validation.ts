import { ValidationError, ValidationPipe } from '@nestjs/common';
import { badRequest, ErrorDetail } from './errors';

// Flattens class-validator's tree into `{field: 'targets.3.id', reason}` details.
function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      for (const reason of Object.values(e.constraints)) {
        out.push({ field, reason: reason.replace(/^property \S+ should not exist$/, 'unknown field') });
      }
    }
    if (e.children && e.children.length > 0) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Global pipe: whitelist DTOs, refuse unknown fields, report every problem with the field named. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const message = details.map((d) => `${d.field}: ${d.reason}`).join('; ') || 'invalid input';
      return badRequest('VALIDATION.FAILED', message, details);
    },
  });
}
