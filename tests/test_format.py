"""Python's number format against the table js/test/format.test.ts checks TypeScript with:
the panel, the rules Python writes and the export write every number alike."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from optiml_widgets.format import (
    apart_scale,
    counted,
    exact_number,
    feature_scale,
    finite,
    first_names,
    format_number,
    percent,
)

CASES = json.loads(
    (Path(__file__).resolve().parent.parent / "js" / "test" / "format-cases.json").read_text()
)
# A rule's thresholds, written in full: the slider's tooltips (js exactNumber) say them as the
# rules do.
EXACT_CASES = json.loads(
    (Path(__file__).resolve().parent.parent / "js" / "test" / "exact-cases.json").read_text()
)


def decode(value: float | str | None) -> float | None:
    """JSON has no NaN or infinity: the table spells them."""
    return {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}.get(value, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['value']}|{c['digits']}|{c['scale']}" for c in CASES]
)
def test_format_number_matches_the_shared_table(case):
    got = format_number(decode(case["value"]), case["digits"], decode(case["scale"]))
    assert got == case["text"]


@pytest.mark.parametrize("case", EXACT_CASES, ids=[str(c["value"]) for c in EXACT_CASES])
def test_exact_number_matches_the_shared_table(case):
    assert exact_number(decode(case["value"])) == case["text"]


def test_the_table_covers_ties_exponents_scales_and_missing_values():
    texts = {c["text"] for c in CASES}
    assert len(CASES) > 40
    assert {"3", "-3", "0.13"} <= texts  # ties away from zero
    assert any("e+" in t for t in texts) and any("e-" in t for t in texts)
    assert any(c["scale"] is not None for c in CASES)
    assert {"\u2013", "NaN", "inf", "-inf"} <= texts


def test_feature_scale_is_the_largest_magnitude():
    assert feature_scale(185.2, 4254.0) == 4254.0
    assert feature_scale(-3.0, 2.0) == 3.0
    assert feature_scale(None, None) is None
    assert feature_scale(0.0, 0.0) is None
    assert format_number(862.63, scale=feature_scale(185.2, 4254.0)) == "863"


def test_values_side_by_side_get_the_digits_that_tell_them_apart():
    assert apart_scale([1.5, 3.25, 1000.2]) is None  # apart at their own digits
    assert apart_scale([7.0, 7.0]) is None and apart_scale([]) is None
    scale = apart_scale([1000.1, 1000.4, 2.5])
    assert scale == 100.0
    texts = [format_number(v, scale=min(abs(v), scale)) for v in (1000.1, 1000.4, 2.5)]
    assert texts == ["1000.1", "1000.4", "2.5"]  # a smaller value keeps its own digits
    assert apart_scale([1e12 - 0.3, 1e12 + 0.3]) == 100.0
    # Past SMALLEST_FIXED's digits they stay as they read (no exponent for a whole number).
    assert apart_scale([1000.0, 1000.0 + 1e-9]) is None


def test_integers_and_numpy_scalars_read_like_floats():
    np = pytest.importorskip("numpy")
    assert format_number(np.int64(52013)) == "52013"
    assert format_number(np.float32(0.5)) == "0.5"
    assert format_number(7) == "7"


def test_counts_read_with_their_nouns_plural():
    # The same words as js/src/format.ts counted: "1 rule", not "1 rules".
    assert counted(1, "rule") == "1 rule"
    assert counted(0, "phrase") == "0 phrases"
    assert counted(2, "leaf", "leaves") == "2 leaves"


def test_a_cut_list_in_a_message_says_how_many_it_leaves_out():
    assert first_names(["a", "b"]) == "['a', 'b']"
    names = [f"x{i}" for i in range(30)]
    assert first_names(names) == f"{names[:10]!r} and 20 more"
    assert first_names(names, 12).endswith("'x11'] and 18 more")


def test_a_share_of_a_few_rows_never_reads_as_none():
    # As js/src/format.ts percent (format.test.ts checks the same cases there).
    cases = {0.57: "57%", 0.0023: "0.2%", 1e-5: "<0.1%", 0.0: "0.0%", 1.0: "100%"}
    assert {share: percent(share) for share in cases} == cases


def test_a_share_short_of_all_never_reads_as_all():
    # A rule covering 199 of 200 rows read "coverage 100%" beside another's 0.5%.
    # As js/src/format.ts percent (format.test.ts checks the same cases there).
    cases = {0.995: "99.5%", 0.999: "99.9%", 0.9996: ">99.9%", 0.994: "99%", 0.96: "96%"}
    assert {share: percent(share) for share in cases} == cases


def test_finite_is_a_number_or_none_whatever_it_is_given():
    import numpy as np
    import pandas as pd

    assert finite(2) == 2.0 and isinstance(finite(np.int64(2)), float)
    assert finite(np.float32(0.5)) == 0.5
    for nothing in (None, math.nan, np.float32("inf"), -math.inf, pd.NA, pd.NaT, "a", [1.0]):
        assert finite(nothing) is None, nothing
