"""Global explanations on a Dask cluster: LocalCluster(n_workers=2, threads_per_worker=1) on a
few hundred thousand generated rows. Every row covered and equal to the in-memory numbers,
progress per task, a failing partition retried and reported, cancel, the script guard."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from optiml_widgets import ExplanationSession
from optiml_widgets.global_data import explain_global_data
from optiml_widgets.jobs import Cancelled, Jobs, wait

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
lightgbm = pytest.importorskip("lightgbm")
cloudpickle = pytest.importorskip("cloudpickle")

# The workers are other processes: they get this module's functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROWS, FEATURES, FILES = 300_000, 10, 6
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dask_global.py"


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """300,000 generated rows in 6 Parquet files, a LightGBM classifier fit on some of them,
    and a session on 1,000 rows."""
    X, y = make_classification(ROWS, FEATURES, n_informative=6, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(FEATURES)])
    folder = tmp_path_factory.mktemp("parquet")
    for part, rows in enumerate(np.array_split(np.arange(ROWS), FILES)):
        X.iloc[rows].to_parquet(folder / f"part-{part}.parquet")
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=15, verbose=-1, random_state=0)
    model.fit(X.iloc[:50_000], y[:50_000])
    session = ExplanationSession(model, X.sample(1000, random_state=0))
    return session, X, f"{folder}/*.parquet"


def test_parquet_on_the_cluster_covers_every_row_and_equals_in_memory(client, data):
    session, X, parquet = data
    seen = []
    explanation = explain_global_data(
        session, parquet, algorithm="native", progress=lambda d, t: seen.append((d, t))
    )
    summary = explanation.summary
    assert summary.n_rows == ROWS and summary.parts == FILES and not summary.failures
    assert "on the Dask cluster at tcp://" in summary.backend and "(2 workers)" in summary.backend
    assert summary.coverage_text == "all 300,000 rows"
    # Progress follows the tasks: 0 of 6, then one message per finished partition.
    assert seen == [(done, FILES) for done in range(FILES + 1)]
    # The same numbers by hand, in this process, on every row.
    contributions = session.adapter.model.booster_.predict(X, pred_contrib=True)[:, :FEATURES]
    np.testing.assert_allclose(
        summary.mean_abs_shap[:, 1], np.abs(contributions).mean(axis=0), rtol=1e-9
    )
    encoded = X.to_numpy()
    j = int(np.argmax(summary.mean_abs_shap[:, 1]))
    bins = np.searchsorted(summary.dependence.edges[j], encoded[:, j], side="left")
    frame = summary.dependence_frame(j, output=1)
    for b in (0, 7, len(summary.dependence.edges[j])):
        assert frame["rows"][b] == (bins == b).sum()
        assert frame["shap_mean"][b] == pytest.approx(contributions[bins == b, j].mean(), rel=1e-9)
    surrogate = session.surrogate
    model_class = np.argmax(session.adapter.predict(X), axis=1)
    agree = surrogate.predict_encoded(encoded).astype(int) == model_class
    assert summary.fidelity.value == pytest.approx(agree.mean(), rel=1e-12)
    assert summary.fidelity.rules()["rows"].sum() == ROWS
    assert summary.prediction_histogram(1)["rows"].sum() == ROWS
    # The sample is uniform over the rows and its values are those rows' own.
    assert len(explanation.rows) == 1000 and explanation.rows.max() < ROWS
    np.testing.assert_allclose(
        explanation.output_values(1), contributions[explanation.rows], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(explanation.encoded, encoded[explanation.rows])
    # The same reduction in process gives the same numbers and the same sample.
    local = explain_global_data(
        session, parquet, algorithm="native", client=False, progress=lambda *_: None
    )
    assert local.summary.backend == "in process"
    np.testing.assert_allclose(local.summary.mean_abs_shap, summary.mean_abs_shap, rtol=1e-12)
    np.testing.assert_allclose(
        local.summary.dependence.shap_mean, summary.dependence.shap_mean, rtol=1e-9, atol=1e-15
    )
    np.testing.assert_array_equal(local.rows, explanation.rows)
    np.testing.assert_allclose(
        [f.quantiles for f in local.summary.features], [f.quantiles for f in summary.features]
    )


def test_a_pandas_frame_travels_to_the_workers_as_data_not_in_the_graph(client, data):
    # Each chunk was put in the task graph: a 0.8 GB frame made a 763 MiB graph that dask
    # warned about and the scheduler held; 24 MB here is past dask's 10 MB warning.
    session, X, _ = data
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*large graph.*")
        on_cluster = explain_global_data(session, X, algorithm="native", sample_rows=100)
    local = explain_global_data(session, X, algorithm="native", sample_rows=100, client=False)
    assert "on the Dask cluster" in on_cluster.summary.backend
    assert on_cluster.summary.n_rows == ROWS
    np.testing.assert_allclose(
        on_cluster.summary.mean_abs_shap, local.summary.mean_abs_shap, rtol=1e-9
    )


def test_a_pandas_frame_gives_the_same_sample_on_the_cluster_as_in_process(client, data):
    # In parts of 50,000 rows on the cluster and 10,000 in process: each row's key came from
    # its part's number, so the beeswarm's rows changed with whether a Client was active.
    session, X, _ = data
    frame = X.iloc[:120_000]
    quiet = {"algorithm": "native", "sample_rows": 200, "progress": lambda *_: None}
    on_cluster = explain_global_data(session, frame, **quiet)
    local = explain_global_data(session, frame, client=False, **quiet)
    assert "on the Dask cluster" in on_cluster.summary.backend
    assert (on_cluster.summary.parts, local.summary.parts) == (3, 12)
    np.testing.assert_array_equal(on_cluster.rows, local.rows)
    np.testing.assert_allclose(on_cluster.values, local.values, rtol=1e-12, atol=1e-15)


def test_the_panels_explainer_runs_on_the_workers(client, data):
    session, X, _ = data
    frame = X.iloc[:3000]
    # A pandas frame goes to the active cluster in parts of 1,000 rows; the same parts as a
    # Dask DataFrame stay in process with client=False.
    on_cluster = explain_global_data(
        session, frame, partition_rows=1000, progress=lambda *_: None, sample_rows=200
    )
    in_process = explain_global_data(
        session,
        dd.from_pandas(frame, npartitions=3),
        client=False,
        progress=lambda *_: None,
        sample_rows=200,
    )
    assert on_cluster.algorithm == session.shap_explainer.description  # interventional
    assert "Dask cluster" in on_cluster.summary.backend
    assert in_process.summary.backend == "in process" and on_cluster.summary.parts == 3
    np.testing.assert_allclose(
        on_cluster.summary.mean_abs_shap, in_process.summary.mean_abs_shap, rtol=1e-9
    )
    np.testing.assert_allclose(on_cluster.values, in_process.values, rtol=1e-9, atol=1e-12)
    assert on_cluster.summary.fidelity.value == in_process.summary.fidelity.value
    assert on_cluster.summary.additivity_error < 1e-6


def refuse_marked_rows(frame: pd.DataFrame, log: str) -> pd.DataFrame:
    """A partition that cannot be read: it holds the marked row (every attempt is logged)."""
    if (frame["x0"] == 12345.0).any():
        with open(log, "a") as out:
            out.write("attempt\n")
        raise ValueError("corrupt partition")
    return frame


def refuse_once(frame: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Fails the first time it sees the marked row, then works (a worker that came back)."""
    if (frame["x0"] == 12345.0).any() and not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise OSError("worker lost its connection")
    return frame


