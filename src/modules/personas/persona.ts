/** NEW for every new persona; promotion is manual (roughly Discourse's TL0, TL1–2, TL3). */
export type TrustLevel = 'NEW' | 'REGULAR' | 'TRUSTED';

export const TRUST_LEVELS: readonly TrustLevel[] = ['NEW', 'REGULAR', 'TRUSTED'];

/** How a persona came to be: a person's first, one created on request, or one made by rotation. */
export type PersonaOrigin = 'initial' | 'created' | 'rotated';
