/** Whom a ban names: any public handle on one person. The ban always lands on the person. */
export type BanSubject =
  | { readonly personaId: string }
  | { readonly authorId: string }
  | { readonly personHash: string };

export function describeSubject(subject: BanSubject): string {
  if ('personaId' in subject) return `persona:${subject.personaId}`;
  if ('authorId' in subject) return `author:${subject.authorId}`;
  return `person-hash:${subject.personHash}`;
}
