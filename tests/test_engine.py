"""The engine: one seam for explainers, work done once, a first view that streams, work off
the live path, and a widget that stops everything when closed."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import threading
import time
import weakref

import numpy as np
import pandas as pd
import pytest
from conftest import breast_cancer, held
from sklearn.ensemble import GradientBoostingClassifier

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.explainers import REGISTRY, Attribution, Explainer, register
from optiml_widgets.export import export_data
from optiml_widgets.jobs import (
    FOLLOW_UP,
    JOB,
    LIVE,
    LIVE_PRIORITY_SECONDS,
    Cancelled,
    Gate,
    Jobs,
    Stop,
    hand_off,
    let_live_through,
    locked_outside_gate,
    set_priority,
    wait,
)
from optiml_widgets.live import _Slot
from optiml_widgets.model import ModelAdapter
from optiml_widgets.progress import StepProgress
from optiml_widgets.session import SURROGATE


@pytest.fixture(scope="module")
def gbc():
    X, y = breast_cancer()
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)
    return model, X.head(100), y.head(100)


class CountingModel:
    """A classifier that counts the rows it is asked about (and may be slow per call)."""

    def __init__(self, model, delay: float = 0.0) -> None:
        self.model, self.delay, self.calls = model, delay, 0
        self.classes_ = model.classes_
        self.feature_names_in_ = model.feature_names_in_
        self.n_features_in_ = model.n_features_in_

    def fit(self, X, y):  # pragma: no cover -- fitted already
        return self

    def predict_proba(self, X):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.model.predict_proba(X)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# -- the seam ---------------------------------------------------------------------------
@pytest.fixture
def occlusion():
    """A test-only explainer: each feature's value minus the background's typical one, times
    the output change that setting it back makes. Nothing outside this test names it."""

    @register
    class Occlusion(Explainer):
        name = "occlusion"
        title = "Occlusion"
        view = "weights"

        def __init__(self, context) -> None:
            self.context = context
            self.typical = np.nanmedian(context.background, axis=0)

        @property
        def algorithm(self) -> str:
            return "occlusion (each feature set to the background median)"

        def explain(self, instances, outputs, *, fast=False):
            found = []
            for row in np.atleast_2d(instances):
                occluded = np.repeat(row[None, :], len(row), axis=0)
                occluded[np.arange(len(row)), np.arange(len(row))] = self.typical
                base = self.context.model_output(row[None, :])[0]
                out = self.context.model_output(occluded)
                found.append({k: Attribution(base[k] - out[:, k], None, "exact") for k in outputs})
            return found

    yield Occlusion
    del REGISTRY["occlusion"]


def test_a_new_explainer_is_one_module_and_shows_up_everywhere(gbc, occlusion):
    model, X, y = gbc
    w = explain_widget(model, X, y, explainers=("shap", "occlusion", "surrogate"))
    names = [e["name"] for e in w._schema["explainers"]]
    assert names == ["shap", "occlusion"]
    assert w._schema["explainers"][1] == {
        "name": "occlusion",
        "title": "Occlusion",
        "view": "weights",
        "unit": "feature",
    }
    assert w._wait_idle()
    shown = w._view["attributions"][1]
    assert shown["algorithm"].startswith("occlusion")
    row = X.iloc[[0]].copy()
    j = 3
    row.iloc[0, j] = float(np.nanmedian(w.session.background[:, j]))
    expected = model.predict_proba(X.iloc[[0]])[0, 1] - model.predict_proba(row)[0, 1]
    assert shown["values"][j] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert w.explanation.attributions["occlusion"].values[j] == pytest.approx(expected)
    agreement = w._view["agreement"]
    assert [(a["reference"], a["other"]) for a in agreement] == [("shap", "occlusion")]
    exported = export_data(w.session, rows=[0, 1])
    assert [e["name"] for e in exported["schema"]["explainers"]] == names
    assert exported["views"][1]["attributions"][1]["algorithm"].startswith("occlusion")
    w.close()


def test_unknown_explainers_are_named():
    X, y = breast_cancer()
    model = GradientBoostingClassifier(n_estimators=5).fit(X, y)
    with pytest.raises(ValueError, match=r"Unknown explainers \['shapp'\].*'shap', 'lime'"):
        explain_widget(model, X, explainers=("shapp",))


# -- work done once ---------------------------------------------------------------------
def test_a_repeated_view_calls_the_model_zero_times(gbc):
    model, X, y = gbc
    counting = CountingModel(model)
    w = explain_widget(counting, X, y)
    w.surrogate  # noqa: B018
    w.set_features({"worst area": 900.0})
    assert w._wait_idle()
    first = w.session.view(50)
    calls = counting.calls
    again = w.session.view(51)  # its time: bench/engine.py
    assert counting.calls == calls, "a view already shown must not call the model"
    assert {k: v for k, v in again.items() if k not in ("seq", "compute_ms")} == {
        k: v for k, v in first.items() if k not in ("seq", "compute_ms")
    }
    w.reset()
    w.set_features({"worst area": 900.0})  # back to an instance seen before
    assert w._wait_idle()
    assert counting.calls == calls
    w.close()


def test_the_first_view_takes_one_model_call(gbc, monkeypatch):
    """The first rows and SHAP's background rows go in the model's first call: the first
    view's prediction, SHAP's base value and its additivity check need no call of their
    own."""
    model, X, _ = gbc
    calls = []
    original = ModelAdapter._raw_predict

    def counted(self, frame):
        calls.append(len(frame))
        return original(self, frame)

    monkeypatch.setattr(ModelAdapter, "_raw_predict", counted)
    w = explain_widget(model, X.iloc[::-1].reset_index(drop=True), explainers=("shap",))
    assert len(calls) == 1, calls
    expected = model.predict_proba(X.iloc[[-1]])[0]
    assert w._view["probabilities"] == pytest.approx(expected.tolist(), abs=1e-12)
    shap = w._view["attributions"][0]
    assert shap["base"] + sum(shap["values"]) == pytest.approx(expected[1], abs=1e-9)
    w.close()


def test_the_counterfactual_is_cached_and_searched_in_batched_model_calls(gbc):
    model, X, y = gbc
    counting = CountingModel(model)
    w = explain_widget(counting, X, y)
    w.surrogate  # noqa: B018
    assert w._wait_idle()
    for index in (0, 1, 2):
        w.index = index
        assert w._wait_idle()
        before = counting.calls
        hint = w.counterfactual()
        # One call checks the rules' changes; if the model follows none, the rows of X
        # (once per session) take one more, and each value borrowed from them one more.
        borrowed = hint is not None and hint.borrowed
        assert counting.calls - before <= (2 + len(hint.changes) if borrowed else 1)
        calls = counting.calls
        assert w.counterfactual() is hint
        assert counting.calls == calls
    w.close()


def test_a_counterfactual_is_the_one_of_the_surrogate_size_shown(gbc, monkeypatch):
    """Each size is a new Surrogate and the one before is dropped: the allocator may give
    the new one its address. Simulated here for every size (one id for all): the cache
    must still answer each size with a rule of its own."""
    import optiml_widgets.session as session_module

    monkeypatch.setattr(session_module, "id", lambda _obj: 1, raising=False)
    model, X, y = gbc
    w = explain_widget(model, X, y, explainers=("shap", "surrogate"))
    sizes = w.surrogate.sizes
    assert len(sizes) > 2
    for k in sizes:
        w.surrogate_size = k
        hint = w.counterfactual()
        if hint is not None:
            assert hint.rule.text() in {rule.text() for rule in w.surrogate.rules}, k
            assert w.counterfactual() is hint  # still cached per size
    w.close()


# -- the first view streams ------------------------------------------------------------
def test_the_first_view_comes_before_the_surrogate_which_code_then_waits_for(gbc, monkeypatch):
    import optiml_widgets.session as session_module

    model, X, y = gbc
    release = threading.Event()
    real_fit = session_module.fit_surrogate

    def slow_fit(*args, **kwargs):
        release.wait(30)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(session_module, "fit_surrogate", slow_fit)
    started = time.perf_counter()
    w = explain_widget(model, X, y)
    returned = time.perf_counter() - started
    assert w._surrogate is None and "surrogate" in w._view["pending"]
    shap = w._view["attributions"][0]
    assert shap is not None and shap["base"] + sum(shap["values"]) == pytest.approx(
        w._view["prediction"]
    )
    assert w._view["rule"] is None
    threading.Timer(0.3, release.set).start()
    surrogate = w.surrogate  # waits for the fit
    assert surrogate is not None and surrogate.rules
    deadline = time.monotonic() + 30
    while (w._surrogate is None or w._view["rule"] is None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w._surrogate["fidelity"] == pytest.approx(surrogate.fidelity)
    assert w._view["rule"]["id"] in {r.id for r in surrogate.rules}
    assert returned < 30
    w.close()


def test_lime_streams_in_after_the_first_view(gbc):
    model, X, y = gbc
    w = explain_widget(model, X, y)
    first_lime = w._view["attributions"][1]
    assert w._wait_idle()
    lime = w._view["attributions"][1]
    assert lime is not None and lime["details"]["score"] is not None
    assert "lime" not in w._view["pending"]
    assert first_lime is None or first_lime == lime
    w.close()


def test_no_job_runs_while_the_first_view_is_computed(gbc, monkeypatch):
    """A thread started while another is busy waits for the interpreter's lock (up to its
    5 ms switch interval), and the first view started four: the jobs now start once the
    first view is sent, and still stream in."""
    import anywidget

    model, X, y = gbc
    send, running_at_send = anywidget.AnyWidget.__init__, []

    def sending(self, *args, **kwargs):
        running_at_send.append(sorted(t.name for t in threading.enumerate() if t not in before))
        send(self, *args, **kwargs)

    monkeypatch.setattr(anywidget.AnyWidget, "__init__", sending)
    before = set(threading.enumerate())
    w = explain_widget(model, X, y)
    # Beside it only the sliders' quantiles (numpy lets go of the lock) and the progress
    # watcher (asleep between its looks).
    helpers = {"optiml-quantiles", "optiml-progress"}
    assert [names for names in running_at_send if set(names) - helpers] == []
    assert w._wait_idle()
    assert w._view["attributions"][1] is not None and "lime" not in w._view["pending"]
    assert w.surrogate is not None
    w.close()


def test_a_follow_up_whose_condition_no_longer_holds_leaves_the_waiting_one():
    """The first view's completion is put by the job that starts the others: by then a
    request may have been answered, and its completion must not be replaced."""
    ran, busy = [], threading.Event()
    slot = _Slot("optiml-test", priority=FOLLOW_UP, stop=Stop())
    slot.put(lambda: busy.wait(10))  # the slot's thread is busy: the next put waits
    slot.put(lambda: ran.append("the newer answer's"))
    slot.put(lambda: ran.append("the first view's"), when=lambda: False)
    busy.set()
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slot.idle.wait(10) and ran == ["the newer answer's"]
    slot.close()


def test_the_loop_outlives_work_that_raises_any_exception():
    # A model's KeyboardInterrupt in a background thread ended it: the panel waited for good.
    ran = []
    slot = _Slot("optiml-test", priority=FOLLOW_UP, stop=Stop())

    def interrupted() -> None:
        raise KeyboardInterrupt

    slot.put(interrupted)
    assert slot.idle.wait(10)
    slot.put(lambda: ran.append("next"))
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == ["next"]
    slot.close()


# -- work off the live path ------------------------------------------------------------
class GateWatch:
    """Who holds ``gate`` when: the background steps that *began* waiting for it after a
    live request had started and got it before that request's answer was out (the gate
    lets a step go anyway after ``LIVE_PRIORITY_SECONDS``: not counted). Counts steps,
    not seconds, so a slow or busy machine cannot fail it."""

    def __init__(self, gate: Gate) -> None:
        self.live_windows: list[list[float]] = []  # [start, end] of each live request
        self.cut_in: list[float] = []  # background steps that went during a live request
        self.background_steps = 0
        depth = threading.local()
        real_live, real_hold = gate.live, gate.hold

        @contextlib.contextmanager
        def live():
            with real_live():
                window = [time.monotonic(), float("inf")]  # after the gate counts it
                self.live_windows.append(window)
                try:
                    yield
                finally:
                    window[1] = time.monotonic()  # before the gate lets steps go

        @contextlib.contextmanager
        def hold():
            nested = getattr(depth, "n", 0)
            asked = time.monotonic()
            with real_hold():
                got = time.monotonic()
                if not nested and threading.current_thread() is not threading.main_thread():
                    self.background_steps += 1
                    for start, end in list(self.live_windows):
                        if start < asked and got < end and got - asked < LIVE_PRIORITY_SECONDS:
                            self.cut_in.append(got)
                depth.n = nested + 1
                try:
                    yield
                finally:
                    depth.n = nested

        gate.live, gate.hold = live, hold


def test_an_edit_during_an_export_is_answered_at_once(gbc):
    model, X, y = gbc
    w = explain_widget(model, X, y)
    w.surrogate  # noqa: B018
    w.global_explanation  # noqa: B018
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    watch = GateWatch(w.session.gate)  # the export's snapshot shares the session's gate
    w._handle_custom_msg({"type": "export"}, [])
    deadline = time.monotonic() + 30
    while w._progress.get("export", {}).get("done", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not w.session.jobs.done("export"), "the export ended before the edit could be tried"
    steps_before = watch.background_steps
    w.set_features({"worst area": 1234.0})
    assert w._view["values"][w.session.schema.names.index("worst area")] == 1234.0
    assert not w.session.jobs.done("export"), "the edit waited for the export"
    # At most the step under way went on: none began while the edit was being answered.
    assert watch.live_windows and not watch.cut_in, watch.cut_in
    w.session.jobs.get("export").result(timeout=300)
    assert watch.background_steps > steps_before  # the export went on after the edit
    deadline = time.monotonic() + 10
    while not any(m.get("type") == "export" for m in sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(m.get("type") == "export" and m.get("bytes") for m in sent)
    w.close()


class _Bar:
    """A stand-in for tqdm that keeps what it was told."""

    def __init__(self, shown: list) -> None:
        self.n, self.total, self.postfix = 0, None, ""
        self.seen: list[tuple[int, str]] = []
        shown.append(self)

    def update(self, count: int) -> None:
        self.n += count
        self.seen.append((self.n, self.postfix))

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text
        self.seen.append((self.n, text))

    def close(self) -> None:
        pass


def _slow_surrogate(monkeypatch, parts: int = 6, seconds: float = 0.25) -> None:
    """The surrogate's fit reports ``parts`` steps of ``seconds`` before it fits."""
    import optiml_widgets.session as session_module

    real_fit = session_module.fit_surrogate

    def slow_fit(*args, progress, **kwargs):
        for part in range(parts):
            progress(part, parts)
            time.sleep(seconds)
        return real_fit(*args, progress=progress, **kwargs)

    monkeypatch.setattr(session_module, "fit_surrogate", slow_fit)


