// Text helpers shared by the renderers and the extractor's questions. Pure.

/** Shortens text to at most `max` characters (code points), ending with "…" when cut. */
export function truncate(text: string, max: number): string {
  if (max < 1) throw new RangeError('max must be at least 1');
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
