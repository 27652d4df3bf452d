/** hexPairs holds the two lowercase hexadecimal digits of every byte value. */
const hexPairs = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** hex renders bytes as lowercase hexadecimal, the key under which digests are compared in maps. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += hexPairs[bytes[i] as number] as string;
  return out;
}