def test_an_export_from_code_shows_one_bar_which_moves_while_it_waits(gbc, monkeypatch):
    # It printed a bar of its own for each job it waited for (the surrogate, global SHAP)
    # under a bar that stood still meanwhile.
    from optiml_widgets import progress

    model, X, y = gbc
    _slow_surrogate(monkeypatch)
    bars: list[_Bar] = []
    monkeypatch.setattr(progress, "progress_bar", lambda label, **_options: _Bar(bars))
    w = explain_widget(model, X, y)
    w.to_html(rows=[0, 1])
    assert len(bars) == 1, "one bar: the export's"
    waits = [(n, text) for n, text in bar_seen(bars[0]) if "surrogate" in text]
    assert waits, "the bar names the job it waits for"
    assert any(0 < n < progress.StepProgress.UNITS for n, _ in waits), "and moves meanwhile"
    assert bars[0].n == bars[0].total and bars[0].postfix == ""
    w.close()


def bar_seen(bar: _Bar) -> list[tuple[int, str]]:
    counts = [n for n, _ in bar.seen]
    assert counts == sorted(counts), "the bar never goes back"
    return bar.seen


def test_a_wait_keeps_its_own_bar_when_the_export_reports_nowhere():
    # A text export of a few texts shows no bar of its own: a wait inside it went to that
    # nowhere, so the surrogate's fit was waited for with nothing on screen.
    from optiml_widgets.jobs import NEVER, no_progress
    from optiml_widgets.progress import shown_report

    with StepProgress(3, no_progress, NEVER).waits():
        assert shown_report() is None
    with StepProgress(3, lambda done, total: None, NEVER).waits():
        assert shown_report() is not None


