let waiting: string | null = null;

/**
 * A one-line notice for the next screen, carried across a route change (a social link's callback page
 * going back to the linked methods). In memory only: nothing is written to the browser's storage.
 */
export const flash = {
  set(message: string): void {
    waiting = message;
  },
  take(): string | null {
    const message = waiting;
    waiting = null;
    return message;
  },
};
