"""Properties of the small-cell rule (analysis/privacy.py): at its cut-off, and that suppression never
publishes a value resting on a group of 1 to min_cell - 1 patients, nor hides one resting on larger groups."""

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ketamine_ptsd.analysis import privacy


def test_too_few_at_its_cut_off():
    # Contract: a group of 1 to min_cell - 1 patients is too small; 0 is nobody, min_cell is enough.
    assert [privacy.too_few(k, 5) for k in (0, 1, 4, 5, 6)] == [False, True, True, False, False]
    assert privacy.too_few(None, 5) is False


sizes = st.one_of(st.none(), st.integers(0, 30), st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=3))


@given(
    cells=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.tuples(st.floats(0, 100), sizes)),
    min_cell=st.integers(1, 12),
)
def test_suppression_never_reveals_a_small_cell(cells, min_cell):
    values = {key: value for key, (value, _) in cells.items()}
    groups = {key: size for key, (_, size) in cells.items()}
    out = privacy.suppress(values, groups, min_cell)
    for key, size in groups.items():
        ks = size if isinstance(size, list) else [size]
        small = any(k is not None and 0 < k < min_cell for k in ks)
        # Written out: hidden exactly when some group has 1 to min_cell - 1 patients.
        assert (out[key] is None) == small
        assert (key in out[privacy.SUPPRESSED_KEY]) == small
        if not small:
            assert out[key] == values[key]


def test_suppression_keeps_an_earlier_list_and_skips_what_it_already_hid():
    # A value already listed as suppressed stays listed once and is not hidden a second time; the list carries on.
    out = privacy.suppress({"a": 1.0, "b": 2.0, privacy.SUPPRESSED_KEY: ["a"]}, {"a": 3, "b": 2}, 5)
    assert out == {"a": 1.0, "b": None, privacy.SUPPRESSED_KEY: ["a", "b"]}


def test_a_missing_value_does_not_stop_the_rule_for_the_next_keys():
    out = privacy.suppress({"a": None, "b": 1.0}, {"a": 3, "b": 3}, 5)
    assert out == {"a": None, "b": None, privacy.SUPPRESSED_KEY: ["b"]}


def test_tables_read_as_the_rule_says_with_missing_counts_and_without_attributes():
    # A row whose count is missing rests on no known group: its size is None, and a NaN cell becomes None.
    t = pd.DataFrame({"n": [3, None, 40], "pct": [7.5, float("nan"), 100.0]})
    sizes = privacy.row_sizes(t, "n", ["pct"], denominators=[43])
    assert sizes == {(0, "pct"): (3, 43), (1, "pct"): (None, 43), (2, "pct"): (40, 43)}
    # One size given as a number, not a sequence of groups.
    out = privacy.suppress_cells(t, {(0, "pct"): 3, (2, "pct"): 40}, 5)
    assert out["pct"].tolist() == [None, None, 100.0] and out.attrs["suppressed"] == [(0, "pct")]
    # A table the rule never touched: nothing to mark.
    shown, paths = privacy.mark_suppressed(pd.DataFrame({"x": [1.0]}), "t")
    assert shown["x"].tolist() == [1.0] and paths == []
    # A source that hid nothing hides nothing derived from it.
    assert privacy.suppressed_with({"share": 0.5}, {"mean": 2.0}, {"share": ["mean"]}) == {
        "share": 0.5,
        "suppressed": [],
    }
    assert privacy.suppressed_with({"share": 0.5}, {"mean": None, "suppressed": ["mean"]}, {}) == {
        "share": 0.5,
        "suppressed": [],
    }