def test_the_panels_export_moves_on_while_it_waits_for_the_surrogate(gbc, monkeypatch):
    model, X, y = gbc
    _slow_surrogate(monkeypatch)
    w = explain_widget(model, X, y)
    seen: list[tuple[int, int]] = []
    real = w._job_progress

    def record(name: str, done: int, total: int) -> None:
        if name == "export":
            seen.append((done, total))
        real(name, done, total)

    monkeypatch.setattr(w, "_job_progress", record)
    w.send = lambda content, buffers=None: None
    w._handle_custom_msg({"type": "export"}, [])
    w.session.jobs.get("export").result(timeout=120)
    shares = [done / total for done, total in seen if total]
    assert shares == sorted(shares) and shares[-1] == 1.0
    first_step = StepProgress.UNITS / seen[-1][1]
    assert any(0 < share < first_step for share in shares), "the wait shows as progress"
    w.close()


def test_the_export_reuses_the_panels_chart_specs_until_the_row_changes(gbc, monkeypatch):
    model, X, y = gbc
    w = explain_widget(model, X, y)
    w.global_explanation  # noqa: B018
    assert w._wait_idle(60) and w.session.jobs.wait_all(60)
    assert (w._global or {}).get("state") == "ready"
    session = w.session
    built = []
    real = type(session).global_charts
    monkeypatch.setattr(
        type(session), "global_charts", lambda s, *a, **k: built.append(1) or real(s, *a, **k)
    )
    exported = export_data(session, rows=[0, 1], progress=lambda done, total: None)
    assert built == [] and exported["global"]["specs"] == w._global["specs"]
    top = session.schema.names[session.top_feature()]  # the dependence plot's feature
    w.set_features({top: float(X[top].max())})  # its plot marks the current row there
    again = export_data(session, rows=[0, 1], progress=lambda done, total: None)
    assert built == [1] and again["global"]["specs"] != exported["global"]["specs"]
    w.close()


