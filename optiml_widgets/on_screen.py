"""Whether anybody sees a panel: its background work stops when its last view is gone and
starts again when a view comes back.

Running ``w = explain_widget(model, X)`` again makes a new panel, and the old one stays in
ipywidgets' registry (it is never collected): without this, its surrogate fit and global
SHAP ran to their end beside the new panel's, on the same cores. Each view the frontend
renders says so (``{"type": "view", "id": …, "shown": true}``) and says goodbye when it is
removed. A panel never shown (a script, ``w.to_html()``) is never stopped; after a page
reload the old views never say goodbye, so the panel goes on working, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .jobs import Jobs

# How long a panel may have no view before its work stops: a view removed and rendered
# again (an output moved, a notebook re-rendered) keeps the work it had under way.
UNSEEN_SECONDS = 1.0
# The export button's state when its export was stopped with the panel's other work.
EXPORT_STOPPED = "stopped when the panel left the screen: export again"


class OnScreen:
    """A panel's views on screen."""

    def __init__(self, jobs: Jobs, resume: Callable[[list[str]], None]) -> None:
        self._jobs = jobs
        self._resume = resume  # called with the names of the jobs stopped meanwhile
        self._lock = threading.Lock()
        self._views: set[str] = set()
        self._stopped: list[str] | None = None  # while nobody sees the panel
        self._changes = 0  # a stop timed for an older change does nothing

    def update(self, message: Any) -> None:
        """A view's message: ``{"id": …, "shown": bool}``."""
        view, shown = str(message.get("id")), bool(message.get("shown"))
        with self._lock:
            self._changes += 1
            if not shown:
                self._views.discard(view)
                if not self._views and self._stopped is None:
                    timer = threading.Timer(UNSEEN_SECONDS, self._stop_if_unseen, [self._changes])
                    timer.daemon = True
                    timer.start()
                return
            self._views.add(view)
            stopped, self._stopped = self._stopped, None
        if stopped is not None:
            self._resume(stopped)

    def _stop_if_unseen(self, change: int) -> None:
        with self._lock:
            if change != self._changes or self._views or self._stopped is not None:
                return
            # Unfinished jobs stop and are forgotten: whoever asks for one later (a view
            # back on screen, ``w.surrogate``) starts it afresh.
            self._stopped = self._jobs.stop_unfinished()
