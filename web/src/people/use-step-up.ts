import { useState } from 'preact/hooks';
import type { useAction } from '../components/use-action.ts';
import { needsStepUp } from './step-up.tsx';

/**
 * Runs a sensitive change through `action`; when the service answers STEP_UP_REQUIRED, keeps the
 * change as `retry` so the screen can show the step-up form, which runs it again once confirmed.
 */
export function useStepUp(action: ReturnType<typeof useAction>) {
  const [retry, setRetry] = useState<(() => Promise<void>) | null>(null);
  const run = (change: () => Promise<void>) => action.run(async () => {
    try {
      await change();
    } catch (error) {
      if (!needsStepUp(error)) throw error;
      setRetry(() => async () => {
        setRetry(null);
        await action.run(change);
      });
    }
  });
  return { run, retry, cancel: () => setRetry(null) };
}