def test_a_release_while_lime_streams_in_is_answered_before_lime_ends(monkeypatch):
    """The exact view of a release needs nothing of LIME's (LIME streams in after it): a
    release that comes while the last view's LIME is under way is answered between LIME's
    steps, not after them."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from optiml_widgets.explainers import lime

    X, y = make_classification(300, 60, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{j}" for j in range(60)])
    w = explain_widget(LogisticRegression().fit(X, y), X, explainers=("shap", "lime"))
    assert w._wait_idle()
    in_lime, draws = threading.Event(), lime._DrawsBetweenRequests.choice

    def slow_choice(self, *args, **kwargs):  # ~0.6 s of LIME's own work per row
        in_lime.set()
        time.sleep(0.01)
        return draws(self, *args, **kwargs)

    monkeypatch.setattr(lime._DrawsBetweenRequests, "choice", slow_choice)
    explainer, finished = w.session.lime_explainer, []
    explain_row = explainer.explain_row

    def counted(*args, **kwargs):
        result = explain_row(*args, **kwargs)
        finished.append(time.perf_counter())
        return result

    monkeypatch.setattr(explainer, "explain_row", counted)

    def release(seq: int, value: float) -> None:
        request = {"type": "request", "seq": seq, "index": 0, "target": w.target}
        w._on_frontend_message(w, {**request, "edits": [[0, value]], "fast": False}, [])

    release(1, 1.5)  # answered at once; its LIME follows in the background
    assert in_lime.wait(30)
    answered: list[float] = []
    second = threading.Thread(
        target=lambda: (release(2, -1.5), answered.append(time.perf_counter()))
    )
    second.start()
    second.join(30)
    assert w._view["seq"] == 2 and w._view["values"][0] == -1.5
    assert w._view["quality"] == "exact"
    assert w._wait_idle(60)
    # The first release's LIME ended after the second release was answered.
    assert finished and answered[0] < finished[0], "the release waited for LIME to end"
    w.close()


def test_code_that_needs_lime_while_its_background_step_is_paused_does_not_deadlock():
    """A background LIME step paused for a live request (holding LIME's lock) needs the
    gate back to finish; a thread that took the gate meanwhile and then asks for LIME (a
    notebook cell reading ``w.explanation`` after ``w.set_features``) lets go of the gate
    while it waits for LIME's lock."""
    gate, lime_lock = Gate(), threading.Lock()
    has_gate, request_started, order = threading.Event(), threading.Event(), []

    def lime_in_background() -> None:
        set_priority(JOB)
        with gate.hold(), locked_outside_gate(lime_lock):
            has_gate.set()
            assert request_started.wait(10)
            gate.let_live_through()  # lets the request go first, then needs the gate back
            order.append("background LIME")

    def notebook() -> None:
        assert has_gate.wait(10)
        with contextlib.ExitStack() as request:
            request.enter_context(gate.live())  # w.set_features
            request_started.set()
            with gate.hold():
                order.append("answer")
                request.close()  # answered; the cell still holds the gate
                time.sleep(0.1)  # the paused step now waits for it
                with locked_outside_gate(lime_lock):  # w.explanation
                    order.append("LIME read")

    threads = [threading.Thread(target=f, daemon=True) for f in (lime_in_background, notebook)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "deadlock"
    assert order == ["answer", "background LIME", "LIME read"]


def test_the_gate_lets_a_live_request_go_before_waiting_background_steps():
    gate = Gate()
    order: list[str] = []
    holding = threading.Event()

    def background(label: str) -> None:
        set_priority(JOB)
        with gate.hold():
            order.append(label)
            time.sleep(0.05)

    def first() -> None:
        set_priority(JOB)
        with gate.hold():
            holding.set()
            time.sleep(0.2)
            order.append("bg-1")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    holding.wait()
    threads += [threading.Thread(target=background, args=("bg-2",))]
    threads[-1].start()
    time.sleep(0.05)
    with gate.hold():  # a live request arrives while bg-2 waits
        order.append("live")
    for t in threads:
        t.join()
    assert order == ["bg-1", "live", "bg-2"]


def test_a_panels_jobs_wait_while_another_panel_answers_an_edit():
    # One gate per panel: another panel's global views took the cores from this one's
    # edits (~7x slower).
    mine, other = Gate(), Gate()
    answered, stepped = [], []

    def job() -> None:
        set_priority(JOB)
        with other.hold():
            stepped.append(time.monotonic())

    with mine.live():
        worker = threading.Thread(target=job)
        worker.start()
        time.sleep(0.3)
        answered.append(time.monotonic())
    worker.join(10)
    assert stepped and stepped[0] > answered[0]


def test_a_request_stuck_in_one_panel_does_not_hold_back_the_others():
    """A model that hangs in one panel's edit: after ``LIVE_PRIORITY_SECONDS`` the other
    panels' jobs no longer wait for it (each of their steps would wait that long)."""
    from optiml_widgets.jobs import IDLE_SECONDS, _LiveAnywhere

    now = [0.0]
    anywhere = _LiveAnywhere(clock=lambda: now[0])  # not the process's: its clock is real
    with anywhere.live():
        assert anywhere.busy()
        now[0] += LIVE_PRIORITY_SECONDS + 0.1
        assert not anywhere.busy()
    assert anywhere.busy()  # it ended just now: the user may go on
    now[0] += IDLE_SECONDS + 0.1
    assert not anywhere.busy()


def test_a_live_request_goes_between_the_model_calls_of_background_work():
    """Background work holding the gate (LIME's samples in a follow-up) lets a live request
    under way (a drag's fast view, a release's exact view) in between two model calls."""
    gate = Gate()
    holding, done = threading.Event(), threading.Event()
    calls: list[float] = []

    def follow_up() -> None:
        set_priority(FOLLOW_UP)
        with gate.hold(), gate.hold():  # held twice, as nested explainers do
            holding.set()
            for _ in range(10):
                time.sleep(0.05)  # one model call
                calls.append(time.perf_counter())
                let_live_through()
            done.set()

    thread = threading.Thread(target=follow_up)
    thread.start()
    holding.wait()
    with gate.live(), gate.hold():
        answered = time.perf_counter()
        finished_first = done.is_set()
    thread.join()
    assert not finished_first and calls[-1] > answered  # in between, not after
    assert len(calls) == 10


def test_only_lime_lets_a_live_request_between_its_model_calls(gbc, monkeypatch):
    """An answer shares shap's masker buffers with the background SHAP job, so only LIME's
    model calls (which share nothing with it) open the gate in between."""
    from optiml_widgets import ExplanationSession
    from optiml_widgets.explainers import table

    model, X, _ = gbc
    session = ExplanationSession(model, X)
    context = session.context
    context.seconds_per_row[0], context.seconds_per_call[0] = 1e-3, 1e-4  # 0.5 s per 500 rows
    passes: list[int] = []
    monkeypatch.setattr(table, "let_live_through", lambda: passes.append(1))
    rows = session.encoded_X[np.arange(500) % len(X)]
    set_priority(FOLLOW_UP)
    try:
        shap_outputs = session.shap_explainer.model_output(rows)
        assert passes == []  # shap's calls: one piece, nothing in between
        context.seconds_per_row[0], context.seconds_per_call[0] = 1e-3, 1e-4  # measured anew
        lime_outputs = session.lime_explainer.predict_fn(rows)
        assert len(passes) >= 5  # pieces of ~0.05 s, a pass before each
    finally:
        set_priority(LIVE)
    np.testing.assert_array_equal(lime_outputs, shap_outputs)


def test_lime_lets_a_live_request_between_its_own_steps_on_wide_data(monkeypatch):
    """On wide data most of LIME's time is its own, not the model's: drawing each feature's
    bins (lime's loop), sampling within them, weighing the samples before its ridge picks
    features. A live request goes between those steps too, and the draws stay lime's."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from optiml_widgets import ExplanationSession
    from optiml_widgets.explainers import lime

    features = 120
    X, y = make_classification(300, features, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{j}" for j in range(features)])
    session = ExplanationSession(LogisticRegression().fit(X, y), X, explainers=("lime",))
    explainer = session.lime_explainer
    before = explainer.explain_row(session.encoded_X[0], 1)
    passes: list[int] = []
    monkeypatch.setattr(lime, "let_live_through", lambda: passes.append(1))
    after = explainer.explain_row(session.encoded_X[0], 1)
    blocks = -(-features // lime.FEATURES_AT_ONCE)
    assert len(passes) == features + blocks + 1  # a feature's bins, a block, the weighing
    np.testing.assert_array_equal(after.weights, before.weights)


def _hold_the_cpu(seconds: float) -> None:
    # Like shap's tree algorithms in C: busy for the whole call, nothing to yield at.
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_background_work_goes_in_short_steps_and_waits_for_a_live_request():
    gate = Gate()
    steps: list[int] = []
    started_during_live: list[float] = []
    live = threading.Event()

    def work(rows: np.ndarray) -> int:
        if live.is_set():
            started_during_live.append(time.perf_counter())
        steps.append(len(rows))
        _hold_the_cpu(0.004 * len(rows))  # 4 ms a row: 400 rows would be 1.6 s in one call
        return len(rows)

    def background() -> None:
        set_priority(JOB)
        gate.in_steps(work, np.arange(400), seconds_per_row=0.004)

    thread = threading.Thread(target=background)
    thread.start()
    time.sleep(0.3)
    began = len(steps)  # the step under way, if any, is counted already
    with gate.live():  # a live request: everything from its start to its answer
        live.set()
        with gate.hold():
            went_meanwhile = len(steps) - began
        time.sleep(0.3)  # its other work: no background step starts meanwhile
        live.clear()
    thread.join()
    assert sum(steps) == 400 and max(steps) <= 50, steps  # about 0.1 s of work a step
    assert went_meanwhile <= 1, went_meanwhile  # at most one step began as it was asked
    assert not started_during_live


def test_cheap_drag_curves_come_with_the_exact_answer(gbc):
    model, X, y = gbc
    w = explain_widget(model, X, y, explainers=("shap",))
    assert w._wait_idle()  # the first curves timed the model
    w.set_features({"worst area": 1234.0})
    assert w._curves["seq"] == w._view["seq"]  # no wait for the follow-up
    w.close()


def test_a_cell_calls_in_one_batch():
    calls: list[int] = []
    Gate().in_steps(lambda rows: calls.append(len(rows)), np.arange(300), seconds_per_row=0.01)
    assert calls == [300]


# -- lifecycle ---------------------------------------------------------------------------
def test_waiting_for_all_jobs_includes_the_jobs_they_start():
    jobs = Jobs()
    release = threading.Event()
    finished = []

    def second(stop, progress):
        release.wait(5)
        finished.append("second")

    def first(stop, progress):
        jobs.submit("second", second)
        finished.append("first")

    jobs.submit("first", first)
    assert not jobs.wait_all(timeout=0.2)  # "second" waits for the release
    release.set()
    assert jobs.wait_all(timeout=5)
    assert finished == ["first", "second"]


def test_a_panel_hands_its_start_job_to_one_waiting_thread():
    """Jobs.start starts no thread of its own (starting one waits for it to run, which
    delayed the first view): every panel's start job runs in the one launcher thread, in
    order, and a failing hand-off does not stop the next ones."""
    ran: list[tuple[str, str]] = []
    all_jobs = [Jobs() for _ in range(3)]
    for k, jobs in enumerate(all_jobs):
        jobs.start([lambda k=k: ran.append((str(k), threading.current_thread().name))])
    hand_off(lambda: 1 / 0)
    done = threading.Event()
    hand_off(done.set)
    assert done.wait(5), "a failing hand-off stopped the launcher"
    for jobs in all_jobs:
        assert jobs.wait_all(timeout=5)
    assert ran == [(str(k), "optiml-launcher") for k in range(3)]


def _hand_off_in_a_child() -> None:
    done = threading.Event()
    hand_off(done.set)
    raise SystemExit(0 if done.wait(5) else 1)


def test_a_forked_child_hands_off_to_a_thread_of_its_own():
    """The launcher's thread does not come along into a forked child (Dask's and
    multiprocessing's workers): the child starts its own."""
    hand_off(lambda: None)  # the parent's launcher runs
    child = multiprocessing.get_context("fork").Process(target=_hand_off_in_a_child)
    child.start()
    child.join(20)
    assert child.exitcode == 0


def _no_request_in_a_child() -> None:
    from optiml_widgets.jobs import LIVE_ANYWHERE

    assert not LIVE_ANYWHERE.busy() and LIVE_ANYWHERE.lock.acquire(timeout=5)


def test_a_forked_child_has_none_of_its_parents_live_requests():
    """A child forked while the parent answers an edit: its panels' jobs do not wait for
    that edit, nor for the lock a parent thread held."""
    from optiml_widgets.jobs import LIVE_ANYWHERE

    with Gate().live(), LIVE_ANYWHERE.lock:
        child = multiprocessing.get_context("fork").Process(target=_no_request_in_a_child)
        child.start()
    child.join(20)
    assert child.exitcode == 0


def test_a_panel_nobody_sees_stops_its_work_and_starts_it_again_when_seen(gbc, monkeypatch):
    """A cell run again leaves the old panel alive in the kernel: once its every view is
    gone (for a second: a view rendered again at once keeps them), its unfinished jobs stop
    (here the surrogate's fit, and an export and the global charts waiting for it), and a
    view back on screen starts them again."""
    import optiml_widgets.session as session_module
    from optiml_widgets.on_screen import EXPORT_STOPPED, UNSEEN_SECONDS

    held_fit, release, fits = held(session_module.fit_surrogate)
    monkeypatch.setattr(session_module, "fit_surrogate", held_fit)
    model, X, y = gbc
    w = explain_widget(model, X, y, explainers=("shap", "surrogate"))

    def view(name: str, shown: bool) -> None:
        w._handle_custom_msg({"type": "view", "id": name, "shown": shown}, [])

    view("a", True)
    view("b", True)
    w._handle_custom_msg({"type": "export"}, [])
    w._handle_custom_msg({"type": "global"}, [])  # its charts wait for the surrogate
    jobs = w.session.jobs
    jobs.wait_started(5)
    first = jobs.get(SURROGATE)
    assert first is not None
    view("a", False)  # another view is still on screen: the work goes on
    view("b", False)
    view("b2", True)  # rendered again at once (an output moved): the work goes on
    time.sleep(UNSEEN_SECONDS + 0.5)
    assert jobs.get(SURROGATE) is first and not first.done()
    view("b2", False)
    with pytest.raises(Cancelled):
        wait(first, timeout=5)
    assert jobs.get(SURROGATE) is None and jobs.get("export") is None
    assert jobs.get("global-views") is None or jobs.get("global") is None
    release.set()
    view("c", True)
    assert w.surrogate is not None and len(fits) == 2
    assert w._progress["export"]["message"] == EXPORT_STOPPED
    # The global views (SHAP over the rows, or the charts it waited to build) come back too.
    for _ in range(300):
        if w._global and w._global.get("state") == "ready":
            break
        time.sleep(0.1)
    assert w._global["state"] == "ready" and w._global["specs"]
    w.close()


def test_a_closed_widget_says_so(gbc):
    """A member waiting for work when close() comes, and every member asked afterwards,
    raise Closed (naming close() and the fix), and the model is not called again."""
    from optiml_widgets.jobs import Closed

    model, X, y = gbc
    counting = CountingModel(model, delay=0.01)
    w = explain_widget(counting, X, y)
    w.set_features({X.columns[0]: float(X.iloc[3, 0])})
    waiting: list = []
    thread = threading.Thread(target=lambda: waiting.append(_result_or_error(lambda: w.surrogate)))
    thread.start()
    time.sleep(0.3)
    w.close()
    thread.join(30)
    assert waiting and isinstance(waiting[0], Closed), waiting
    calls = counting.calls
    members = [
        lambda: w.explanation,
        lambda: w.surrogate,
        lambda: w.counterfactual(),
        lambda: w.global_explanation,
        lambda: w.charts,
        lambda: w.to_html(),
        lambda: w.set_features({X.columns[0]: 1.0}),
        lambda: w.reset(),
        lambda: setattr(w, "index", 2),
    ]
    for member in members:
        with pytest.raises(Closed, match=r"w\.close\(\) stopped all its work.*explain_widget"):
            member()
    assert counting.calls == calls


def _result_or_error(call):
    try:
        return call()
    except Exception as exc:
        return exc


def test_close_stops_every_thread_and_model_call(gbc):
    model, X, y = gbc
    counting = CountingModel(model, delay=0.002)
    # Threads of widgets of earlier tests (not closed there) are not this widget's.
    before = set(threading.enumerate())
    w = explain_widget(counting, X, y)
    w._handle_custom_msg({"type": "global"}, [])
    time.sleep(0.2)
    w.close()
    time.sleep(1.0)  # a step under way when close() came may finish
    calls = counting.calls
    time.sleep(2.0)
    assert counting.calls == calls, "the model was called after close()"
    # The launcher serves every panel, waiting for hand-offs (it is alive from the first).
    new = set(threading.enumerate()) - before
    alive = [t.name for t in new if t.name.startswith("optiml") and t.name != "optiml-launcher"]
    assert not alive, alive


def test_close_stops_a_slow_model_within_a_step(gbc):
    """Background work calls a model that is slow per row in steps of about
    MODEL_STEP_SECONDS: close() during the global view's permutation SHAP (a row's
    permutations are one batch of 61,000 rows here, 1.2 s of this model) stops it soon."""
    model, X, y = gbc
    ended: list[float] = []

    def slow(frame):
        time.sleep(2e-5 * len(frame))
        ended.append(time.monotonic())
        return model.predict_proba(frame)

    w = explain_widget(slow, X, y)
    assert w.explanation.algorithm.startswith("Permutation SHAP")
    w._handle_custom_msg({"type": "global"}, [])
    time.sleep(1.5)
    closed = time.monotonic()
    w.close()
    assert w.session.jobs.wait_all(10)
    assert ended and ended[-1] - closed < 0.4, (
        f"the model ran {ended[-1] - closed:.2f} s after close()"
    )


def test_a_model_dear_per_call_gets_longer_pieces_never_one_call():
    """Where the model's cost per call would make pieces of MODEL_STEP_SECONDS dear, the
    pieces grow until it is a quarter of the work (background) or 5% (a view): they do not
    become one call of the rest, which close() and a live edit cannot get between. One slow
    small call (a busy machine) moves the cost per call only halfway."""
    from optiml_widgets.explainers.table import MODEL_STEP_SECONDS

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 4)), columns=list("abcd"))
    session = ExplanationSession(lambda df: df["a"].to_numpy(), X, explainers=("shap",))
    context = session.context
    context.seconds_per_row[0], context.seconds_per_call[0] = 2e-4, 0.03
    for background, overhead in ((True, 0.25), (False, 0.05)):
        step = context._step(60_000, 4, background)  # 12 s of rows
        seconds = step * 2e-4
        assert 60_000 / step > 10  # many calls
        assert seconds >= max(MODEL_STEP_SECONDS, 0.03 / overhead) * 0.99
        assert 0.03 * (60_000 / step) <= overhead * 12 * 1.01  # the calls' own cost
    context.seconds_per_call[0] = 0.001
    context.predict(session.schema.decode(session.encoded_X[:10]))  # a quick small call
    assert context.seconds_per_call[0] <= 0.001
    session.close()


