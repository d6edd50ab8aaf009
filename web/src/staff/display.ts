/** How the console writes times and scores: the same everywhere, so staff compare them at a glance. */

export const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export const score = (value: number) => value.toFixed(2);

/** Confidence of an inferred link, with what it means (docs/trust-and-safety.md: 0.9 for one cookie, 0.9/n when shared). */
export function confidenceText(confidence: number | null): string {
  if (confidence === null) return 'unknown';
  const meaning = confidence >= 0.8 ? 'strong, not proof' : confidence >= 0.4 ? 'a device shared by a few people' : 'a device shared by many';
  return `${Math.round(confidence * 100)} % (${meaning})`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (text: string) => UUID.test(text);
