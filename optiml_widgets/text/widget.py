"""TextWidget: the text panel over a TextSession (panel_widget.py holds what it shares with
the table's panel, the frontend bundle too).

The frontend sends the whole wanted state (text number, class, edited text) with a sequence
number; live.py answers the newest one and drops those it overtook. Every answer starts with
what is known at once (the model's probabilities of the edited text and whatever is cached),
then fills in: while typing, Integrated Gradients with few steps; after a pause, IG until its
completeness gap is within tolerance, then SHAP and LIME (they stream). Each fill-in carries
the same sequence number, and the frontend never lets an older answer replace a newer one.
One head's attention map travels on request as a binary message.
"""

from __future__ import annotations

import html
import traceback
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import traitlets

from ..html_file import check_include_data, export_path
from ..jobs import Cancelled, Stop, check_open, stopping_with, while_open
from ..live import error_text
from ..panel_widget import MakePage, PanelWidget, in_turn, job_state, unrecord
from ..warn import warn_caller
from . import payloads
from .explanation import TextExplanation
from .session import SURROGATE, TextSession
from .surrogate import TextSurrogate
from .tokens import TokenEdit

EXPORT_FILENAME = "optiml_widgets_text_export.html"


class TextWidget(PanelWidget):
    """A live panel explaining a text classifier: token attributions side by side, attention,
    a rule-list surrogate, and a text to edit."""

    _session: TextSession
    EXPORT_FILENAME = EXPORT_FILENAME

    def __init__(self, session: TextSession, **kwargs: Any) -> None:
        # The text, its number and the class the work completing a view is for, with its
        # stop (``_work_stop``).
        self._completing: tuple[tuple[int, str, int], Stop] | None = None
        # The texts whose edit Python changed since the panel's last up-to-date request:
        # text number -> (the seq of the change, its text; None: the original). A panel
        # request built on an older view than a change keeps that change (as
        # ExplainerWidget does).
        self._python_texts: dict[int, tuple[int, str | None]] = {}

        def opening() -> tuple[dict, dict[str, Any]]:
            first = session.view(0, complete=False, wait=False)
            return dict(first), {"_schema": schema(session)}

        super().__init__(session, opening, **kwargs)

    # -- the public API -------------------------------------------------------------------
    @property
    def session(self) -> TextSession:
        """The underlying TextSession (texts, model adapter, explainers)."""
        return self._session

    @property
    def text(self) -> str:
        """The current text, with its edit."""
        return self._session.text()

    @property
    def explanation(self) -> TextExplanation:
        """Every method's exact attributions of the current text for ``target`` (waits for
        the streamed ones and the surrogate)."""
        with while_open(self._stop):
            return self._session.local_explanation()

    @property
    def surrogate(self) -> TextSurrogate | None:
        """The rule-list surrogate (waits for its fit, with progress)."""
        with while_open(self._stop):
            return self._session.surrogate

    def attention(self, layer: int, head: int) -> np.ndarray | None:
        """One head's attention map (tokens x tokens) of the current text; ``layer=-1`` the
        rollout. None for models without attention."""
        with while_open(self._stop):
            return self._session.head(layer, head)

    def set_text(self, text: str) -> None:
        """Edit the current text (every view updates). A text the model rejects is not
        kept: its message is in ``w.error`` (and a warning), and the last good view stays."""
        with while_open(self._stop), self._state:
            text = self._session.check_text(text)
        self._edit_text(lambda: text)

    def edit_token(self, i: int, action: TokenEdit = "mask", replacement: str = "") -> None:
        """Mask, delete or replace token ``i`` of the current text."""
        self._edit_text(lambda: self._session.edited_token_text(i, action, replacement))

    def reset(self) -> None:
        """Back to the original text."""
        self._edit_text(lambda: None)

    def to_html(
        self,
        path: str | Path | None = None,
        rows: Sequence[int] | None = None,
        include_data: bool = True,
    ) -> str:
        """A standalone HTML page of this panel that opens offline with no kernel: the
        current text and up to 19 more (``rows=`` picks others), with every method's
        attributions, the attention grid and head maps, the rules, and the model's output
        for each one-token mask or deletion. Other edits say they are not in the file.
        The texts are the page: ``include_data=False`` is refused."""
        target = export_path(path)
        if not check_include_data(include_data):
            raise ValueError(
                "include_data=False leaves a table's values out, but a text panel's tokens are "
                "its data: a page without them would explain nothing. Export with the texts, "
                "or pick the texts to share with rows=[...]."
            )
        from .export import to_html

        with while_open(self._stop):
            return to_html(self._session, target, rows=rows)

    def _static_picture(self) -> str:
        return static_picture(self._view, self._schema)

    # -- traits set from Python ---------------------------------------------------------
    @traitlets.validate("target")
    def _valid_target(self, proposal: dict) -> Any:
        check_open(self._stop)
        return self._session.adapter.classes[self._session.check_target(proposal["value"])]

    @traitlets.observe("index", "target")
    def _on_state_trait(self, change: dict) -> None:
        self._select_changed(change)

    # -- the live loop ----------------------------------------------------------------------
    def _edit_text(self, edited: Callable[[], str | None]) -> None:
        """The current text becomes ``edited()`` (None: its original), and its view follows.
        When no view shows it (the model rejected it, or it was stopped), the edit is taken
        back: ``w.text``, ``w.explanation`` and an export keep agreeing with the last good
        view."""
        session = self._session
        with while_open(self._stop), self._state:
            text = edited()
            index, before = session.index, session.edits.get(session.index)
            self._set_edit(index, text)
            after = session.edits.get(index)
            # Numbered with the edit (one lock): a panel request that comes between is
            # either older than this change or has seen it.
            change = self._python_change()
            replaced = {index: self._python_texts.get(index)}
            self._python_texts[index] = (change[1], after)
        shown = False
        try:
            shown = self._refresh(change)
        finally:
            if not shown:
                self._take_back(index, after, before)
                with self._state:  # the text's earlier Python edit counts again
                    unrecord(self._python_texts, change[1], replaced)

    def _take_back(self, index: int, after: str | None, before: str | None) -> None:
        """Text ``index``'s edit back to ``before`` after no view showed ``after``, unless a
        newer change replaced it meanwhile."""
        edits = self._session.edits
        with self._state:
            if edits.get(index) != after:
                return
            if before is None:
                edits.pop(index, None)
            else:
                edits[index] = before

    def _set_edit(self, index: int, text: str | None) -> None:
        """Text ``index`` becomes ``text`` (None: its original)."""
        if text is None or text == self._session.texts[index]:
            self._session.edits.pop(index, None)
        else:
            self._session.edits[index] = text

    def _message_handlers(self) -> dict[str, Callable[[dict], None]]:
        return {**super()._message_handlers(), "head": self._send_head}

    def _refresh(self, change: tuple[int, int] | None = None) -> bool:
        """Show the current view after a change made from Python (``change``: its
        ``_python_change``, by default a new one); whether a view shows it."""
        with self._state:
            previous, seq = self._python_change() if change is None else change
        try:
            self._loop.answer_now({"type": "python", "seq": seq})
        finally:
            with self._state:
                shown = self._view.get("seq", -1) >= seq
                if not shown and self._python_seq == seq:
                    # No view shows the change (the model failed on it, or it was stopped):
                    # the panel's next request, built on the last good view, wins.
                    self._python_seq = previous
        return shown

    def _answer(self, request: dict) -> Callable[[], None] | None:
        """Apply a request, publish what is known at once; returns the rest to fill in."""
        seq = int(request.get("seq", 0))
        session = self._session
        from_python = request.get("type") == "python"
        fast = bool(request.get("fast"))
        take_back: Callable[[], None] | None = None  # the panel's edit and text, when rejected
        asked = seq  # the request's own number (the panel's "failed" names it)
        with self._state:
            if not from_python:
                if seq < self._request_seq:
                    return None
                self._request_seq = seq
                newest = self._seq  # the newest seq a view was given so far
                self._seq = max(self._seq, seq)
                try:
                    index = session.check_index(int(request.get("index", session.index)))
                    target_index = session.check_target(request.get("target", session.target))
                    edits = request.get("edits")
                    text = None
                    if edits is not None:  # the panel's text travels as edit [0, text]
                        text = session.check_text(_edited_text(edits, session.texts[index]))
                except (KeyError, ValueError, TypeError) as exc:
                    self._failed_seq = seq
                    self.error = error_text(exc)
                    self.send({"type": "failed", "seq": seq})  # see ExplainerWidget._failed
                    return None
                basis = request.get("basis")  # the seq of the view the panel showed
                before = session.edits.get(index)
                applied = basis is None or int(basis) >= self._python_seq
                python_edit = self._python_texts.get(index)  # (its seq, its text) or None
                undo = []  # what a view the model fails on takes back
                if applied:
                    self._python_texts.clear()  # the panel has seen them
                    if text is not None:
                        self._set_edit(index, text)
                    undo.append(self._select(index=index, target_index=target_index))
                elif (
                    basis is not None
                    and text is not None
                    and (python_edit is None or python_edit[0] <= int(basis))
                ):
                    # Built before the panel saw a change made from Python: that change is
                    # newer and stays (text number, class, and a text Python edited after
                    # the view the request was built on); the request's edit goes to its
                    # own text (typed on a Python edit the panel showed, it is newer).
                    self._set_edit(index, text)
                    applied = True
                if text is not None:  # a rejected edit does not stay
                    undo.append(partial(self._take_back, index, session.edits.get(index), before))
                take_back = in_turn(undo)
                if applied:
                    seq = self._after_every_view(seq, newest)
            self._work_stop()  # work for another text or class ends at its next model call
        if not self._publish(
            seq, warn=from_python, failed=take_back, asked=asked, fast=fast, cached_only=True
        ):
            return None
        return self._completion(seq, fast=fast)

    def _publish(
        self,
        seq: int,
        *,
        warn: bool = False,
        failed: Callable[[], None] | None = None,
        asked: int | None = None,
        **view_args: Any,
    ) -> bool:
        """Compute and show the current view; on failure keep the last good one (``failed``
        takes the request's edit back) and say why (to the panel's request ``asked``, when
        it numbered it otherwise)."""
        session = self._session
        try:
            view = session.view(seq, wait=False, complete=False, **view_args)
        except Cancelled:
            return False
        except Exception as exc:
            if failed is not None:
                failed()
            self._failed_seq = max(self._failed_seq, seq)
            self.error = error_text(exc)
            self.send({"type": "failed", "seq": seq if asked is None else asked})
            if warn:
                warn_caller(f"optiml_widgets: {self.error}")
            traceback.clear_frames(exc.__traceback__)
            return False
        with self._state:
            if seq < self._view.get("seq", -1):
                return False
            self.recomputations += 1
            with self._publishing(), self.hold_sync():
                self.index = session.index
                self.target = session.target
                if seq >= self._failed_seq:
                    self.error = None
                self._view = dict(view)
        return True

    def _completion(self, seq: int, *, fast: bool = False) -> Callable[[], None]:
        """What follows the first answer to request ``seq``: the fast attributions while
        typing; else the exact ones, then the streamed methods."""
        me = weakref.ref(self)
        stop = self._work_stop()

        def complete() -> None:
            w = me()
            if w is None or w._view.get("seq") != seq:
                return
            with stopping_with(stop):
                if fast:
                    w._publish(seq, fast=True)
                    return
                if not w._publish(seq, fast=False):
                    return
                if w._view.get("pending"):
                    w._session_complete(seq)

        return complete

    def _work_stop(self) -> Stop:
        """The stop of the work that completes the view of the current text and class. Once
        the text, its number or the class changes, the next call sets it and makes a new
        one: the work for what nobody looks at any more (SHAP of a long text, say) ends at
        its next model call, and the newest request has the model at once. Work for the
        same text and class goes on (the newer view waits for its results, not a restart)."""
        session = self._session
        with self._state:
            key = (session.index, session.text(), session.target_index)
            found = self._completing
            if found is not None and found[0] == key and not found[1].is_set:
                return found[1]
            if found is not None:
                found[1].set()
            stop = Stop(parent=self._stop)
            self._completing = (key, stop)
            return stop

    def _session_complete(self, seq: int) -> None:
        session = self._session
        try:
            view = session.view(seq, wait=False, complete=True)
        except Cancelled:
            return
        except Exception as exc:
            self.error = error_text(exc)
            return
        with self._state:
            if seq != self._view.get("seq"):
                return
            self.recomputations += 1
            self._view = dict(view)

    def _send_head(self, content: dict) -> None:
        """One head's map of the text a view shows, as bytes (layer -1: the rollout)."""
        session = self._session
        seq = int(content.get("seq", 0))
        layer, head = int(content.get("layer", 0)), int(content.get("head", 0))
        try:
            index = session.check_index(int(content.get("index", session.index)))
            text = content.get("text")
            text = session.text(index) if text is None else session.check_text(text)
            weights = session.head(layer, head, index, text)
            reply, data = payloads.head_reply(seq, layer, head, weights)
        except Exception as exc:
            reply, data = payloads.head_reply(seq, layer, head, None)
            reply["error"] = error_text(exc)
        self.send(dict(reply), buffers=[data] if data else [])

    # -- background jobs -----------------------------------------------------------------
    def _surrogate_done(self, job: Future) -> None:
        if self._surrogate_failed(job):
            return
        with self.hold_sync():
            self._surrogate = dict(payloads.surrogate_info(job.result()))
            self._progress = {**self._progress, SURROGATE: job_state("ready", None)}
        seq = self._view.get("seq", 0)
        stop = self._work_stop()

        def complete() -> None:
            with stopping_with(stop):
                self._session_complete(seq)

        self._loop.follow_up(complete)

    def _page_maker(self) -> MakePage:
        from .export import to_html

        session = self._session
        return lambda stop, progress: to_html(session, stop=stop, progress=progress).encode()