def test_a_view_calls_a_model_slow_per_row_in_pieces():
    """A model slow per row is often slower still per row in one large call (a Gaussian
    process: 3.5x at 61,000 rows against 2,000), so even a view someone waits for calls it
    in pieces of about MODEL_STEP_SECONDS; a quick model gets one call."""
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 4)), columns=list("abcd"))
    for per_row, one_call in ((1e-4, False), (0.0, True)):
        calls: list[int] = []

        def model(df, per_row=per_row, calls=calls):
            calls.append(len(df))
            time.sleep(per_row * len(df))
            return np.tanh(df["a"].to_numpy() * df["b"].to_numpy())

        session = ExplanationSession(model, X, explainers=("shap",))
        # The model's costs as a timed call reads them on an idle machine (a busy one made
        # the quick model read as slow per row, in pieces); each call still times itself.
        session.context.seconds_per_row[0] = max(per_row, 1e-8)
        session.context.seconds_per_call[0] = 0.0
        calls.clear()
        values = session.shap_explainer.values(session.encoded_X[7:8]).values
        assert (len(calls) == 1) == one_call, calls
        if not one_call:  # ~9,000 rows, 0.9 s: pieces of about 500 rows
            assert max(calls) <= 1_000 < sum(calls)
        session.close()
        np.testing.assert_allclose(
            values.sum(),
            np.tanh(X["a"][7] * X["b"][7])
            - np.tanh(session.background[:, 0] * session.background[:, 1]).mean(),
            rtol=1e-9,
        )


