"""Comparing the engine's per-run figures with the reference model's: one two-sample test, shared by the
validation files that compare them (each file sets its own Bonferroni threshold)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def welch(engine: np.ndarray, reference: np.ndarray, alpha: float) -> tuple[float, str]:
    """Welch's test of equal means: (p-value, description naming the threshold `alpha`). Zero variance on
    both sides: exact equality (p = 1 if the means are equal, else 0)."""
    me, mr = float(engine.mean()), float(reference.mean())
    se_e = float(engine.std(ddof=1)) / np.sqrt(engine.size)
    se_r = float(reference.std(ddof=1)) / np.sqrt(reference.size)
    if se_e == 0.0 and se_r == 0.0:
        p = 1.0 if me == mr else 0.0
        test = "both samples constant, must be equal"
    else:
        p = float(stats.ttest_ind(engine, reference, equal_var=False).pvalue)
        test = "Welch t-test"
    text = (
        f"engine mean {me:,.6g} (SE {se_e:,.4g}, n={engine.size}) vs reference mean {mr:,.6g} "
        f"(SE {se_r:,.4g}, n={reference.size}): {test}, p = {p:.3g}, threshold {alpha:.3g}"
    )
    return p, text
