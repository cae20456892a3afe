// Masking secrets in text dbopt prints: passwords of connection URLs, and any secret a target
// registered. No imports, so the CLI's error path loads it without loading a driver.

/** Replace every secret in `text` (from the driver or the server) with ***. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length > 0) out = out.split(s).join('***');
  }
  return redactUrls(out);
}

/** Mask the password of any postgres://, redis:// or rediss:// URL with credentials that slipped into a text. */
export function redactUrls(text: string): string {
  return redactRedisUrl(text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@'));
}

/** Mask the password of any redis:// or rediss:// URL in a text. */
export function redactRedisUrl(text: string): string {
  return text.replace(/(rediss?:\/\/[^:/@\s]*:)[^\s]*@/gi, '$1***@');
}
