import { ApiError } from '../api/client.ts';

/** An error as people read it, with the code and correlation id support needs, announced to screen readers. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (!error) return null;
  const apiError = error instanceof ApiError ? error : null;
  const message = apiError ? apiError.message : error instanceof Error ? error.message : String(error);
  return (
    <div class="notice notice-error" role="alert">
      <p>{message}</p>
      {apiError && (
        <p class="muted small">
          <code>{apiError.code}</code>
          {apiError.correlationId && <> · reference <code>{apiError.correlationId}</code></>}
        </p>
      )}
    </div>
  );
}
