/** Time, injected so every expiry and grace-period rule can be tested with a frozen clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