def schema(session: TextSession) -> payloads.TextSchema:
    """Set once: classes, texts' labels, the explainers and what the model offers."""
    from ..payloads import explainer_info

    adapter = session.adapter
    return {
        "kind": "text",
        "task": adapter.task,
        "classes": adapter.output_names,
        "targets": adapter.output_names,
        "n_texts": session.n_texts,
        "labels": [payloads.label_of(t) for t in session.texts],
        "has_y": session.y is not None,
        "explainers": [explainer_info(e) for e in session.local_explainers()],
        "surrogate": session.surrogate_enabled,
        "attention": session.attention_enabled,
        "mask_token": str(adapter.mask_token),
        "model": adapter.description,
    }


def static_picture(view: dict, schema: dict) -> str:
    """A script-free picture of the text panel (tokens coloured by the first method) for
    places where widgets cannot run (GitHub, nbconvert)."""
    esc = html.escape
    attributions = view.get("attributions") or []
    first = next((a for a in attributions if a is not None), None)
    values = first["values"] if first else [0.0] * len(view["tokens"]["strings"])
    biggest = max((abs(v) for v in values), default=0.0) or 1.0
    parts = [
        '<div class="optiml-static" style="font-family:system-ui,sans-serif;font-size:13px;'
        'max-width:900px">',
        f"<p><b>P({esc(str(view['target']))}) = {view['prediction']:.3f}</b> · "
        f"{esc(str(first['algorithm'])) if first else 'no attributions'} · "
        "<i>static picture: run the notebook for the live panel</i></p><p>",
    ]
    for token, special, value in zip(view["tokens"]["strings"], view["tokens"]["special"], values):
        if special:
            continue
        share = min(abs(value) / biggest, 1.0)
        colour = f"rgba(229,72,77,{share:.2f})" if value > 0 else f"rgba(62,123,250,{share:.2f})"
        parts.append(
            f'<span style="background:{colour};padding:1px 3px;margin:1px;border-radius:3px" '
            f'title="{value:+.4f}">{esc(token)}</span> '
        )
    parts.append("</p></div>")
    return "".join(parts)


def _edited_text(edits: Any, original: str) -> str:
    """The text a request carries as ``[[0, text]]``."""
    if not isinstance(edits, list) or len(edits) > 1:
        raise ValueError("A text edit travels as [[0, text]].")
    if not edits:
        return original
    pair = edits[0]
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] != 0:
        raise ValueError(f"A text edit must be [0, text], not {pair!r}.")
    if not isinstance(pair[1], str):
        raise TypeError(f"The edited text must be a string, not {type(pair[1]).__name__}.")
    return pair[1]
