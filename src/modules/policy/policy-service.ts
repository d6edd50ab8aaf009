import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import {
  DEFAULT_POLICIES,
  effectivePolicies,
  isPolicyName,
  POLICY_DESCRIPTIONS,
  POLICY_NAMES,
  policyValueProblems,
  type Policies,
  type PolicyName,
} from './policy.js';
import type { PolicyRepository } from './policy-repository.js';

/** A policy as operators see it: what is in force, the default, and whether it is overridden. */
export interface PolicyView {
  readonly name: PolicyName;
  readonly value: unknown;
  readonly defaultValue: unknown;
  readonly overridden: boolean;
  readonly updatedAt: string | null;
  readonly description: string;
}

export interface PolicyService {
  /** The policies in force now (read from the database each time: every node agrees at once). */
  current(): Promise<Policies>;
  list(): Promise<PolicyView[]>;
  /** Validates the value against the policy's schema and stores it (audited, PolicyChanged). */
  set(name: string, value: unknown, admin: Actor): Promise<PolicyView>;
  /** Returns the policy to its default (audited, PolicyChanged). */
  reset(name: string, admin: Actor): Promise<PolicyView>;
}

export interface PolicyServiceDeps {
  readonly policies: PolicyRepository;
  readonly clock: Clock;
}

export function createPolicyService({ policies, clock }: PolicyServiceDeps): PolicyService {
  function nameOf(name: string): PolicyName {
    if (!isPolicyName(name)) throw new AppError('POLICY_NOT_FOUND', `No policy is named ${JSON.stringify(name)}.`);
    return name;
  }

  async function views(): Promise<PolicyView[]> {
    const stored = await policies.overrides();
    const inForce = effectivePolicies(Object.fromEntries([...stored].map(([name, { value }]) => [name, value])));
    return POLICY_NAMES.map((name) => {
      const override = stored.get(name);
      // An override that no longer validates is not in force; say so rather than show it as such.
      const overridden = override !== undefined && policyValueProblems(name, override.value).length === 0;
      return {
        name,
        value: inForce[name],
        defaultValue: DEFAULT_POLICIES[name],
        overridden,
        updatedAt: overridden ? override.updatedAt.toISOString() : null,
        description: POLICY_DESCRIPTIONS[name],
      };
    });
  }

  async function viewOf(name: PolicyName): Promise<PolicyView> {
    const view = (await views()).find((candidate) => candidate.name === name);
    if (!view) throw new Error(`policy ${name} missing from its own list`);
    return view;
  }

  return {
    async current() {
      const stored = await policies.overrides();
      return effectivePolicies(Object.fromEntries([...stored].map(([name, { value }]) => [name, value])));
    },

    list: views,

    async set(rawName, value, admin) {
      const name = nameOf(rawName);
      const problems = policyValueProblems(name, value);
      if (problems.length > 0) throw new AppError('VALIDATION_FAILED', `Invalid value for ${name}: ${problems.join('; ')}`);
      await policies.set(name, value, clock.now(), { ...admin, action: 'policy.set', target: `policy:${name}`, detail: { value } });
      return viewOf(name);
    },

    async reset(rawName, admin) {
      const name = nameOf(rawName);
      await policies.remove(name, DEFAULT_POLICIES[name], { ...admin, action: 'policy.reset', target: `policy:${name}` });
      return viewOf(name);
    },
  };
}
