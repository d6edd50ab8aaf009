/** The risk the platform sees in a person; it follows them across personas and accounts. */
export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';

export const RISK_LEVELS: readonly RiskLevel[] = ['LOW', 'MEDIUM', 'HIGH'];
