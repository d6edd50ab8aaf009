/**
 * The exact text a key signs to sign in: it names the purpose and this service's domain, so a
 * signature made here proves nothing anywhere else (and one made elsewhere, over another text or
 * for another domain, proves nothing here). Lines are separated by a single `\n`, UTF-8 encoded.
 */
export function keySignInMessage(domain: string, challenge: string): string {
  return `personae sign-in\ndomain: ${domain}\nchallenge: ${challenge}`;
}