def test_a_widget_nobody_references_is_collected_and_stops(gbc):
    """No thread or callback of ours keeps a widget alive: once ipywidgets lets it go (its
    comm closed, out of the registry) it is collected, and its work stops with it."""
    import anywidget

    model, X, y = gbc
    counting = CountingModel(model, delay=0.002)
    w = explain_widget(counting, X, y)
    ref = weakref.ref(w)
    session = w.session
    w._handle_custom_msg({"type": "global"}, [])
    w.set_features({"worst area": 1000.0})
    time.sleep(0.2)
    anywidget.AnyWidget.close(w)  # ipywidgets' own close: not ours, so no explicit stop
    del w
    deadline = time.monotonic() + 10  # a step under way holds it until the step ends
    while ref() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert ref() is None, "something still holds the widget"
    assert session.jobs.stop.is_set
    time.sleep(1.0)
    calls = counting.calls
    time.sleep(1.5)
    assert counting.calls == calls


def test_an_explainer_failure_is_a_clear_live_error_and_the_last_view_stays():
    X = pd.DataFrame({"a": np.linspace(-1, 1, 80), "b": np.linspace(0, 2, 80)})

    def model(df):
        if (df["b"] > 5).any():
            return np.full(len(df), np.nan)
        return df["a"].to_numpy() + df["b"].to_numpy()

    w = explain_widget(model, X, explainers=("shap",))
    assert w._wait_idle()
    good = w._view
    with pytest.warns(RuntimeWarning):
        w.set_features(b=9.0)
    assert "NaN" in w.error
    assert w._view is good or w._view == good
    w.close()


