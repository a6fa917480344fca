// The same table as tests/test_format.py: Python and TypeScript write every number alike.
import { describe, expect, it } from "vitest";
import { MISSING, counted, cutName, exactNumber, featureScale, fileSize, formatNumber, formatScore, formatValue, percent, shownNumber, signed } from "../src/format";
import exactCases from "./exact-cases.json";
import cases from "./format-cases.json";

type Encoded = number | string | null;

/** JSON has no NaN or infinity: the table spells them. */
function decode(value: Encoded): number | null {
  if (value === "NaN") return Number.NaN;
  if (value === "inf") return Number.POSITIVE_INFINITY;
  if (value === "-inf") return Number.NEGATIVE_INFINITY;
  return value as number | null;
}

describe("formatNumber", () => {
  it("agrees with Python's format_number on every row of the shared table", () => {
    expect(cases.length).toBeGreaterThan(40);
    const wrong = (cases as { value: Encoded; digits: number; scale: Encoded; text: string }[])
      .map((c) => ({ ...c, got: formatNumber(decode(c.value), c.digits, decode(c.scale)) }))
      .filter((c) => c.got !== c.text);
    expect(wrong).toEqual([]);
  });

  it("writes a threshold in full as Python's exact_number does, on every row of the shared table", () => {
    const wrong = (exactCases as { value: Encoded; text: string }[])
      .map((c) => ({ ...c, got: exactNumber(decode(c.value) as number) }))
      .filter((c) => c.got !== c.text);
    expect(wrong).toEqual([]);
    // Never the 4 digits of formatNumber: 0.300003 is not 0.3.
    expect(exactNumber(0.300003)).toBe("0.300003");
  });

  it("shows a negative number with a true minus sign, its exponent's sign as written", () => {
    expect(shownNumber(-1)).toBe("\u22121");
    expect(shownNumber(-0.000012345)).toBe("\u22121.234e-5");
    expect(shownNumber(0.5)).toBe("0.5");
    expect(shownNumber(null)).toBe(MISSING);
  });

  it("writes a feature's values at the feature's scale", () => {
    const area = { name: "worst area", kind: "numeric" as const, min: 185.2, max: 4254, quantiles: [], categories: null, counts: null, missing: 0 };
    expect(featureScale(area)).toBe(4254);
    expect(formatValue(862.63, area)).toBe("863");
    expect(formatValue(862.63)).toBe("862.6");
    expect(formatValue(7, { ...area, kind: "integer" })).toBe("7");
    expect(formatValue(null, area)).toBe("missing");
    expect(featureScale({ min: null, max: null })).toBeNull();
    expect(featureScale({ min: -3, max: 2 })).toBe(3);
  });

  it("signs contributions with a true minus and sizes files", () => {
    expect(signed(-0.0463)).toBe("−0.0463");
    expect(signed(0.107)).toBe("+0.107");
    expect(fileSize(1_234_567)).toBe("1.2 MB");
    expect(fileSize(830_400)).toBe("830 kB");
    expect(fileSize(512)).toBe("512 bytes");
  });

  it("writes a fidelity to three decimals, as Python's reports do", () => {
    expect(formatScore(1)).toBe("1.000");
    expect(formatScore(0.93)).toBe("0.930");
    expect(formatScore(-2.5)).toBe("-2.500"); // an R² below zero
    expect(formatScore(null)).toBe(MISSING);
  });

  it("counts with the noun's own plural", () => {
    expect(counted(1, "rule")).toBe("1 rule");
    expect(counted(0, "phrase")).toBe("0 phrases");
    expect(counted(2, "leaf", "leaves")).toBe("2 leaves");
  });
});

describe("cutName", () => {
  it("cuts a long name in the middle, where names sharing a long start still differ", () => {
    expect(cutName("a_rather_long_feature_name_number_017", 20)).toBe("a_rather_lon…ber_017");
    expect(cutName("a_rather_long_feature_name_number_018", 20)).not.toBe(cutName("a_rather_long_feature_name_number_017", 20));
    expect([...cutName("a_rather_long_feature_name_number_017", 20)]).toHaveLength(20);
  });

  it("keeps a name that fits, cuts a short space at the end, and never splits an emoji", () => {
    expect(cutName("worst area", 20)).toBe("worst area");
    expect(cutName("mean concave points", 8)).toBe("mean co…");
    expect(cutName("😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", 14)).toBe("😀😀😀😀😀😀😀😀…😀😀😀😀😀");
  });
});

describe("percent", () => {
  it("never reads a share of a few rows as none (as optiml_widgets.format.percent)", () => {
    const cases: [number, string][] = [[0.57, "57%"], [0.0023, "0.2%"], [1e-5, "<0.1%"], [0, "0.0%"], [1, "100%"]];
    expect(cases.map(([share]) => percent(share))).toEqual(cases.map(([, text]) => text));
  });
  it("never reads a share short of all as all (as optiml_widgets.format.percent)", () => {
    const cases: [number, string][] = [[0.995, "99.5%"], [0.999, "99.9%"], [0.9996, ">99.9%"], [0.994, "99%"], [0.96, "96%"]];
    expect(cases.map(([share]) => percent(share))).toEqual(cases.map(([, text]) => text));
  });
});
