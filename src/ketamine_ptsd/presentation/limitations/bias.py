"""Every bias at once: the robustness chapter's probabilistic bias analysis as the summary table's last row.

The numbers come from :func:`ketamine_ptsd.analysis.bias.bias_analysis`; the robustness chapter writes
about them at length.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketamine_ptsd.presentation.limitations._common import Row, is_suppressed, suppressed_text


def summary_row(bias: Mapping | None, ci_level: float, min_cell: int) -> Row:
    """The summary table's row: the points of the mean drop left for ketamine once every bias is removed.

    Parameters
    ----------
    bias : mapping or None
        From :func:`ketamine_ptsd.analysis.bias.bias_analysis`.
    ci_level : float
        Level of the simulation interval, for the sentence.
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    Row
    """
    q, text = None, "not computed"
    if bias is not None and bias.get("bias_attributable_change_median") is not None:
        q = bias["bias_attributable_change_median"]
        text = (
            f"removing placebo response, regression to the mean, dropouts not at random and chance together "
            f"leaves {q:.1f} points of the mean drop for ketamine ({ci_level:.0%} simulation interval "
            f"{bias['bias_attributable_change_low']:.1f} to {bias['bias_attributable_change_high']:.1f}; "
            f"chapter 'How robust is the result?')"
        )
    elif is_suppressed(bias, "bias_attributable_change_median"):
        text = suppressed_text(min_cell)
    elif bias is not None and bias.get("reason"):
        text = f"not computed: {bias['reason']}"
    return Row(
        "all of these biases at once",
        "inflate",
        q,
        "PCL-5 points left for ketamine (median)",
        text,
        "randomised placebo-controlled trial analysed by intention to treat",
        is_suppressed(bias, "bias_attributable_change_median"),
    )
