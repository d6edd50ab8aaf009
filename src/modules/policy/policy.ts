import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';

/**
 * An action name: dotted lower-case words (`persona.create`, `board.post`). Apps may ask about their
 * own actions; the service itself asks about `persona.*`.
 */
export const ACTION_PATTERN = '^(?=.{1,64}$)[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$';
export const ActionName = Type.String({ pattern: ACTION_PATTERN, minLength: 1, maxLength: 64 });

const TrustLevelSchema = Type.Union([Type.Literal('NEW'), Type.Literal('REGULAR'), Type.Literal('TRUSTED')]);
const closed = { additionalProperties: false } as const;

/** Every policy, its schema: the one place a stored or submitted value is judged valid. */
export const POLICY_SCHEMAS = {
  max_personas_per_user: Type.Integer({ minimum: 1, maximum: 100 }),
  persona_creation_rate_limit: Type.Object(
    { count: Type.Integer({ minimum: 0, maximum: 1000 }), windowDays: Type.Integer({ minimum: 1, maximum: 365 }) },
    closed,
  ),
  persona_rotation_cooldown: Type.Object({ hours: Type.Integer({ minimum: 0, maximum: 8760 }) }, closed),
  display_name_reuse_window_days: Type.Integer({ minimum: 0, maximum: 3650 }),
  min_trust_level_for_action: Type.Record(ActionName, TrustLevelSchema, { maxProperties: 100, additionalProperties: false }),
  risk_thresholds: Type.Object(
    { medium: Type.Number({ minimum: 0, maximum: 1 }), high: Type.Number({ minimum: 0, maximum: 1 }) },
    closed,
  ),
  high_risk_blocked_actions: Type.Array(ActionName, { maxItems: 100, uniqueItems: true }),
  deactivation_grace_days: Type.Integer({ minimum: 1, maximum: 3650 }),
  deletion_purge_days: Type.Integer({ minimum: 0, maximum: 3650 }),
  territory_move_cooldown_days: Type.Integer({ minimum: 0, maximum: 3650 }),
  min_trust_level_to_invite: TrustLevelSchema,
} satisfies Record<string, TSchema>;

export type PolicyName = keyof typeof POLICY_SCHEMAS;
export type Policies = { readonly [N in PolicyName]: Static<(typeof POLICY_SCHEMAS)[N]> };

export const POLICY_NAMES = Object.keys(POLICY_SCHEMAS) as PolicyName[];

/** The defaults of spec 002, in force until an operator stores an override. */
export const DEFAULT_POLICIES: Policies = Object.freeze<Policies>({
  max_personas_per_user: 3,
  persona_creation_rate_limit: { count: 1, windowDays: 7 },
  // A day between rotations: a person being harassed can reset at once, but not churn names hourly
  // to slip past moderation (rotation creates a fresh NEW persona each time).
  persona_rotation_cooldown: { hours: 24 },
  display_name_reuse_window_days: 30,
  min_trust_level_for_action: { 'persona.create': 'NEW', 'persona.rotate': 'NEW', 'persona.reactivate': 'NEW' },
  risk_thresholds: { medium: 0.3, high: 0.7 },
  // Spec 002 edge cases 1 and 2: a HIGH-risk person cannot get a fresh face, by any route.
  high_risk_blocked_actions: ['persona.create', 'persona.rotate', 'persona.reactivate'],
  deactivation_grace_days: 90,
  deletion_purge_days: 90,
  // Spec 004: one move between territories per 30 days.
  territory_move_cooldown_days: 30,
  // People may invite others into their territory once trusted beyond a newcomer (operators always may).
  min_trust_level_to_invite: 'REGULAR',
});

export const POLICY_DESCRIPTIONS: Readonly<Record<PolicyName, string>> = {
  max_personas_per_user: 'Live personas one person may hold at once.',
  persona_creation_rate_limit: 'Personas one person may create (POST /personas) per window of days.',
  persona_rotation_cooldown: 'Hours a person must wait between two rotations.',
  display_name_reuse_window_days: 'Days a released display name stays reserved for its last holder.',
  min_trust_level_for_action: 'The lowest trust level of the acting persona for each action.',
  risk_thresholds: 'Abuse scores at and above which a person is MEDIUM and HIGH risk.',
  high_risk_blocked_actions: 'Actions refused with ACCOUNT_SUSPENDED while a person is HIGH risk.',
  deactivation_grace_days: 'Days a deactivated persona stays restorable before it is purged.',
  deletion_purge_days: 'Days between a permanent deletion (anonymized at once) and the purge of the row.',
  territory_move_cooldown_days: 'Days a person must wait after a move between territories before the next one.',
  min_trust_level_to_invite: 'The lowest trust level of the acting persona to create invitations to a territory.',
};

export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICY_SCHEMAS, name);
}

/** What is wrong with a value for a policy; empty when it is valid. */
export function policyValueProblems(name: PolicyName, value: unknown): string[] {
  const schema = POLICY_SCHEMAS[name];
  if (!Value.Check(schema, value)) {
    return [...Value.Errors(schema, value)].map((error) => `${error.instancePath || name}: ${error.message}`);
  }
  if (name === 'risk_thresholds') {
    const { medium, high } = value as Policies['risk_thresholds'];
    if (medium >= high) return ['risk_thresholds: medium must be below high'];
  }
  return [];
}

/**
 * The policies in force: each stored override that is still valid, the default otherwise. A stored
 * value a newer schema no longer accepts falls back to the default rather than breaking every request.
 */
export function effectivePolicies(overrides: Readonly<Record<string, unknown>>): Policies {
  const policies: Record<string, unknown> = { ...DEFAULT_POLICIES };
  for (const name of POLICY_NAMES) {
    if (Object.hasOwn(overrides, name) && policyValueProblems(name, overrides[name]).length === 0) {
      policies[name] = overrides[name];
    }
  }
  return policies as Policies;
}