def marked_frame(X: pd.DataFrame) -> pd.DataFrame:
    frame = X.iloc[:40_000].copy()
    frame.iloc[12_000, 0] = 12345.0  # in partition 2 of 8
    return frame


def test_a_failing_partition_is_retried_and_reported(client, data, tmp_path):
    session, X, _ = data
    log = tmp_path / "attempts.txt"
    ddf = dd.from_pandas(marked_frame(X), npartitions=8).map_partitions(
        functools.partial(refuse_marked_rows, log=str(log))
    )
    with pytest.warns(RuntimeWarning, match=r"covers 35,000 rows \(1 of 8 parts failed\)"):
        explanation = explain_global_data(
            session, ddf, algorithm="native", progress=lambda *_: None
        )
    summary = explanation.summary
    (failure,) = summary.failures
    assert failure.part == 2 and failure.attempts == 3
    assert "ValueError: corrupt partition" in failure.error
    assert log.read_text().count("attempt") == 3  # Dask retried it twice
    assert summary.n_rows == 35_000 and summary.parts == 8
    assert summary.coverage_text == "35,000 rows (1 of 8 parts failed)"
    assert "part 2 failed after 3 attempts: ValueError: corrupt partition" in summary.text()
    assert explanation.total_rows == 35_000


def test_a_partition_that_fails_once_is_retried_and_kept(client, data, tmp_path):
    session, X, _ = data
    marker = tmp_path / "failed-once"
    ddf = dd.from_pandas(marked_frame(X), npartitions=8).map_partitions(
        functools.partial(refuse_once, marker=str(marker))
    )
    summary = explain_global_data(
        session, ddf, algorithm="native", progress=lambda *_: None
    ).summary
    assert marker.exists() and not summary.failures and summary.n_rows == 40_000