def test_the_rows_a_hint_borrows_from_are_predicted_in_steps_a_live_request_goes_between():
    # A slow model's 10,000 rows of X took one call of seconds under the gate, which a drag
    # then waited behind; in background steps it waits at most about one.
    X, y = breast_cancer()

    sizes: list[int] = []

    def predict_proba(frame: pd.DataFrame) -> np.ndarray:
        sizes.append(len(frame))
        time.sleep(0.0005 * len(frame))  # 0.5 ms a row: all 569 rows ~0.3 s
        p = 1 / (1 + np.exp(-(frame["mean radius"].to_numpy() - 14.0)))
        return np.column_stack([1 - p, p])

    session = ExplanationSession(predict_proba, X, y, explainers=())
    sizes.clear()  # the calls that checked the model
    found: list[np.ndarray] = []

    def background() -> None:
        set_priority(JOB)
        found.append(session.x_outputs())

    thread = threading.Thread(target=background)
    thread.start()
    time.sleep(0.05)
    began = len(sizes)
    with session.gate.hold():  # a live request's computation
        went_meanwhile = len(sizes) - began
    thread.join(30)
    assert len(sizes) > 1 and sum(sizes) == len(X), sizes
    assert went_meanwhile <= 1, went_meanwhile  # at most the step that began as it asked
    np.testing.assert_allclose(found[0], predict_proba(X))
    session.close()


