// Which materialized views dbopt manages: refresh.include / refresh.exclude patterns over
// schema.name, where `*` matches any run of characters and everything else is literal. The one
// matcher refresh-views, the audit's view-overdue check and `dbopt report` share.

/** Config pattern ("analytics.*") to a RegExp. */
export function viewPattern(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Matched by an include pattern and by no exclude pattern. */
export function isManagedView(qualified: string, include: string[], exclude: string[]): boolean {
  return include.some((p) => viewPattern(p).test(qualified)) && !exclude.some((p) => viewPattern(p).test(qualified));
}
