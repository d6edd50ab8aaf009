/** The service's password policy (src/modules/accounts/password-policy.ts), as the forms explain it. */
export const PASSWORD_MIN_LENGTH = 15;

export const PASSWORD_HINT =
  `At least ${PASSWORD_MIN_LENGTH} characters; a passphrase of a few unrelated words is best. Common, repeated or sequential passwords, ` +
  'and ones containing your email name or handle, are refused.';
