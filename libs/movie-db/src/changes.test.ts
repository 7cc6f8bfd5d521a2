import { changePayloads, parseChangePayload } from './changes';

describe('change payloads', () => {
  it('split ids into payloads under the limit, each as full as it can be, that parse back to the ids in order', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => (i % 3 === 0 ? 2_147_483_647 - i : i + 1));
    for (const max of [7999, 50, 10]) {
      const payloads = changePayloads(ids, max);
      expect(payloads.every((p) => Buffer.byteLength(p) <= max)).toBe(true);
      // Full: the next payload's first id would not have fitted into this one.
      payloads.slice(0, -1).forEach((p, i) => expect(p.length + 1 + payloads[i + 1]!.split(',')[0]!.length).toBeGreaterThan(max));
      expect(payloads.flatMap((p) => parseChangePayload(p)!)).toEqual(ids);
    }
    expect(changePayloads([])).toEqual([]);
  });

  it('read anything else on the channel as "anything may have changed"', () => {
    for (const p of [undefined, '', 'x', '1,,2', '1,2,', '12345678901', '-1']) expect(parseChangePayload(p)).toBeUndefined();
    expect(parseChangePayload('7')).toEqual([7]);
  });
});
