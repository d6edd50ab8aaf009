import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'Amber', 'Bold', 'Brave', 'Bright', 'Calm', 'Clever', 'Cosmic', 'Crimson', 'Curious', 'Daring', 'Eager', 'Gentle',
  'Golden', 'Happy', 'Hidden', 'Humble', 'Jolly', 'Keen', 'Kind', 'Lively', 'Lucky', 'Mellow', 'Misty', 'Nimble',
  'Noble', 'Patient', 'Polite', 'Quick', 'Quiet', 'Rapid', 'Silent', 'Silver', 'Sly', 'Smooth', 'Snowy', 'Sunny',
  'Swift', 'Tidy', 'Vivid', 'Wandering', 'Wise', 'Witty',
] as const;

const ANIMALS = [
  'Badger', 'Bear', 'Beaver', 'Bison', 'Crane', 'Crow', 'Deer', 'Dolphin', 'Eagle', 'Falcon', 'Ferret', 'Finch',
  'Fox', 'Gecko', 'Heron', 'Ibis', 'Koala', 'Lark', 'Lemur', 'Lynx', 'Marten', 'Mole', 'Moose', 'Newt', 'Otter',
  'Owl', 'Panda', 'Puffin', 'Quail', 'Raven', 'Robin', 'Seal', 'Sparrow', 'Stoat', 'Swan', 'Tapir', 'Tiger',
  'Turtle', 'Walrus', 'Wolf', 'Wren', 'Yak',
] as const;

/**
 * A name for a guest's default persona, like `Quiet Otter 48213`: 42 × 42 × 90,000 ≈ 159 million
 * combinations, so with a million live guests a draw clashes about 0.6% of the time and eight draws
 * in a row practically never. Drawn with a cryptographic generator, so names say nothing about when
 * or in what order people came.
 */
export function generateGuestName(): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)];
  const animal = ANIMALS[randomInt(ANIMALS.length)];
  return `${adjective} ${animal} ${randomInt(10_000, 100_000)}`;
}
