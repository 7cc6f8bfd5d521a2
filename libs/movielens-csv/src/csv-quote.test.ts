import fc from 'fast-check';
import Papa from 'papaparse';
import { quoteCsvField } from './index';

describe('quoteCsvField', () => {
  it('quotes exactly the fields holding the delimiter, a quote, CR or LF, doubling quotes', () => {
    expect(quoteCsvField('Amélie (2001)', ',')).toBe('Amélie (2001)');
    expect(quoteCsvField('Good, the Bad', ',')).toBe('"Good, the Bad"');
    expect(quoteCsvField('a;b', ',')).toBe('a;b');
    expect(quoteCsvField('a;b', ';')).toBe('"a;b"');
    expect(quoteCsvField('Good, the Bad', ';')).toBe('Good, the Bad');
    expect(quoteCsvField('"Great Performances" Cats', ';')).toBe('"""Great Performances"" Cats"');
    expect(quoteCsvField('line\none', ',')).toBe('"line\none"');
    expect(quoteCsvField('cr\r', ';')).toBe('"cr\r"');
    // Spaces are kept as they are, unquoted (a reader keeps them too).
    expect(quoteCsvField(' padded ', ';')).toBe(' padded ');
    expect(quoteCsvField('', ';')).toBe('');
  });

  it('a row of quoted fields parses back to the same fields (papaparse as the independent reader)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(',' as const, ';' as const),
        fc.array(fc.string({ unit: fc.constantFrom('a', ' ', ',', ';', '"', '\r', '\n', 'é') }), { minLength: 2, maxLength: 5 }),
        (d, fields) => {
          const text = `${fields.map((f) => quoteCsvField(f, d)).join(d)}\n`;
          const parsed = Papa.parse<string[]>(text, { delimiter: d, newline: '\n', quoteChar: '"' });
          expect(parsed.data[0]).toEqual(fields);
        },
      ),
    );
  });
});
