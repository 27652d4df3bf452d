import type { CommandIo } from "@concord/cli";

/** captureIo runs commands in-process and keeps what they print. */
export function captureIo(files: Record<string, string> = {}): CommandIo & { out: string; err: string; files: Record<string, string> } {
  const io = {
    out: "",
    err: "",
    files,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
    readFile(path: string) {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
      return content;
    },
    writeFile(path: string, data: string) {
      files[path] = data;
    },
  };
  return io;
}