def slow_partition(frame: pd.DataFrame) -> pd.DataFrame:
    time.sleep(1.5)
    return frame


def test_closing_cancels_the_clusters_tasks(client, data):
    session, X, _ = data
    ddf = dd.from_pandas(X.iloc[:32_000], npartitions=16).map_partitions(slow_partition)
    jobs = Jobs()
    started = threading.Event()

    def run(stop, progress):
        def report(done, total):
            progress(done, total)
            if done:
                started.set()

        return explain_global_data(session, ddf, algorithm="native", stop=stop, progress=report)

    future = jobs.submit("global", run)
    assert started.wait(120)
    closed = time.monotonic()
    jobs.close()  # what w.close() does
    with pytest.raises(Cancelled):
        wait(future, timeout=30)
    assert time.monotonic() - closed < 5

    def tasks_left(dask_scheduler=None):
        return len(dask_scheduler.tasks)

    deadline = time.monotonic() + 20
    while client.run_on_scheduler(tasks_left) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.run_on_scheduler(tasks_left) == 0  # nothing queued or running any more


def test_a_client_closed_during_the_pass_gives_the_packages_error(client, data):
    """Closing the Client mid-pass raised distributed's own error from the clean-up
    (ClosedClientError "Can't send cancel-keys message", or "IOLoop is closed") over the
    error that says what happened."""
    session, X, _ = data
    ddf = dd.from_pandas(X.iloc[:32_000], npartitions=16).map_partitions(slow_partition)
    # A Client of its own on the same cluster: closing it leaves the module's one working.
    other = distributed.Client(client.scheduler.address, set_as_default=False)

    def progress(done, total):
        if done == 1:  # closed once a part is in, before the pass looks at the next one
            other.close()

    with pytest.raises(RuntimeError, match=r"The Dask cluster dropped part \d+ \(was the client"):
        explain_global_data(session, ddf, algorithm="native", client=other, progress=progress)
    assert other.status == "closed"


class SlowModel:
    """A callable model that takes its time and logs every call with its process."""

    def __init__(self, inner, log: str) -> None:
        self.inner = inner
        self.log = log

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        with open(self.log, "a") as out:
            out.write(f"{time.time()} {os.getpid()}\n")
        time.sleep(0.01)
        return self.inner.predict_proba(frame)


