"""ExplainerWidget: the anywidget shell over an ExplanationSession.

The frontend sends one kind of message, the whole wanted state (row, target, edits) with a
sequence number. Drag messages are coalesced: a background worker always computes the
NEWEST request and drops the ones it overtook, so a drag never queues stale work. A release
(or a typed value) with nothing else under way is answered at once in the kernel's own
thread, which is faster than the hop to the worker; a request older than one already
answered is dropped. Each result is
one ``_view`` trait update carrying the sequence number it answers; the frontend never
lets an older view replace a newer one. Calls from Python (``set_features``, ``index = 3``)
compute at once and bump the sequence number, so the panel follows a notebook cell.
"""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .counterfactual import Counterfactual
from .explainers.surrogate import Surrogate
from .explanation import LocalExplanation
from .global_explanation import GlobalExplanation
from .session import ExplanationSession

if TYPE_CHECKING:
    import altair as alt

STATIC = Path(__file__).parent / "static"
EXPORT_FILENAME = "optiml_widgets_export.html"
PROGRESS_EVERY = 0.1  # seconds between progress updates of the global views


class ExplainerWidget(anywidget.AnyWidget):
    """A live panel explaining one model: SHAP, LIME, surrogate rules and what-if sliders."""

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    _schema = traitlets.Dict().tag(sync=True)
    _surrogate = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _view = traitlets.Dict().tag(sync=True)
    _curves = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _global = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    feature = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    target = traitlets.Any(None).tag(sync=True)
    error = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    def __init__(self, session: ExplanationSession, **kwargs: Any) -> None:
        self._session = session
        self._lock = threading.RLock()
        self._seq = 0  # newest sequence number seen or given out (views carry it)
        self._request_seq = -1  # newest frontend request applied
        self._applying = False
        self._pending: dict[str, Any] | None = None
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.recomputations = 0  # views computed (tests check that bursts coalesce)
        self._global_thread: threading.Thread | None = None
        self._applying = True  # the initial trait values need no recomputation
        super().__init__(
            _schema=session.schema_payload(),
            _surrogate=session.surrogate.to_payload() if session.surrogate else None,
            index=session.index,
            target=session.target,
            **kwargs,
        )
        self._applying = False
        self._refresh()
        self.on_msg(self._on_frontend_message)

    # -- the public API (shared/API.md) ------------------------------------------
    @property
    def instance(self) -> dict[str, Any]:
        """Feature -> current value: the selected row plus its what-if edits."""
        return self._session.instance()

    @property
    def explanation(self) -> LocalExplanation:
        """The exact LocalExplanation of the current instance for ``target``."""
        with self._lock:
            return self._session.local_explanation()

    @property
    def surrogate(self) -> Surrogate | None:
        """The global rule surrogate (None when disabled with ``explainers=``)."""
        return self._session.surrogate

    def counterfactual(self) -> Counterfactual | None:
        """The smallest change of the current instance that reaches a surrogate rule with
        another outcome, checked with the model: ``.changes``, ``.prediction``,
        ``.model_agrees``, ``.text()``. None without a surrogate or another outcome. Apply
        it with ``w.set_features(w.counterfactual().changes)``."""
        with self._lock:
            return self._session.counterfactual()

    @property
    def global_explanation(self) -> GlobalExplanation:
        """SHAP values over X (or a documented sample of it), computed once and cached."""
        return self._session.global_explanation(lock=self._lock)

    @property
    def charts(self) -> dict[str, alt.Chart]:
        """The global views as Altair charts, to save or restyle with Altair's own API:
        ``"importance"``, ``"beeswarm"``, ``"dependence"`` (of ``feature``) and, with a
        surrogate, ``"fidelity"``."""
        self.global_explanation  # noqa: B018 -- computed outside the lock, chunk by chunk
        with self._lock:
            return self._session.global_charts(self.feature)

    @property
    def session(self) -> ExplanationSession:
        """The underlying ExplanationSession (data, model adapter, explainers)."""
        return self._session

    def set_features(self, mapping: Mapping[str, Any] | None = None, **values: Any) -> None:
        """What-if edit of the current row, e.g. ``w.set_features(age=40)``.

        Raises KeyError for an unknown feature and ValueError for an invalid value; nothing
        changes then. A value the model itself rejects is kept, shown in ``w.error`` and the
        last good view stays.
        """
        changes = {**(mapping or {}), **values}
        with self._lock:
            edits = self._session.check_edits(changes)
            self._session.edits_by_row[self._session.index] = edits
            self._refresh()

    def reset(self) -> None:
        """Drop every what-if edit of the current row."""
        with self._lock:
            self._session.edits_by_row.pop(self._session.index, None)
            self._refresh()

    def to_html(
        self,
        path: str | Path | None = None,
        *,
        rows: Sequence[int] | None = None,
        include_data: bool = True,
    ) -> str:
        """A standalone HTML page of this panel that opens with no network and no kernel.

        It holds the current row and up to 49 more (``rows=`` picks others), their
        explanations, the surrogate, and for every exported row each feature's slider grid
        with the model's exact output, SHAP values and rule (one feature changed at a time).
        Changing two or more features shows a labelled estimate. ``include_data=False``
        leaves the feature values of the rows out (and with them the sliders' what-ifs).
        Returns the HTML; also writes it when ``path`` is given.
        """
        from .export import to_html

        with self._lock:
            return to_html(self._session, path, rows=rows, include_data=include_data)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        from .export import static_picture

        data, metadata = bundle
        # Where widgets cannot run (GitHub, nbconvert without widget state) this shows instead.
        with self._lock:
            data["text/html"] = static_picture(self._session)
        return data, metadata

    # -- traits set from Python ----------------------------------------------------
    @traitlets.validate("index")
    def _valid_index(self, proposal: dict) -> int:
        return self._session.check_index(proposal["value"])

    @traitlets.validate("feature")
    def _valid_feature(self, proposal: dict) -> str | None:
        name = proposal["value"]
        if name is not None and name not in self._session.schema.names:
            raise KeyError(self._session.schema.unknown_feature_message(name))
        return name

    @traitlets.validate("target")
    def _valid_target(self, proposal: dict) -> Any:
        position = self._session.check_target(proposal["value"])
        classes = self._session.adapter.classes
        return classes[position] if classes is not None else "prediction"

    @traitlets.observe("index", "target")
    def _on_state_trait(self, change: dict) -> None:
        if self._applying:
            return
        with self._lock:
            self._session.index = self.index
            self._session.target_index = self._session.check_target(self.target)
            self._refresh()

    # -- the live loop -------------------------------------------------------------
    def _on_frontend_message(self, _widget: Any, content: dict, _buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "global":
            self._start_global()
            return
        if kind == "charts-engine":
            self.send({"type": "charts-engine"}, buffers=[(STATIC / "vega.js").read_bytes()])
            return
        if isinstance(content, dict) and content.get("type") == "export":
            # Minutes on a big model: a thread keeps the kernel answering meanwhile.
            threading.Thread(
                target=self._export_to_frontend, name="optiml-export", daemon=True
            ).start()
            return
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        if not content.get("fast") and (self._worker is None or self._idle.is_set()):
            # A release or a typed value, with nothing else under way: answer it right here,
            # without the hop to the worker thread (drags still go through the worker).
            self._apply_request(content)
            return
        with self._wake:
            self._pending = content  # newer requests simply replace older waiting ones
            self._idle.clear()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="optiml-widgets", daemon=True
                )
                self._worker.start()
            self._wake.notify()

    def _work(self) -> None:
        while True:
            with self._wake:
                if self._pending is None:
                    self._idle.set()
                    self._wake.wait(timeout=30)
                    if self._pending is None:
                        self._worker = None
                        return
                request, self._pending = self._pending, None
            self._apply_request(request)

    def _apply_request(self, request: dict) -> None:
        seq = int(request.get("seq", 0))
        with self._lock:
            if seq < self._request_seq:
                return  # overtaken by a newer request of the frontend, already answered
            self._request_seq = seq
            self._seq = max(self._seq, seq)
            session = self._session
            try:
                index = session.check_index(int(request.get("index", session.index)))
                target_index = session.check_target(request.get("target", session.target))
                if request.get("edits") is None:  # a row change: keep that row's own edits
                    edits = session.edits_by_row.get(index, {})
                else:
                    edits = session.check_edits(
                        {**session.original(index), **request["edits"]}, index
                    )
                session.index = index
            except (KeyError, ValueError, TypeError) as exc:
                self.error = _message(exc)
                return
            session.edits_by_row[index] = edits
            session.target_index = target_index
            self._refresh(seq=seq, fast=bool(request.get("fast")))

    def _refresh(self, *, seq: int | None = None, fast: bool = False) -> None:
        """Recompute the current view; on failure keep the last good one and set ``error``."""
        from_python = seq is None
        if from_python:
            self._seq += 1
            seq = self._seq
        session = self._session
        try:
            view = session.view(seq, fast=fast)
        except Exception as exc:
            message = _message(exc)
            self.error = message
            if from_python:  # the panel shows the banner; a notebook call also warns
                warnings.warn(f"optiml_widgets: {message}", RuntimeWarning, stacklevel=3)
            traceback.clear_frames(exc.__traceback__)
            return
        self.recomputations += 1
        self._applying = True
        try:
            with self.hold_sync():
                self.index = session.index
                self.target = session.target
                self.error = None
                self._view = view
            if not fast and self._pending is None:
                # Sent after the view, so they never delay it; a newer request skips them.
                self._curves = session.curves(seq)
                if (
                    session.has_global
                    and self._global
                    and self._global.get("target") not in (None, str(session.target))
                ):
                    self._global = self._global_payload()  # the charts of the new target
        except Exception as exc:  # curves are a nicety: never fail the view for them
            self._curves = None
            warnings.warn(
                f"optiml_widgets: no drag estimates ({exc})", RuntimeWarning, stacklevel=2
            )
        finally:
            self._applying = False

    # -- the global views -----------------------------------------------------------
    def _start_global(self) -> None:
        """Global SHAP in a thread, its progress shown in the panel; once per widget."""
        if self._global_thread is not None:
            return
        if self._session.shap_explainer is None:
            self._global = {"state": "error", "done": 0, "total": 0, "message": "SHAP is off"}
            return
        self._global_thread = threading.Thread(
            target=self._compute_global, name="optiml-global", daemon=True
        )
        self._global_thread.start()

    def _compute_global(self) -> None:
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done < total and now - last < PROGRESS_EVERY:
                return
            last = now
            self._global = {"state": "running", "done": done, "total": total, "message": None}

        try:
            self._session.global_explanation(progress=progress, lock=self._lock)
            with self._lock:
                self._global = self._global_payload()
        except Exception as exc:  # the local panel goes on working without the charts
            self._global = {"state": "error", "done": 0, "total": 0, "message": _message(exc)}

    def _global_payload(self) -> dict[str, Any]:
        from .charts import charts_payload

        session = self._session
        explanation = session.global_explanation()
        charts = session.global_charts(self.feature)
        return {
            "state": "ready",
            "done": len(explanation.rows),
            "total": len(explanation.rows),
            "message": (
                f"SHAP values of {explanation.sample_text} ({explanation.algorithm}), "
                f"computed in {explanation.seconds:.1f} s; output: {session.target}"
            ),
            "target": str(session.target),
            **charts_payload(charts),
        }

    def _export_to_frontend(self) -> None:
        """The panel's "Export HTML" button: the file goes back as a message buffer."""
        reply: dict[str, Any] = {"type": "export", "filename": EXPORT_FILENAME}
        try:
            page = self.to_html().encode("utf-8")
        except Exception as exc:  # the button must not take the kernel down either
            self.send({**reply, "error": _message(exc)})
            return
        self.send(reply, buffers=[page])

    def _wait_idle(self, timeout: float = 60) -> bool:
        """Block until the worker has answered every frontend request (for tests and scripts)."""
        return self._idle.wait(timeout)


def _message(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {text}"
