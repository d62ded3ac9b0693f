/**
 * A trigger's payload as the Functions host hands it over: already parsed when the queue message
 * or event was JSON, a string otherwise (or when the sender encoded it twice). A string is parsed
 * here; text that is not JSON stays text, so the schema reading it names what is wrong.
 */
export function triggerPayload(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
