"""PanelWidget: the anywidget shell the table's panel and the text panel share.

Each runs one session behind a live loop (live.py). What is the same for both lives here:
the synced state, the first view's hand-over, the streamed jobs started once the widget
exists, the frontend's messages, the Export button's job, the panel coming back on screen,
and ``close()``. A subclass says how a request is answered (``_answer``), what completes a
view (``_completion``), what its surrogate's fit shows (``_surrogate_done``), how its page
is made (``_page_maker``) and what its panel's other messages do (``_message_handlers``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anywidget
import traitlets

from .jobs import Cancelled, PanelHooks, Stop, check_open
from .live import LiveLoop, Publishing, error_text, shut_down
from .on_screen import EXPORT_STOPPED, OnScreen
from .payloads import JobState

STATIC = Path(__file__).parent / "static"
SURROGATE = "surrogate"  # the surrogate's job, and its entry in ``_progress``

MakePage = Callable[[Stop, Callable[[int, int], None]], bytes]
K = TypeVar("K")


class PanelWidget(anywidget.AnyWidget):
    """A live panel over one session (ExplanationSession or TextSession)."""

    # Text, not paths: anywidget watches a path for hot reloading and its watcher keeps
    # every widget alive.
    _esm = (STATIC / "widget.js").read_text(encoding="utf-8")
    _css = (STATIC / "widget.css").read_text(encoding="utf-8")

    _schema = traitlets.Dict().tag(sync=True)
    _surrogate = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _view = traitlets.Dict().tag(sync=True)
    _progress = traitlets.Dict().tag(sync=True)
    index = traitlets.Int(0, help="The explained row of X, or text (settable).").tag(sync=True)
    target = traitlets.Any(
        None, help="The explained output: a class label, or 'prediction' for a regressor."
    ).tag(sync=True)
    error = traitlets.Unicode(
        None,
        allow_none=True,
        help="None, or the message of the last failed recomputation (the last good view stays).",
    ).tag(sync=True)

    EXPORT_FILENAME: ClassVar[str]  # the name the Export button's download suggests
    # The session's attributes a change of row or class sets (see _select).
    SELECTED: ClassVar[tuple[str, ...]] = ("index", "target_index")

    def __init__(
        self, session: Any, opening: Callable[[], tuple[dict, dict[str, Any]]], **traits: Any
    ) -> None:
        """``session`` explains; ``opening()`` gives the view the panel opens on and the
        subclass's own traits (it may fail: ``close()`` then still stops the session)."""
        self._session = session
        self._stop = session.jobs.stop  # set by close(): the members then raise Closed
        self._state = threading.RLock()  # the session's current row, target and edits
        self._seq = 0  # newest sequence number seen or given out (views carry it)
        self._request_seq = -1  # newest frontend request applied
        self._failed_seq = -1  # newest request that failed: an older view keeps its error
        self._python_seq = -1  # the newest change made from Python (its view carries it)
        # The views whose Export click waits for a file (their ids; None: a view that sends
        # none). A click restarts the export, and the file goes to every view waiting.
        self._export_waiting: set[str | None] = set()
        self._publishing = Publishing()
        self._selection = object()  # the last change of row or class (see _select)
        self.recomputations = 0  # views computed (tests check that bursts coalesce)
        first_view, own_traits = opening()
        with self._publishing():  # the initial values need no recomputation
            super().__init__(
                _view=first_view,
                _progress={},
                index=session.index,
                target=session.target,
                **own_traits,
                **traits,
            )
        self._loop = LiveLoop(self, "_answer", self._stop, session.gate)
        self.on_msg(self._on_frontend_message)
        # Threads hold the widget weakly; when it is collected, its work stops too.
        weakref.finalize(self, shut_down, self._loop, session)
        me = weakref.ref(self)
        self._on_screen = OnScreen(session.jobs, weakly(me, lambda w, s: w._back_on_screen(s)))
        # The first view is on its way; one job starts the rest (the session's ``start``).
        session.start(
            PanelHooks(
                on_surrogate_progress=weakly(me, lambda w, d, t: w._job_progress(SURROGATE, d, t)),
                on_surrogate_done=weakly(me, lambda w, f: w._surrogate_done(f)),
                then=weakly(  # unless a request was answered meanwhile
                    me,
                    lambda w: w._loop.follow_up(w._completion(0), lambda: w._view.get("seq") == 0),
                ),
            )
        )

    def close(self) -> None:
        """Stop every thread and model call of the widget, then close it: a member asked
        for work afterwards (or waiting for it meanwhile) raises ``Closed``."""
        # No loop: the first view failed in __init__, and ipywidgets' __del__ calls this.
        shut_down(getattr(self, "_loop", None), self._session)
        super().close()

    def __reduce__(self) -> Any:
        # pickle's own error names anywidget's per-instance class ("not the same object").
        raise TypeError(
            f"A {type(self).__name__} cannot be pickled: it is a live panel (its "
            "threads and its kernel connection). Pickle what it shows instead, such as "
            "w.explanation or w.surrogate, or save the panel as a file with w.to_html(path)."
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        # Where widgets cannot run (GitHub, nbconvert without widget state) this shows instead.
        data["text/html"] = self._static_picture()
        return data, metadata

    # -- what a subclass says ------------------------------------------------------
    def _static_picture(self) -> str:
        """A script-free picture of the current view."""
        raise NotImplementedError

    def _answer(self, request: dict) -> Callable[[], None] | None:
        """Apply a request and publish its view; returns what is left to stream in."""
        raise NotImplementedError

    def _completion(self, seq: int) -> Callable[[], None]:
        """What completes the view of request ``seq`` once it is shown."""
        raise NotImplementedError

    def _surrogate_done(self, job: Future) -> None:
        """The surrogate's fit finished (or failed)."""
        raise NotImplementedError

    def _page_maker(self) -> MakePage:
        """What makes the Export button's page: called when the button is clicked (the
        panel as the click found it), run in a job."""
        raise NotImplementedError

    def _restart_stopped(self, stopped: list[str]) -> None:
        """Jobs of the subclass's own that stopped while no view was on screen."""

    # -- traits set from Python ----------------------------------------------------
    @traitlets.validate("index")
    def _valid_index(self, proposal: dict) -> int:
        check_open(self._stop)
        return self._session.check_index(proposal["value"])

    # -- the frontend's messages ---------------------------------------------------
    def _message_handlers(self) -> dict[str, Callable[[dict], None]]:
        """The panel's message types and what answers each."""
        return {
            "request": self._loop.submit,
            "export": lambda content: self._export_to_frontend(content.get("id")),
            "view": self._on_screen.update,
        }

    def _on_frontend_message(self, _widget: Any, content: Any, _buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self._message_handlers().get(kind) if isinstance(kind, str) else None
        if handler is not None and _whole_numbers(content):
            handler(content)

    def _back_on_screen(self, stopped: list[str]) -> None:
        """A view is back after every view had gone: the jobs ``stopped`` meanwhile start
        again, and the current view is completed."""
        self._session.start(self._session.hooks)
        self._restart_stopped(stopped)
        if "export" in stopped:
            self._progress = {**self._progress, "export": job_state("error", EXPORT_STOPPED)}
        self._loop.follow_up(self._completion(self._view.get("seq", 0)))

    # -- background jobs -----------------------------------------------------------
    def _job_progress(self, name: str, done: int, total: int) -> None:
        self._progress = {
            **self._progress,
            name: {"state": "running", "done": done, "total": total, "message": None},
        }

    def _surrogate_failed(self, job: Future) -> bool:
        """Whether the surrogate's job ended without a fit (its error then shown)."""
        if job.cancelled():
            return True
        error = job.exception()
        if error is None:
            return False
        if not isinstance(error, Cancelled):
            state: JobState = {
                "state": "error",
                "done": 0,
                "total": 0,
                "message": error_text(error),
            }
            self._progress = {**self._progress, SURROGATE: state}
        return True

    def _export_to_frontend(self, view: object = None) -> None:
        """The panel's "Export HTML" button: made in a job (live edits go first), with its
        progress in ``_progress``; the file goes back as a message buffer. The reply names
        the ``view`` (its id) that asked, since every view of the widget receives it."""
        session = self._session
        me = weakref.ref(self)
        with self._state:
            self._export_waiting.add(view if isinstance(view, str) else None)
        session.jobs.cancel("export")  # a second click starts afresh (its file goes to both)
        make_page = self._page_maker()

        def done(w: PanelWidget, job: Future) -> None:
            if job.cancelled() or isinstance(job.exception(), Cancelled):
                return  # the export that replaced it answers every view waiting
            with w._state:
                waiting, w._export_waiting = w._export_waiting, set()
            error = job.exception()
            if error is not None:  # the button must not take the kernel down either
                w._progress = {**w._progress, "export": job_state("error", error_text(error))}
            else:
                w._progress = {**w._progress, "export": job_state("ready", None)}
            for asked in sorted(waiting, key=str):
                reply: dict[str, Any] = {"type": "export", "filename": w.EXPORT_FILENAME}
                if asked is not None:
                    reply["id"] = asked
                if error is not None:
                    w.send({**reply, "error": error_text(error)})
                else:
                    page = job.result()
                    w.send({**reply, "bytes": len(page)}, buffers=[page])

        job = session.jobs.submit(
            "export",
            make_page,
            on_progress=weakly(me, lambda w, d, t: w._job_progress("export", d, t)),
        )
        job.add_done_callback(weakly(me, done))

    def _python_change(self) -> tuple[int, int]:
        """Under ``_state``: the seq of a change made from Python, newer than any, and the
        one of the change before (what ``_refresh`` goes back to if no view shows it)."""
        self._seq += 1
        previous, self._python_seq = self._python_seq, self._seq
        return previous, self._seq

    def _select_changed(self, change: dict) -> None:
        """A row or class trait set from Python: the session selects it and a view shows
        it, or it is taken back."""
        if self._publishing.here:
            return
        with self._state:
            # Only the trait that changed, from ``change``: a view published by a worker
            # thread meanwhile may have written the session's older values into the traits.
            take_back = self._select(**self._selection_after(change["name"], change["new"]))
            with self._publishing():  # the traits as the session now has them
                self._show_selection()
        shown = False
        try:
            shown = self._refresh()
        finally:
            if not shown:
                take_back()

    def _selection_after(self, name: str, value: Any) -> dict[str, Any]:
        """Under ``_state``: what trait ``name`` set to ``value`` selects (of SELECTED)."""
        if name == "index":
            return {"index": value}
        return {"target_index": self._session.check_target(value)}

    def _select(self, **selected: Any) -> Callable[[], None]:
        """Select a row and classes (``self._state`` held; ``selected``: values of
        SELECTED); returns what selects the ones before again when no view shows these (the
        model failed on the row): the traits, the row or text, ``w.explanation`` and an
        export keep agreeing with the last good view. A newer selection meanwhile stays."""
        session = self._session
        before = {name: getattr(session, name) for name in self.SELECTED}
        for name, value in selected.items():
            setattr(session, name, value)
        token = self._selection = object()

        def take_back() -> None:
            with self._state:
                if self._selection is not token:
                    return
                for name, value in before.items():
                    setattr(session, name, value)
                with self._publishing():
                    self._show_selection()

        return take_back

    def _show_selection(self) -> None:
        """The traits of the selection as the session has them (under ``_publishing``)."""
        self.index, self.target = self._session.index, self._session.target

    def _after_every_view(self, seq: int, newest: int) -> int:
        """Under ``_state``: the seq to publish a panel request's state with, ``newest``
        the newest seq a view was given before the request came. A state no view has shown
        (a stale request's edits with Python's, or a number a view already carries) is
        numbered after every view, so that it is shown and no older view replaces it: a
        view dropped as older would leave the panel on one state and Python on another."""
        if seq <= newest:
            seq = self._seq = newest + 1
        return seq

    def _wait_idle(self, timeout: float = 120) -> bool:
        """Block until every request and what follows it is answered (tests and scripts)."""
        self._session.jobs.wait_started(timeout)  # it queues the first view's completion
        return self._loop.wait_idle(timeout)


def in_turn(steps: Sequence[Callable[[], None]]) -> Callable[[], None] | None:
    """One call that makes each of ``steps`` in turn; None for none."""
    if not steps:
        return None

    def all_steps() -> None:
        for step in steps:
            step()

    return all_steps


def unrecord(
    recorded: dict[K, tuple[int, Any]], seq: int, replaced: Mapping[K, tuple[int, Any] | None]
) -> None:
    """Forget the Python edits of change ``seq`` in ``recorded`` (key -> (the seq of the
    change, its value)), taken back as no view showed them: each key's earlier one
    (``replaced``) is recorded again, unless a newer change replaced it meanwhile."""
    for key, earlier in replaced.items():
        if key not in recorded or recorded[key][0] != seq:
            continue
        if earlier is None:
            del recorded[key]
        else:
            recorded[key] = earlier


def job_state(state: str, message: str | None) -> JobState:
    """A finished job's entry in ``_progress``."""
    return {"state": state, "done": 1, "total": 1, "message": message}  # type: ignore[typeddict-item]


def weakly(ref: weakref.ref, call: Callable[..., Any]) -> Callable[..., None]:
    """A callback that holds the widget weakly and does nothing once it is gone."""

    def callback(*args: Any) -> None:
        widget = ref()
        if widget is not None:
            call(widget, *args)

    return callback


# What the panel sends as counts and positions: whole numbers JavaScript holds exactly. A
# request numbered 1e300 overtook every later one for good; "abc" raised in the handler.
COUNTED = ("seq", "basis", "index")
LARGEST_COUNT = 2**53


def _whole_numbers(content: dict) -> bool:
    """Whether the message's counts and positions are whole numbers the panel can send."""
    for key in COUNTED:
        value = content.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not -LARGEST_COUNT < value < LARGEST_COUNT
        ):
            return False
    return True
