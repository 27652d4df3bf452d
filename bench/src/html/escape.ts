/**
 * scriptJson writes a value as JSON that is safe inside an HTML <script>
 * element: `<`, `>` and `&` become \u escapes, so no string in the data (an
 * algorithm's name, a violation's message) can close the element (`</script>`)
 * or open a comment (`<!--`); U+2028 and U+2029 are escaped for old parsers.
 * JSON.parse reads the escapes back to the same characters.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * inlineScript wraps library code in a <script> element, refusing code that
 * would end the element early or switch the parser into its comment states:
 * a library is inlined verbatim, so rewriting it is not ours to do.
 */
export function inlineScript(code: string, name: string): string {
  const unsafe = /<\/script|<!--|<script/i.exec(code);
  if (unsafe !== null) throw new Error(`inlineScript: ${name} contains "${unsafe[0]}" at offset ${unsafe.index}, which would break out of the <script> element`);
  return `<script>/* ${name.replace(/\*\//g, "")} */\n${code}\n</script>`;
}
