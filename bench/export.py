"""Export size and time for the examples, beside shap.save_html of a force plot of the same rows.

python bench/export.py      # writes the "export" section of bench/RESULTS.md
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import shap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_notebooks import NOTEBOOKS
from results import REPEATS, median_time, versions, write_section


def build_widget(example: str):
    """Runs the example's cells up to the one that makes the widget; returns the widget."""
    namespace: dict = {}
    for source in NOTEBOOKS[example]:
        if source.startswith("#"):
            continue
        exec(source.removesuffix("\nw"), namespace)
        if "w" in namespace:
            return namespace["w"]
    raise RuntimeError(f"{example} makes no widget")


def shap_force_html(w, rows: list[int], path: Path) -> None:
    session = w.session
    explanations = [session.local_explanation(i, {}) for i in rows]
    names = session.schema.names
    values = [[e.shap[n] for n in names] for e in explanations]
    plot = shap.force_plot(
        explanations[0].base_value,
        np.array(values),
        session.frame.iloc[rows],
        feature_names=names,
    )
    shap.save_html(str(path), plot)


def main() -> None:
    lines = [
        f"## Export ({date.today()}, {os.cpu_count()} cores)",
        "",
        f"`w.to_html()` with its defaults (current row + 49 more, 12-point slider grids), median of {REPEATS}, "
        "beside `shap.save_html(shap.force_plot(...))` of the same rows' SHAP values (a stacked force plot, "
        "no what-if, no LIME, no rules). Sizes in MB.",
        "",
        "| example | rows x features | ours: size | ours: time (s) | shap.save_html: size | shap: time (s) | size ratio | time ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for example in ("quickstart", "regression", "pipeline_categorical", "multiclass"):
            w = build_widget(example)
            ours_path, theirs_path = (
                Path(tmp) / f"{example}.html",
                Path(tmp) / f"{example}-shap.html",
            )
            ours_time, _ = median_time(lambda w=w, p=ours_path: w.to_html(p))
            rows = [w.index, *[i for i in range(w.session.n_rows) if i != w.index][:49]]
            for i in rows:  # explanations computed once, outside shap's timing
                w.session.local_explanation(i, {})
            theirs_time, _ = median_time(
                lambda w=w, r=rows, p=theirs_path: shap_force_html(w, r, p)
            )
            ours_size, theirs_size = (
                ours_path.stat().st_size / 1e6,
                theirs_path.stat().st_size / 1e6,
            )
            lines.append(
                f"| {example} | {len(rows)} x {len(w.session.schema)} | {ours_size:.2f} | {ours_time:.1f} | "
                f"{theirs_size:.2f} | {theirs_time:.2f} | {ours_size / theirs_size:.2f} | {ours_time / theirs_time:.0f} |"
            )
            print(lines[-1], flush=True)
    lines += ["", versions("numpy", "scikit-learn", "shap", "lime", "optiml-widgets")]
    write_section("export", "\n".join(lines))


if __name__ == "__main__":
    main()