def worker_calls(log: Path, after: float) -> int:
    """The model's calls in other processes (the workers) since ``after``."""
    calls = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return sum(float(t) > after and int(pid) != os.getpid() for t, pid in calls)


def test_closing_stops_the_partitions_running_on_the_workers(client, data, tmp_path):
    _, X, _ = data
    rows = X.iloc[:2000]
    inner = LogisticRegression().fit(rows, rows["x0"] > 0)
    log = tmp_path / "calls.log"
    session = ExplanationSession(SlowModel(inner, str(log)), rows.iloc[:200], explainers=("shap",))
    # 8 partitions, each minutes of model calls with the panel's model-agnostic SHAP.
    ddf = dd.from_pandas(X.iloc[:16_000], npartitions=8)
    jobs = Jobs()
    future = jobs.submit(
        "global", lambda stop, progress: explain_global_data(session, ddf, stop=stop)
    )
    deadline = time.monotonic() + 120
    while worker_calls(log, 0) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker_calls(log, 0) >= 5  # both workers are inside a partition
    closed = time.time()
    jobs.close()  # what w.close() does
    with pytest.raises(Cancelled):
        wait(future, timeout=30)
    # A worker sees the stop at its next step (about a second): then its calls end.
    time.sleep(6)
    assert worker_calls(log, closed + 3) == 0


class LockedModel:
    """A callable model that cannot be pickled (it holds a lock)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.lock = threading.Lock()

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        with self.lock:
            return self.inner.predict_proba(frame)


def test_a_model_that_cannot_be_pickled_is_explained_in_process(client, data):
    _, X, _ = data
    rows = X.iloc[:500]
    model = LockedModel(LogisticRegression().fit(rows, rows["x0"] > 0))
    session = ExplanationSession(model, rows.iloc[:100], explainers=("shap",))
    frame = rows.iloc[100:300]
    # The active Client is passed over, with a warning that says why and what to do.
    with pytest.warns(
        UserWarning,
        match=r"in this process, not on the active Dask cluster: .*"
        r"cannot be sent to its workers \(TypeError: cannot pickle '_thread.lock'",
    ):
        summary = explain_global_data(
            session, frame, progress=lambda *_: None, sample_rows=50
        ).summary
    assert summary.n_rows == 200 and not summary.failures
    assert summary.backend.startswith("in process (the model cannot be pickled")
    assert summary.backend in summary.text()
    # A client given in the call was asked for: an error naming the fix, before any work.
    with pytest.raises(TypeError, match=r"cannot be sent to the Dask workers .*client=False"):
        explain_global_data(session, frame, client=client, progress=lambda *_: None)


def test_the_widgets_views_advise_what_a_widget_can_do_with_a_model_that_cannot_be_pickled(
    client, data
):
    # Its warning told widget users to pass explain_global_data(..., client=False), which
    # the widget's global views do not take.
    _, X, _ = data
    rows = X.iloc[:500]
    model = LockedModel(LogisticRegression().fit(rows, rows["x0"] > 0))
    session = ExplanationSession(
        model, rows.iloc[:100], explainers=("shap",), global_data=rows.iloc[100:300]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = session.global_explanation()  # what w.global_explanation and the panel ask
    said = [str(w.message) for w in caught if "cannot be sent to its workers" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]
    assert "client=False" not in said[0]
    assert re.search(
        r"Make the model picklable to use the cluster .* The global views use the Client "
        r"active when they are computed: with none active \(a Client made with "
        r"set_as_default=False never is\) they run in this process without this warning\.",
        said[0],
    )
    assert found.summary.n_rows == 200
    assert found.summary.backend.startswith("in process (the model cannot be pickled")
    session.close()


def test_the_example_script_runs_with_its_main_guard(tmp_path):
    text = EXAMPLE.read_text()
    assert 'if __name__ == "__main__":\n    main()' in text
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--rows", "20000", "--partitions", "4"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SHAP values of all 20,000 rows" in done.stdout
    assert "Nanny failed to start" not in done.stderr
