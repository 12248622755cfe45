"""Chart builders: plain functions from results to Altair charts (no Streamlit, testable anywhere)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def tornado_chart(table: pd.DataFrame, metric: str, title: str | None = None) -> alt.Chart:
    """The sensitivity tornado: for each lever, a bar from the metric at the lever's low value to the
    metric at its high value, around the base value; the largest swing on top."""
    if table.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_bar()
    base = float(table["metric_base"].iloc[0])
    rows = []
    for _, r in table.iterrows():
        for side in ("low", "high"):
            v = r[f"metric_{side}"]
            rows.append(
                {
                    "label": r["label"],
                    "side": f"lever {side} ({r[side]:,.4g})",
                    "end": "low" if side == "low" else "high",
                    "from": base,
                    "to": base if pd.isna(v) else float(v),
                    "value": "never" if pd.isna(v) else f"{v:,.4g}",
                    "swing": r["swing"],
                }
            )
    data = pd.DataFrame(rows)
    order = list(table["label"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None),
            x=alt.X("from:Q", title=metric.replace("_", " ")),
            x2="to:Q",
            color=alt.Color("end:N", title="lever moved", scale=alt.Scale(domain=["low", "high"])),
            tooltip=["label", "side", "value", alt.Tooltip("swing:Q", format=",.4g")],
        )
    )
    rule = alt.Chart(pd.DataFrame({"base": [base]})).mark_rule(color="black").encode(x="base:Q")
    return (bars + rule).properties(
        title=title or f"Which lever moves {metric.replace('_', ' ')}?", width=480
    )
