// The project's one CSV quoting rule (RFC 4180), for MovieLens-style ','-files and the ';'-files it writes.

const NEEDS_QUOTES = { ',': /[,"\r\n]/, ';': /[;"\r\n]/ } as const;

/**
 * One field for a CSV file with this delimiter: a field holding the delimiter, a double quote, CR or LF is
 * enclosed in double quotes with its quotes doubled; any other field is written as it is.
 */
export function quoteCsvField(value: string, delimiter: ',' | ';'): string {
  return NEEDS_QUOTES[delimiter].test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
