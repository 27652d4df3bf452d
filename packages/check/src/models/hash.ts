/** emptyStringHash is {@link hashString} of "": where {@link appendHash} starts. */
export const emptyStringHash = 0x811c9dc5 | 0;

/**
 * hashString hashes a whole string (32-bit FNV-1a over its characters), so
 * that states differing anywhere, say appended values in another order in the
 * middle of a log, hash apart. Equal strings get equal hashes; the memo
 * compares states in full.
 */
export function hashString(value: string): number {
  return appendHash(emptyStringHash, value);
}

/**
 * appendHash continues a string's hash over `suffix`: appendHash(hashString(a), b)
 * === hashString(a + b), so that a model whose states grow by appending (a KV
 * append) hashes each new state in the time of its suffix, without reading
 * (or flattening) the whole state.
 */
export function appendHash(hash: number, suffix: string): number {
  for (let i = 0; i < suffix.length; i++) hash = Math.imul(hash ^ suffix.charCodeAt(i), 0x01000193);
  return hash;
}
