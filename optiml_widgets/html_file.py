"""What both exports share about their file: ``to_html``'s arguments checked before the
export's work (which takes seconds), so a typo costs no waiting and gets an error that says
what to pass; and the page's light and dark colours."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# An export page's colours: the panel reads JupyterLab's theme variables, set here for a
# reader whose system is dark (success, warning and error lighter than a light theme's,
# whose green read at 3.7:1 on the dark page).
PAGE_SCHEME = """:root { color-scheme: light dark; }
body { margin: 16px; background: #ffffff; }
@media (prefers-color-scheme: dark) {
  body { background: #111111; }
  .optiml-widget {
    --jp-ui-font-color1: rgba(255,255,255,0.87); --jp-ui-font-color2: rgba(255,255,255,0.6);
    --jp-layout-color1: #111111; --jp-layout-color2: #2a2a2a; --jp-border-color2: #3a3a3a;
    --jp-success-color1: #66bb6a; --jp-warn-color1: #ffb74d; --jp-error-color1: #ef5350;
  }
}"""


def export_path(path: Any) -> Path | None:
    """``path`` as a file path to write (``~`` expanded), or None for no file; a clear
    error for anything else, a folder, or a folder that does not exist."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a file name (a str or pathlib.Path), not {type(path).__name__}: "
            'e.g. w.to_html("panel.html"), or w.to_html() for the HTML as a string.'
        )
    target = Path(path).expanduser()
    try:
        return _writable(target)
    except OSError as exc:  # a name too long, a folder one cannot write to, /proc
        raise ValueError(
            f"Cannot write path {str(target)!r}: {exc.strerror or exc}. Write to a file in a "
            'folder you can write to, e.g. w.to_html("panel.html").'
        ) from None


def _writable(target: Path) -> Path:
    """``target`` once it is known to be a file that can be written: a clear error for a
    folder or a missing folder; an OSError where the system refuses it."""
    if target.is_dir():
        raise ValueError(
            f"path {str(target)!r} is a folder: name the file to write, e.g. "
            f"{str(target / 'panel.html')!r}."
        )
    if not target.parent.is_dir():
        raise ValueError(
            f"The folder of path {str(target)!r} does not exist: create it first "
            f"(e.g. Path({str(target.parent)!r}).mkdir(parents=True)) or write elsewhere."
        )
    # Opened once now, so that a path that cannot be written fails before the export's
    # work rather than after it (where a link points: the link itself stays).
    probe = target.resolve()
    existed = probe.exists()
    with open(probe, "ab"):
        pass
    if not existed:
        probe.unlink(missing_ok=True)
    return target


def check_include_data(include_data: Any) -> bool:
    """``include_data`` as a bool; a TypeError for anything else ("no" is a true string:
    taken as is, it would put every raw value in a file meant to leave them out)."""
    if not isinstance(include_data, bool):
        raise TypeError(
            f"include_data must be True or False, not {include_data!r}: "
            "include_data=False leaves the rows' raw values out of the file."
        )
    return include_data
