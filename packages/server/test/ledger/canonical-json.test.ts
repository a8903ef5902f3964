import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/ledger/ledger-entries.ts';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('canonicalJson (RFC 8785 JCS)', () => {
  it('serialises the primitives of the §3.2.2 example and sorts its properties', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts property names by UTF-16 code units (§3.2.3 example)', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    // Integer-like keys are reordered by JSON.parse itself, so compare positions in the text.
    const text = canonicalJson(input);
    const positions = ['\\r', '1', '\u0080', 'ö', '€', '😀', '\ufb33'].map((key) => text.indexOf(`"${key}"`));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('serialises numbers as Appendix B lists them', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of vectors) expect(canonicalJson(fromBits(bits)), bits).toBe(expected);
  });

  it('refuses NaN and Infinity (Appendix B: "must cause an error")', () => {
    expect(() => canonicalJson(fromBits('7fffffffffffffff'))).toThrow(/not a JSON number/);
    expect(() => canonicalJson(fromBits('7ff0000000000000'))).toThrow(/not a JSON number/);
  });

  it('refuses lone surrogates (I-JSON, RFC 7493 §2.1) and values that are not JSON data', () => {
    expect(() => canonicalJson({ a: '\ud800x' })).toThrow(/lone surrogate/);
    expect(() => canonicalJson(['\udc00'])).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
  });

  it('keeps array order, nests, drops undefined members and has no whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: [] }], a: { y: undefined, x: 'é' } })).toBe(
      '{"a":{"x":"é"},"b":[3,{"a":[],"z":1}]}',
    );
  });
});
