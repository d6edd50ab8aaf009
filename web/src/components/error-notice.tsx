import { ApiError } from '../api/client.ts';

/**
 * An error as people read it, with the code and correlation id support needs, announced to screen
 * readers. `hints` adds a plain explanation for the codes a screen expects (keyed by code).
 */
export function ErrorNotice({ error, hints }: { error: unknown; hints?: Readonly<Record<string, string>> }) {
  if (!error) return null;
  const apiError = error instanceof ApiError ? error : null;
  const message = apiError ? apiError.message : error instanceof Error ? error.message : String(error);
  const hint = apiError && hints ? hints[apiError.code] : undefined;
  return (
    <div class="notice notice-error" role="alert">
      <p>{message}</p>
      {hint && <p>{hint}</p>}
      {apiError && (
        <p class="muted small">
          <code>{apiError.code}</code>
          {apiError.correlationId && <> · reference <code>{apiError.correlationId}</code></>}
        </p>
      )}
    </div>
  );
}
