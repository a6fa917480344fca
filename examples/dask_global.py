"""Global explanations over data that does not fit, on a Dask cluster.

The live panel explores a sample of rows; ``global_data`` (here Parquet files read with
Dask) is explained on every row, partition by partition, and only the reductions come back:
mean |SHAP| per feature, binned dependence, the prediction distribution and the
surrogate's fidelity on every row.

    pip install 'optiml-widgets[dask]' lightgbm
    python examples/dask_global.py                      # a LocalCluster on this machine
    python examples/dask_global.py --scheduler tcp://scheduler:8786   # an existing cluster

In a notebook the same lines work without the ``if __name__ == "__main__":`` guard; in a
script the guard is required: LocalCluster starts its workers as new processes that import
this file, and without the guard each of them would start a cluster of its own ("Nanny
failed to start").
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from optiml_widgets import ExplanationSession
from optiml_widgets.global_data import explain_global_data


def write_parquet(folder: Path, rows: int, partitions: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Generated data in ``partitions`` Parquet files; returns it too (to fit the model)."""
    X, y = make_classification(rows, 12, n_informative=6, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)])
    for part, chunk in enumerate(np.array_split(np.arange(rows), partitions)):
        frame.iloc[chunk].to_parquet(folder / f"part-{part:03d}.parquet")
    return frame, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        X, y = write_parquet(Path(folder), args.rows, args.partitions)
        model = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=15, verbose=-1)
        model.fit(X.iloc[:50_000], y[:50_000])
        sample = X.sample(1000, random_state=0)
        # The live panel's rows: explain_widget(model, sample, global_data=...) in a notebook.
        session = ExplanationSession(model, sample)

        cluster = None if args.scheduler else LocalCluster(n_workers=2, threads_per_worker=1)
        with Client(args.scheduler or cluster) as client:
            print(f"Dask dashboard: {client.dashboard_link}")
            explanation = explain_global_data(
                session, f"{folder}/*.parquet", algorithm="native", client=client
            )
        if cluster is not None:
            cluster.close()

    summary = explanation.summary
    print(summary.text())
    print("\nMean |SHAP| over every row (log-odds of class 1):")
    print(explanation.importance(1).head(6).round(4).to_string())
    top = explanation.importance(1).index[0]
    print(f"\nBinned dependence of {top}:")
    print(summary.dependence_frame(top, output=1).round(4).to_string(index=False))
    print("\nThe surrogate's most common rules on every row:")
    print(summary.fidelity.rules().head(10).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
