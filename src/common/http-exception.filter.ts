import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { DomainError, ErrorDetail, ErrorKind } from './errors';

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  not_implemented: 501,
  bad_gateway: 502,
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  details?: ErrorDetail[];
  requestId?: string;
}

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

/**
 * The one place errors become HTTP (STYLE.md habit 4): typed domain errors by kind, Nest/Express errors by their
 * status (malformed JSON, oversize bodies, unknown routes), unique-key violations as 409. Anything else is a bug:
 * a 500 whose log line carries the request id, and whose body says nothing about internals.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const body = this.toBody(exception);
    body.requestId = typeof req.id === 'string' ? req.id : undefined;
    if (body.statusCode >= 500) {
      this.logger.error(
        { err: exception, requestId: body.requestId, method: req.method, url: req.originalUrl },
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (res.headersSent) return;
    res.status(body.statusCode).json(body);
  }

  private toBody(e: unknown): ErrorBody {
    if (e instanceof DomainError) {
      const statusCode = STATUS[e.kind];
      return {
        statusCode,
        error: REASON[statusCode] ?? 'Error',
        message: e.message,
        code: e.code,
        details: e.details,
      };
    }
    if (e instanceof ThrottlerException) {
      return {
        statusCode: 429,
        error: REASON[429],
        message: 'Too many requests; try again later',
        code: 'RATE_LIMITED',
      };
    }
    if (e instanceof HttpException) {
      const statusCode = e.getStatus();
      const r = e.getResponse();
      const message =
        typeof r === 'string'
          ? r
          : Array.isArray((r as { message?: unknown }).message)
            ? (r as { message: string[] }).message.join('; ')
            : String((r as { message?: unknown }).message ?? e.message);
      return { statusCode, error: REASON[statusCode] ?? 'Error', message, code: codeForStatus(statusCode) };
    }
    // body-parser (malformed JSON, body over the limit, bad charset) raises errors carrying a 4xx status.
    const status = (e as { status?: unknown; statusCode?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (e as { type?: string }).type;
      const message =
        type === 'entity.parse.failed'
          ? `body: malformed JSON (${(e as Error).message.slice(0, 200)})`
          : type === 'entity.too.large'
            ? 'body: larger than the 1 MiB limit'
            : `body: ${(e as Error).message}`;
      return {
        statusCode: status,
        error: REASON[status] ?? 'Error',
        message,
        code: type === 'entity.parse.failed' ? 'VALIDATION.MALFORMED_JSON' : codeForStatus(status),
        details: [{ field: 'body', reason: message.slice(6) }],
      };
    }
    if (e instanceof QueryFailedError && /unique|duplicate/i.test(e.message)) {
      return {
        statusCode: 409,
        error: REASON[409],
        message: 'A record with the same key already exists',
        code: 'CONFLICT.DUPLICATE',
      };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: REASON[500],
      message: 'Internal server error',
    };
  }
}

function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'VALIDATION.FAILED';
    case 401:
      return 'AUTH.REQUIRED';
    case 403:
      return 'AUTH.FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'VALIDATION.TOO_LARGE';
    default:
      return `HTTP.${status}`;
  }
}
