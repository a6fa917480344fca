"""ExplainerWidget: the table's panel over an ExplanationSession (panel_widget.py holds
what it shares with the text panel).

The frontend sends one kind of message, the whole wanted state (row, target, edits) with a
sequence number; live.py answers the newest one and drops those it overtook. Each answer is
one ``_view`` trait update carrying the sequence number it answers; the frontend never lets
an older view replace a newer one. Calls from Python (``set_features``, ``index = 3``)
compute at once and bump the sequence number, so the panel follows a notebook cell.

The first view is what one row needs (prediction and SHAP); LIME, the surrogate, the
counterfactual, the drag curves and the global views stream in afterwards, and ``_progress``
tells the panel how far the long jobs are. ``close()`` (or the widget being collected)
stops every thread and model call.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
import traitlets

from . import payloads
from .counterfactual import Counterfactual
from .explainers.surrogate import Surrogate, rule_with_labels
from .explanation import LocalExplanation
from .format import first_names
from .global_explanation import GlobalExplanation
from .html_file import check_include_data, export_path
from .jobs import Cancelled, check_open, while_open
from .live import error_text
from .panel_widget import (
    STATIC,
    MakePage,
    PanelWidget,
    in_turn,
    job_state,
    unrecord,
    weakly,
)
from .progress import working
from .session import SURROGATE, ExplanationSession
from .warn import warn_caller

if TYPE_CHECKING:
    import altair as alt

PROGRESS_EVERY = 0.1  # seconds between progress updates sent to the panel


UNEDITED = object()  # a feature's edit taken back (see ExplainerWidget._python_edits)


def _feature_to_json(label: Any, widget: ExplainerWidget) -> Any:
    """``feature`` as the panel names it: by its text (X's column 0 is "0")."""
    return None if label is None else widget._session.schema.name_of(label)


class ExplainerWidget(PanelWidget):
    """A live panel explaining one model: SHAP, LIME, surrogate rules and what-if sliders."""

    _session: ExplanationSession
    EXPORT_FILENAME = "optiml_widgets_export.html"
    SELECTED = ("index", "target_index", "versus_index")

    _curves = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _global = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    # X's own column label (an int of pd.DataFrame(array)), as the Python API keys results
    # by; the panel, which names features by their text, gets and sets that text.
    feature = traitlets.Any(
        None,
        allow_none=True,
        help="The feature of the dependence plot (in the panel, w.charts and an export), by "
        "X's own column label (or its text): None until global SHAP values are there, then "
        "the most important one unless set; None sets it back to that.",
    ).tag(sync=True, to_json=_feature_to_json)
    # Another class: the views explain P(target) - P(versus), "why target and not versus".
    versus = traitlets.Any(
        None,
        allow_none=True,
        help="Another class: every view then explains P(target) - P(versus); None: none.",
    ).tag(sync=True)

    def __init__(self, session: ExplanationSession, **kwargs: Any) -> None:
        # Per row the edits made from Python since the panel's last up-to-date request:
        # feature -> (the seq of the change, its value; UNEDITED: taken back). A panel
        # request built on an older view than a change keeps that change.
        self._python_edits: dict[int, dict[str, tuple[int, Any]]] = {}
        self._curves_of: tuple | None = None  # the instance the synced curves were swept at
        # Surrogate sizes asked for (from Python or the panel), numbered; one is applied at
        # a time, and a panel pick older than the newest ask is dropped (see _size_from_panel).
        self._size_asked = 0
        self._size_asking = threading.Lock()  # the number, taken in the thread that asks
        self._size_applying = threading.Lock()

        def opening() -> tuple[dict, dict[str, Any]]:
            calls = session.context.calls
            with working("Explaining the first row (prediction and SHAP)", lambda: calls[0]):
                first = session.first_view()
            shown = session.shown_features(session.index, session.edits)
            return dict(first), {
                "_schema": payloads.schema(session, shown),
                "versus": session.versus,
            }

        super().__init__(session, opening, **kwargs)

    # -- the public API (README: What you can do with the widget) -----------------
    @property
    def instance(self) -> dict[Any, Any]:
        """Feature -> current value: the selected row plus its what-if edits (keyed by X's
        own column labels, as every result of the Python API is)."""
        return self._session.schema.by_label(self._session.instance())

    @property
    def explanation(self) -> LocalExplanation:
        """The exact LocalExplanation of the current instance for ``target`` (it waits for
        the streamed explainers and the surrogate). A streamed part that failed (LIME's
        samples can make a model fail where the row does not) is left out and named in
        ``.failed``; an explainer's failure is also ``w.error``, as the panel shows it."""
        with while_open(self._stop):
            found = self._session.local_explanation()
        # The surrogate's failure is the rule table's own, as in the panel.
        why = next((m for name, m in found.failed.items() if name != SURROGATE), None)
        if why is not None:
            with self._state:
                self.error = why
            warn_caller(f"optiml_widgets: {why}")
        return found

    @property
    def surrogate(self) -> Surrogate | None:
        """The global rule surrogate (None when disabled with ``explainers=``); waits for
        its fit with a progress bar if it is still running."""
        with while_open(self._stop):
            surrogate = self._session.surrogate
        return surrogate.with_labels() if surrogate is not None else None

    @property
    def surrogate_size(self) -> int | None:
        """The number of rules the surrogate shows (leaves plus linear terms); set it to pick
        another point of its fidelity curve live (the rule table and slider thresholds
        follow), or to None for the size cross-validation chose. A size the fit did not try
        gives the nearest one it did (the smaller on a tie), which this then reads."""
        with while_open(self._stop):
            surrogate = self._session.surrogate
        return surrogate.complexity if surrogate is not None else None

    @surrogate_size.setter
    def surrogate_size(self, rules: int | None) -> None:
        self._ask_size()
        with self._size_applying:
            self._show_size(rules)

    def _ask_size(self) -> int:
        """The number of a new ask for a size (the newest)."""
        with self._size_asking:
            self._size_asked += 1
            return self._size_asked

    def _show_size(self, rules: int | None, family: str | None = None) -> None:
        with while_open(self._stop):
            surrogate = self._session.set_surrogate_size(rules, family)
        if surrogate is not None:
            self._show_surrogate(surrogate)
        self._refresh()

    def _show_surrogate(self, surrogate: Surrogate, **also: Any) -> None:
        """The rule table of ``surrogate`` (and ``also``'s traits), unless another size
        became the session's meanwhile: the fit's callback and a size set from Python or
        the panel race, and the size set last must stay shown."""
        shown = dict(payloads.surrogate(surrogate))
        with self._state, self.hold_sync():
            if self._session.ready_surrogate() is surrogate:
                self._surrogate = shown
            for name, value in also.items():
                setattr(self, name, value)

    def counterfactual(self) -> Counterfactual | None:
        """The smallest change of the current instance that reaches a surrogate rule with
        another outcome, checked with the model: ``.changes``, ``.prediction``,
        ``.model_agrees``, ``.text()``. None without a surrogate or another outcome. Apply
        it with ``w.set_features(w.counterfactual().changes)``."""
        with while_open(self._stop):
            found = self._session.counterfactual()
        schema = self._session.schema
        if found is None or not schema.own_labels:
            return found  # the session's own (cached: the same object when asked again)
        return dataclasses.replace(
            found,
            changes=schema.by_label(found.changes),
            rule=rule_with_labels(found.rule, schema),
            labels=schema.by_label(found.labels),
        )

    @property
    def global_explanation(self) -> GlobalExplanation:
        """SHAP values over X (or a documented sample of it), computed once and cached; read
        without naming an output (``importance()``, ``to_shap()``), those of ``target`` as
        it is now (the object read stays with it; read it again after setting another).
        Every class's values are kept: with ``versus`` set, ``.contrast(a, b)`` (classes by
        name or position) gives the difference the panel's charts show."""
        with while_open(self._stop):
            # Failed before (a model that failed once): asked again, it runs again, its
            # progress and result in the panel too.
            self._session.jobs.forget_failed("global")
            self._start_global()
            found = self._session.global_explanation()
            self._shown_feature()
        if found.summary is not None:
            found.summary.warn_reader()
        return dataclasses.replace(found, default_output=self._session.target_index)

    @property
    def charts(self) -> dict[str, alt.Chart]:
        """The global views as Altair charts, to save or restyle with Altair's own API:
        ``"importance"``, ``"beeswarm"``, ``"dependence"`` (of ``feature``) and, with a
        surrogate, ``"fidelity"``."""
        self.global_explanation  # noqa: B018 -- waited for with progress first
        with while_open(self._stop):
            self._session.surrogate  # noqa: B018 -- the fidelity chart's: its own bar
        # Altair builds them in seconds on many rows: a bar after half a second.
        with while_open(self._stop), working("Drawing the charts"):
            return self._session.global_charts(self._shown_feature())

    @property
    def session(self) -> ExplanationSession:
        """The underlying ExplanationSession (data, model adapter, explainers)."""
        return self._session

    def set_features(self, mapping: Mapping[str, Any] | None = None, **values: Any) -> None:
        """What-if edit of the current row, e.g. ``w.set_features(age=40)``, or with a
        mapping of feature -> value (a dict, or a row such as ``X.iloc[5]``); ``None``
        makes a value missing, in a column X has missing values in.

        Raises KeyError for an unknown feature and ValueError for an invalid value; nothing
        changes then. Nor does a value the model itself rejects stay: its message is in
        ``w.error`` (and a warning), and the last good view stays with its edits.
        """
        if isinstance(mapping, pd.Series):  # a row: its labels are the features
            mapping = mapping.to_dict()
        if mapping is not None and not isinstance(mapping, Mapping):
            raise TypeError(
                "set_features takes a mapping of feature -> value (a dict, or a row such as "
                f"X.iloc[5]), or keywords, not {type(mapping).__name__}: e.g. "
                "w.set_features({'age': 40})."
            )
        twice = sorted(set(mapping or {}) & set(values), key=str)
        if twice:  # which one was meant?
            raise ValueError(
                f"{first_names(twice)} given twice, in the mapping and as a keyword: give each "
                "feature once."
            )
        changes = {**(mapping or {}), **values}
        with while_open(self._stop), self._state:
            edits = self._session.check_edits(changes)
        self._edit_row(edits)

    def reset(self) -> None:
        """Drop every what-if edit of the current row."""
        check_open(self._stop)
        self._edit_row(None)

    def _edit_row(self, edits: dict[str, Any] | None) -> None:
        """The current row's edits become ``edits`` (None: none), and its view follows.
        When no view shows them (the model rejected them, or Ctrl-C in the cell), they are
        taken back: the panel, ``w.instance``, ``w.explanation`` and an export keep
        agreeing with the last good view."""
        session = self._session
        with self._state:
            index, before = session.index, session.edits_by_row.get(session.index)
            if edits is None:
                session.edits_by_row.pop(index, None)
            else:
                session.edits_by_row[index] = edits
            # Numbered with the edits (one lock): a panel request that comes between is
            # either older than this change or has seen it.
            change = self._python_change()
            recorded = self._python_edits.setdefault(index, {})
            replaced: dict[str, tuple[int, Any] | None] = {}
            for name in {*(before or {}), *(edits or {})}:
                old, new = (before or {}).get(name, UNEDITED), (edits or {}).get(name, UNEDITED)
                if old is UNEDITED or new is UNEDITED or not session.same_value(name, old, new):
                    replaced[name] = recorded.get(name)
                    recorded[name] = (change[1], new)
        shown = False
        try:
            shown = self._refresh(change)
        finally:
            if not shown:
                self._take_back(index, edits, before)
                self._unrecord(index, change[1], replaced)

    def _unrecord(
        self, index: int, seq: int, replaced: Mapping[str, tuple[int, Any] | None]
    ) -> None:
        """Forget the Python edits of change ``seq`` (taken back: no view showed them),
        each feature's earlier one recorded again, unless a newer change replaced it."""
        with self._state:
            unrecord(self._python_edits.get(index, {}), seq, replaced)

    def _take_back(
        self, index: int, edits: dict[str, Any] | None, before: dict[str, Any] | None
    ) -> None:
        """Row ``index``'s edits back to ``before`` after no view showed ``edits``, unless
        a newer change replaced them meanwhile."""
        session = self._session
        with self._state:
            if session.edits_by_row.get(index) is not edits:
                return
            if before is None:
                session.edits_by_row.pop(index, None)
            else:
                session.edits_by_row[index] = before

    def to_html(
        self,
        path: str | Path | None = None,
        rows: Sequence[int] | None = None,
        include_data: bool = True,
    ) -> str:
        """A standalone HTML page of this panel that opens with no network and no kernel.

        It holds the current row and up to 49 more (``rows=`` picks others), their
        explanations, the surrogate, and for every exported row each feature's slider grid
        with the model's exact output, SHAP values and rule (one feature changed at a time).
        Changing two or more features shows a labelled estimate. ``include_data=False``
        leaves every raw value of the rows out. Returns the HTML; also writes it when
        ``path`` is given.
        """
        from .export import to_html

        target, include_data = export_path(path), check_include_data(include_data)
        with self._state:  # the panel as it is now (the live loop may move on meanwhile)
            frozen, feature = self._session.snapshot(), self._feature_name()
        with while_open(self._stop):
            page = to_html(frozen, target, rows=rows, include_data=include_data, feature=feature)
            if feature is None and frozen.shap_explainer is not None:
                self._shown_feature(frozen)  # the file's plot shows it: so does w.feature
            return page

    def _static_picture(self) -> str:
        from .export import static_picture

        return static_picture(self._session, cast(payloads.View, self._view))

    # -- traits set from Python ----------------------------------------------------
    @traitlets.validate("feature")
    def _valid_feature(self, proposal: dict) -> Any:
        """X's own label of the feature named by ``proposal`` (a label, or its text: the
        panel's), or a clear error."""
        value, schema = proposal["value"], self._session.schema
        label = None
        if value is not None:
            try:
                name = schema.name_of(value)
            except TypeError:  # unhashable: no feature
                name = value
            if not isinstance(name, str) or name not in schema.names:
                raise KeyError(schema.unknown_feature_message(value))
            label = schema.label(name)
        # Under the lock _shown_feature writes its default with: a name set meanwhile is
        # stored after the default, never replaced by it.
        with self._state:
            return label

    def _feature_name(self) -> str | None:
        """The name of ``feature`` (what the session's charts take), or None."""
        return _feature_to_json(self.feature, self)

    def _shown_feature(self, session: ExplanationSession | None = None) -> str:
        """The dependence plot's feature: ``feature``, or when None the one the charts choose
        (``session.dependence_feature``), written to ``feature`` so that it says what the
        plot shows from the start. Waits for global SHAP when it is not there yet. Its
        name."""
        chosen = (session or self._session).dependence_feature(self._feature_name())
        with self._state:
            if self.feature is None:
                self.feature = chosen
            return self._feature_name() or chosen

    @traitlets.validate("target")
    def _valid_target(self, proposal: dict) -> Any:
        check_open(self._stop)
        position = self._session.check_target(proposal["value"])
        classes = self._session.adapter.classes
        return classes[position] if classes is not None else "prediction"

    @traitlets.validate("versus")
    def _valid_versus(self, proposal: dict) -> Any:
        check_open(self._stop)
        position = self._session.check_versus(proposal["value"])
        classes = self._session.adapter.classes
        return None if position is None or classes is None else classes[position]

    @traitlets.observe("index", "target", "versus")
    def _on_state_trait(self, change: dict) -> None:
        self._select_changed(change)

    def _selection_after(self, name: str, value: Any) -> dict[str, Any]:
        session = self._session
        if name == "versus":
            return {"versus_index": session.check_versus(value)}
        selected = super()._selection_after(name, value)
        if selected.get("target_index") == session.versus_index:
            selected["versus_index"] = None  # the new target was the contrasted class
        return selected

    def _show_selection(self) -> None:
        super()._show_selection()
        self.versus = self._session.versus

    # -- the live loop -------------------------------------------------------------
    def _message_handlers(self) -> dict[str, Callable[[dict], None]]:
        return {
            **super()._message_handlers(),
            "global": lambda _content: self._start_global(),
            "charts-engine": lambda _content: self.send(
                {"type": "charts-engine"}, buffers=[(STATIC / "vega.js").read_bytes()]
            ),
            "features": lambda content: self._send_features(content.get("features")),
            "surrogate-size": lambda content: self._size_from_panel(
                content.get("rules"), content.get("family")
            ),
        }

    def _restart_stopped(self, stopped: list[str]) -> None:
        """The global views stopped while no view was on screen."""
        session = self._session
        if "global" in stopped:
            self._start_global()
        elif "global-views" in stopped and (job := session.jobs.get("global")) is not None:
            self._global_done(job)

    def _refresh(self, change: tuple[int, int] | None = None) -> bool:
        """Recompute the current view after a change made from Python (``change``: its
        ``_python_change``, by default a new one); whether a view shows it. ``close()``
        from another thread stops it at the next model call and it raises ``Closed``."""
        with self._state:
            previous, seq = self._python_change() if change is None else change
        calls = self._session.context.calls
        before = calls[0]  # the bar counts this view's calls, not the session's
        try:
            # A slow model or a wide one: a bar after half a second, counting model calls.
            with (
                while_open(self._stop),
                working("Explaining the view", lambda: calls[0] - before),
            ):
                self._loop.answer_now({"type": "python", "seq": seq})
        finally:
            with self._state:
                shown = self._view.get("seq", -1) >= seq
                if not shown and self._python_seq == seq:
                    # No view shows the change (the model rejected it, or it was stopped):
                    # the panel's next request, built on the last good view, wins.
                    self._python_seq = previous
        check_open(self._stop)  # the view computed nothing after a close: say so
        return shown

    def _answer(self, request: dict) -> Callable[[], None] | None:
        """Apply a request and publish its view; returns what is left to stream in."""
        seq = int(request.get("seq", 0))
        session = self._session
        from_python = request.get("type") == "python"
        fast = bool(request.get("fast"))
        take_back: Callable[[], None] | None = None  # the row's edits before this request's
        asked = seq  # the request's own number (the panel's "failed" names it)
        with self._state:
            if not from_python:
                if seq < self._request_seq:
                    return None  # overtaken by a newer request of the frontend, already answered
                self._request_seq = seq
                newest = self._seq  # the newest seq a view was given so far
                self._seq = max(self._seq, seq)
                try:
                    index = session.check_index(int(request.get("index", session.index)))
                    target_index = session.check_target(request.get("target", session.target))
                    versus_index = session.check_versus(
                        request.get("versus", session.versus), target_index
                    )
                    if request.get("edits") is None:  # a row change: keep that row's own edits
                        edits = session.edits_by_row.get(index, {})
                    else:
                        edits = session.check_edits(
                            {**session.original(index), **_named(session, request["edits"])},
                            index,
                        )
                except (KeyError, ValueError, TypeError) as exc:
                    self._failed(seq, exc, warn=False)
                    return None
                basis = request.get("basis")  # the seq of the view the panel showed
                before = session.edits_by_row.get(index)
                fresh = basis is None or int(basis) >= self._python_seq
                if fresh:
                    self._python_edits.clear()  # the panel has seen them: they are in edits
                    selected = self._select(
                        index=index, target_index=target_index, versus_index=versus_index
                    )
                    session.edits_by_row[index] = edits
                elif basis is not None and request.get("edits") is not None:
                    # Built before the panel saw a change made from Python (a drag under
                    # way): that change is newer and stays (row, class, edits); the
                    # request's edits go to its own row, with the Python edits of that row
                    # newer than the view it was built on (an older one the panel showed,
                    # and the request's value of that feature is the user's, newer).
                    merged = dict(edits)
                    for name, (changed_at, value) in self._python_edits.get(index, {}).items():
                        if changed_at <= int(basis):
                            continue
                        if value is UNEDITED:
                            merged.pop(name, None)
                        else:
                            merged[name] = value
                    session.edits_by_row[index] = merged
                undo = [selected] if fresh else []  # nor a row the model failed on
                if request.get("edits") is not None:  # a rejected edit does not stay
                    undo.append(
                        functools.partial(
                            self._take_back, index, session.edits_by_row[index], before
                        )
                    )
                take_back = in_turn(undo)
                if fresh or request.get("edits") is not None:
                    seq = self._after_every_view(seq, newest)
        if not self._publish(
            seq, fast=fast, complete=False, warn=from_python, failed=take_back, asked=asked
        ):
            return None
        if fast:
            return None
        if session.curves_are_cheap():  # with the answer: a drag right after is estimated
            self._send_curves(seq)
        return self._completion(seq)

    def _publish(
        self,
        seq: int,
        *,
        fast: bool,
        complete: bool,
        warn: bool = False,
        failed: Callable[[], None] | None = None,
        asked: int | None = None,
    ) -> bool:
        """Compute and show the current view; on failure keep the last good one (``failed``
        takes the request's change back) and say why (to the panel's request ``asked``,
        when it numbered it otherwise)."""
        try:
            view = self._session.view(seq, fast=fast, complete=complete, wait=False)
        except Cancelled:
            return False
        except Exception as exc:
            if failed is not None:
                failed()
            self._failed(seq, exc, warn, asked)
            return False
        return self._show(seq, view)

    def _failed(self, seq: int, exc: Exception, warn: bool, asked: int | None = None) -> None:
        self._failed_seq = max(self._failed_seq, seq)
        self.error = error_text(exc)
        # No view answers this request: the panel stops waiting (``error`` alone does not
        # tell it when the message is the same as the last failure's).
        self.send({"type": "failed", "seq": seq if asked is None else asked})
        if warn:  # the panel shows the banner; a notebook call also warns
            warn_caller(f"optiml_widgets: {self.error}")
        traceback.clear_frames(exc.__traceback__)

    def _show(self, seq: int, view: payloads.View) -> bool:
        """Publish a computed view unless a newer one is on screen."""
        session = self._session
        with self._state:
            if seq < self._view.get("seq", -1):
                return False  # a newer view is already on screen
            self.recomputations += 1
            with self._publishing(), self.hold_sync():
                self.index = session.index
                self.target = session.target
                self.versus = session.versus
                if seq >= self._failed_seq:
                    # An explainer that failed for this view (the rest of it stands) is
                    # the error, as its card says.
                    self.error = next(iter(view.get("failed", {}).values()), None)
                self._view = dict(view)
                if (
                    view["quality"] != "fast"
                    and self._curves
                    and self._curves_of == self._instance_key()
                ):
                    # The same instance again (a release where it started, a repeated
                    # value): its curves serve this view too, so the next drag is
                    # estimated at once instead of after the streamed parts.
                    self._curves = {**self._curves, "seq": seq}
        return True

    def _instance_key(self) -> tuple:
        session = self._session
        edits = session.edits_by_row.get(session.index, {})
        return session.index, session.output, repr(sorted(edits.items(), key=repr))

    def _send_curves(self, seq: int) -> bool:
        """The drag curves of view ``seq``; False when the view is gone or was stopped."""
        try:
            curves = dict(self._session.curves(seq))
        except Cancelled:
            return False
        except Exception as exc:  # curves are a nicety: never fail the view for them
            # (older curves stay: the panel uses curves only with their own view)
            warn_caller(f"optiml_widgets: no drag estimates ({exc})")
            return True
        with self._state:
            if self._view.get("seq") != seq or self._view.get("quality") == "fast":
                return False
            self._curves_of = self._instance_key()
            self._curves = curves
        return True

    def _completion(self, seq: int) -> Callable[[], None]:
        """What follows view ``seq`` in the background: the drag curves (cheap, and the next
        drag is estimated from them at once) unless they came with it, and the streamed
        parts."""
        me = weakref.ref(self)
        session = self._session

        def current() -> ExplainerWidget | None:
            w = me()
            return w if w is not None and w._view.get("seq") == seq else None

        def complete() -> None:
            # The widget is held only to read and to publish: the work itself needs the
            # session alone, so a widget nobody uses any more is collected meanwhile.
            w = current()
            if w is None:
                return
            fast = w._view.get("quality") == "fast"
            unfinished = fast or bool(w._view.get("pending"))
            if not fast and (w._curves or {}).get("seq") != seq and not w._send_curves(seq):
                return
            del w
            if unfinished:
                # Twice: a model's passing failure left the streamed parts pending (or
                # failed) for good.
                for attempt in (1, 2):
                    try:
                        view = session.view(seq, complete=True, wait=False)
                        if not view.get("failed") or attempt == 2 or current() is None:
                            break
                    except Cancelled:
                        return
                    except Exception as exc:
                        if attempt == 2 or current() is None:
                            if (w := me()) is not None:
                                w._failed(seq, exc, warn=False)
                            return
                if (w := current()) is None or not w._show(seq, view):
                    return
                del w
            if fast and ((w := current()) is None or not w._send_curves(seq)):
                return
            if (
                (w := current()) is not None
                and session.has_global
                and w._global
                and w._global.get("target") not in (None, session.global_output_name())
            ):
                w._global = w._global_payload()  # the charts of the new target or contrast

        return complete

    # -- background jobs -------------------------------------------------------------
    def _surrogate_done(self, job: Future) -> None:
        """The fit finished: show the rules, then the current view with its rule."""
        if self._surrogate_failed(job):
            return
        # The size shown: w.surrogate_size may have been set (waiting for this fit) before
        # this callback came.
        surrogate = self._session.ready_surrogate() or job.result()
        self._show_surrogate(
            surrogate, _progress={**self._progress, SURROGATE: job_state("ready", None)}
        )
        self._loop.follow_up(self._completion(self._view.get("seq", 0)))

    def _start_global(self) -> None:
        """Global SHAP in a job, its progress shown in the panel; once per widget."""
        session = self._session
        if session.shap_explainer is None:
            self._global = {"state": "error", "done": 0, "total": 0, "message": "SHAP is off"}
            return
        if session.jobs.get("global") is not None:
            return
        me = weakref.ref(self)
        last = [0.0]

        def progress(w: ExplainerWidget, done: int, total: int) -> None:
            import time

            now = time.monotonic()
            if done < total and now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            what = (
                f"Explaining global_data: {done:,} of {total:,} {session.global_progress_unit}"
                if session.global_data is not None
                else None
            )
            w._global = {"state": "running", "done": done, "total": total, "message": what}

        job = session.global_job(on_progress=weakly(me, progress))
        job.add_done_callback(weakly(me, lambda w, f: w._global_done(f)))

    def _global_done(self, job: Future) -> None:
        if job.cancelled() or isinstance(job.exception(), Cancelled):
            return
        error = job.exception()
        if error is not None:  # the local panel goes on working without the charts
            self._global = {"state": "error", "done": 0, "total": 0, "message": error_text(error)}
            return
        # The charts need the surrogate's thresholds and the current row: build them in a
        # job of their own, where waiting for the surrogate holds nothing up (the live
        # loop's follow-up slot keeps only the newest work: a view's would replace them).
        self._build_global_views()

    @traitlets.observe("feature")
    def _on_feature(self, change: dict) -> None:
        """A feature whose values the charts do not carry (many features: only the most
        important travel): the charts again, with its values, for its dependence plot."""
        shown = self._global
        if not shown or shown.get("state") != "ready":
            return
        if change["new"] is None:  # back to the default: chosen (and written) as it is drawn
            self._build_global_views()
            return
        schema = self._session.schema
        position = schema.names.index(schema.name_of(change["new"]))
        if not payloads.carries(shown, position):
            self._build_global_views()

    def _build_global_views(self) -> None:
        """The global views' payload, built in the "global-views" job (again, if it ran)."""
        me = weakref.ref(self)
        session = self._session

        def build(stop: Any, _progress: Any) -> None:
            # The target, contrast or feature may change while the charts are built.
            for _ in range(3):
                stop.check()
                if (w := me()) is None:
                    return
                w._global = shown = w._global_payload()
                feature = w._feature_name()
                if shown.get("target") == session.global_output_name() and (
                    feature is None or payloads.carries(shown, session.schema.names.index(feature))
                ):
                    return

        session.jobs.cancel("global-views")  # built before: new charts
        session.jobs.submit("global-views", build)

    def _global_payload(self) -> dict[str, Any]:
        return payloads.global_views(
            self._session, self._shown_feature(), include_data=True, live=True
        )

    def _page_maker(self) -> MakePage:
        from .export import to_html

        with self._state:  # the panel as the click found it: edits meanwhile go live only
            frozen, feature = self._session.snapshot(), self._feature_name()
        return lambda stop, progress: to_html(
            frozen, feature=feature, stop=stop, progress=progress
        ).encode()

    def _size_from_panel(self, rules: Any, family: Any = None) -> None:
        """The rule table's size control or a clicked point of the fidelity chart (with its
        family): another point of the curve, off the kernel's path."""
        if isinstance(rules, bool) or not isinstance(rules, int):
            return
        family = family if isinstance(family, str) else None
        # Picks made in quick succession (arrow keys on the size select) each run in a
        # thread: a slow one (a large size) finished after the next and showed instead.
        asked = self._ask_size()

        def apply() -> None:
            try:
                with self._size_applying:
                    if asked != self._size_asked:
                        return  # a newer size was asked for: it shows
                    self._show_size(rules, family)
            except Cancelled:
                pass  # closed meanwhile: nothing to show
            except Exception as exc:  # this thread's error goes to the panel, not the log
                self.error = error_text(exc)

        threading.Thread(target=apply, name="optiml-surrogate-size", daemon=True).start()

    def _send_features(self, positions: Any) -> None:
        """Wide data: the summaries of features the panel is about to show."""
        features = self._session.schema.features
        if not isinstance(positions, list):
            return
        wanted = [
            j
            for j in positions
            if isinstance(j, int) and not isinstance(j, bool) and 0 <= j < len(features)
        ][:500]
        self.send(
            {
                "type": "features",
                "features": [[j, payloads.feature_info(features[j])] for j in wanted],
            }
        )


def _named(session: ExplanationSession, pairs: Any) -> dict[str, Any]:
    """The frontend's ``[feature position, value]`` edits as ``{name: value}``."""
    names = session.schema.names
    out = {}
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"An edit must be a [feature position, value] pair, not {pair!r}.")
        j, value = pair
        if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < len(names):
            raise KeyError(f"No feature at position {j!r}: X has {len(names)} features.")
        out[names[j]] = value
    return out
