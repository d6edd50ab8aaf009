/**
 * Letters from other scripts that pass for Latin letters, mapped to the Latin letter they imitate: a
 * compact subset of Unicode's confusables (UTS #39) for the scripts impersonators reach for first
 * (Cyrillic, Greek, Armenian, IPA and small capitals). Keys are lower case, because display names
 * are case-folded before this map applies; a letter whose capital imitates one Latin letter and
 * whose small form another (Greek η: H and n) maps to the capital's, since `ΗΕΛΛΟ` is the attack.
 * Only non-ASCII letters are mapped: an ASCII name's key stays its lower-cased self.
 */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ү: 'y', ɡ: 'g', ѵ: 'v', ԍ: 'g',
  // Greek
  α: 'a', β: 'b', ε: 'e', ζ: 'z', η: 'h', ι: 'i', κ: 'k', μ: 'm', ν: 'v', ο: 'o', ρ: 'p', τ: 't',
  υ: 'u', χ: 'x', γ: 'y', ϲ: 'c', ϳ: 'j', ω: 'w',
  // Armenian
  օ: 'o', ս: 'u', հ: 'h', ո: 'n', ց: 'g', զ: 'q',
  // Latin look-alikes: dotless i, IPA and small capitals
  ı: 'i', ɑ: 'a', ɩ: 'i', ɪ: 'i', ʏ: 'y', ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h',
  ᴊ: 'j', ᴋ: 'k', ʟ: 'l', ᴍ: 'm', ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v',
  ᴡ: 'w', ᴢ: 'z',
};

/** Replaces each confusable letter with the Latin letter it imitates. */
export function foldConfusables(text: string): string {
  let folded = '';
  for (const character of text) folded += CONFUSABLES[character] ?? character;
  return folded;
}
