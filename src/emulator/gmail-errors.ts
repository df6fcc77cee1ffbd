/**
 * Gmail's error envelope and the catalogue of error answers the emulator gives, with the texts the
 * real service uses (gmail-api-notes §4.2). Every non-2xx JSON answer goes through `apiError`.
 */
export interface ApiError {
  status: number;
  body: { error: { code: number; message: string; errors: Array<Record<string, string>>; status: string } };
  headers?: Record<string, string>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export function apiError(
  code: number,
  message: string,
  reason: string,
  options: { domain?: string; status?: string; itemMessage?: string; extra?: Record<string, string>; headers?: Record<string, string> } = {},
): ApiError {
  const item: Record<string, string> = { message: options.itemMessage ?? message, domain: options.domain ?? 'global', reason, ...options.extra };
  return {
    status: code,
    body: { error: { code, message, errors: [item], status: options.status ?? STATUS_NAMES[code] ?? 'UNKNOWN' } },
    headers: options.headers,
  };
}

export const notFound = (): ApiError => apiError(404, 'Requested entity was not found.', 'notFound');

export const invalidArgument = (message: string): ApiError => apiError(400, message, 'invalidArgument');

export const badRequest = (message: string): ApiError => apiError(400, message, 'badRequest');

export const invalidCredentials = (): ApiError =>
  apiError(
    401,
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    'authError',
    {
      itemMessage: 'Invalid Credentials',
      extra: { location: 'Authorization', locationType: 'header' },
      headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
    },
  );

export const loginRequired = (): ApiError =>
  apiError(
    401,
    'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    'required',
    { itemMessage: 'Login Required.', extra: { location: 'Authorization', locationType: 'header' } },
  );

export const delegationDenied = (user: string): ApiError => apiError(403, `Delegation denied for ${user}`, 'forbidden');

export const forbidden = (message: string): ApiError => apiError(403, message, 'forbidden');

export const failedPrecondition = (): ApiError =>
  apiError(400, 'Precondition check failed.', 'failedPrecondition', { status: 'FAILED_PRECONDITION' });

export const tooManyConcurrent = (): ApiError => apiError(429, 'Too many concurrent requests for user', 'rateLimitExceeded');

export const resourceExhausted = (): ApiError => apiError(429, 'Resource has been exhausted (e.g. check quota).', 'rateLimitExceeded');

export const userRateRetryAfter = (retryAt: Date): ApiError =>
  apiError(429, `User-rate limit exceeded.  Retry after ${retryAt.toISOString()}`, 'rateLimitExceeded');

export const userRateLimitExceeded = (): ApiError =>
  apiError(403, 'User Rate Limit Exceeded', 'userRateLimitExceeded', { domain: 'usageLimits' });

/** Google's quota texts name the project by number; the emulator's project has none. */
const CONSUMER = "of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.";

/** The 2026 per-user limit: Gmail has been seen answering it as 403 and as 429 (gmail-api-notes §4.2). */
export const perMinuteQuota = (code: 403 | 429 = 403): ApiError =>
  apiError(code, `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' ${CONSUMER}`, 'rateLimitExceeded', { domain: 'usageLimits' });

export const projectPerMinuteQuota = (): ApiError =>
  apiError(403, `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' ${CONSUMER}`, 'rateLimitExceeded', { domain: 'usageLimits' });

export const backendError = (): ApiError => apiError(500, 'Backend Error', 'backendError');

export const unavailable = (): ApiError => apiError(503, 'The service is currently unavailable.', 'backendError');
