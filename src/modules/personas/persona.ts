/** NEW for every new persona; promotion is manual (roughly Discourse's TL0, TL1–2, TL3). */
export type TrustLevel = 'NEW' | 'REGULAR' | 'TRUSTED';