def test_the_interpreter_exits_after_the_call_under_way(tmp_path):
    # A panel's thread still inside a library's C++ code when the interpreter finalised
    # aborted the process ("terminate called without an active exception"): the exit now
    # waits for the step under way, and starts no other.
    import subprocess
    import sys
    import textwrap

    done = tmp_path / "done"
    script = textwrap.dedent(
        f"""
        import time
        from optiml_widgets.jobs import Jobs

        def step(stop, progress):
            time.sleep(1.0)  # a call that cannot see the stop (a model's, numpy's)
            open({str(done)!r}, "w").write("finished")

        Jobs().submit("step", step)
        time.sleep(0.2)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert done.read_text() == "finished"


def test_a_member_waiting_for_a_job_the_panel_stopped_gets_it_started_again():
    """The panel's every view gone stops unfinished jobs; a notebook call waiting for one of
    them (``w.surrogate``) starts it again rather than raising Cancelled."""
    import threading

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(400, 4)), columns=list("abcd"))

    def slow(df):
        time.sleep(0.002)
        p = 1 / (1 + np.exp(-df["a"].to_numpy()))
        return np.column_stack([1 - p, p])

    session = ExplanationSession(slow, X, explainers=("surrogate",))
    session.start(None)
    stopper = threading.Timer(0.2, session.jobs.stop_unfinished)
    stopper.start()
    assert session.surrogate is not None
    stopper.join()
    session.close()


def test_a_jobs_result_and_error_never_wait_and_a_stop_is_no_error():
    jobs = Jobs()
    release = threading.Event()
    jobs.submit("ok", lambda stop, progress: 42)
    jobs.submit("fails", lambda stop, progress: 1 / 0)
    jobs.submit("slow", lambda stop, progress: (release.wait(10), stop.check()))
    assert jobs.result("slow") is None and jobs.error("slow") is None  # still running
    jobs.close()  # the running job ends with Cancelled, and keeps it
    release.set()
    assert jobs.wait_all(10)
    assert jobs.result("ok") == 42 and jobs.error("ok") is None
    assert jobs.result("fails") is None and isinstance(jobs.error("fails"), ZeroDivisionError)
    assert isinstance(jobs.get("slow").exception(), Cancelled)  # type: ignore[union-attr]
    assert jobs.result("slow") is None and jobs.error("slow") is None
    assert jobs.result("never") is None and jobs.error("never") is None
