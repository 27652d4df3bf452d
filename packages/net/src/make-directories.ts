// Making a directory and its parents without Node's recursive mkdir, which hangs on some file systems.
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * makeDirectories makes `directory` and its missing parents one level at a
 * time, returning those it made, outermost first. Node's own
 * `mkdirSync(path, { recursive: true })` never returns for a path under a file
 * system that refuses every new name with ENOENT (`/proc/x` spins at 100% CPU
 * on Node 20), so the levels are made here and the first refusal is thrown.
 */
export function makeDirectories(directory: string): string[] {
  const missing: string[] = [];
  for (let path = directory; ; path = dirname(path)) {
    try {
      statSync(path);
      break;
    } catch (error) {
      // ENOTDIR: a file stands where a parent should be; walk on up to it, and its mkdir below says so.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(path) === path) throw error;
      missing.unshift(path);
    }
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      // Another process made it in between: fine, as long as it is a directory (the next level's mkdir says if not).
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return missing;
}
