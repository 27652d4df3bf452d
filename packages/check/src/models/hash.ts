/**
 * hashString hashes a string (FNV-1a over its length, first 8 and last 24
 * characters), so that long values (an append-only log) hash in constant
 * time. Equal strings get equal hashes; the memo compares states in full.
 */
export function hashString(value: string): number {
  const length = value.length;
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  const headEnd = length < 8 ? length : 8;
  for (let i = 0; i < headEnd; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  const tailStart = length - 24 > headEnd ? length - 24 : headEnd;
  for (let i = tailStart; i < length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return hash;
}
