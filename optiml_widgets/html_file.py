"""What both exports share about their file: ``to_html``'s arguments checked before the
export's work (which takes seconds), so a typo costs no waiting and gets an error that says
what to pass; the rows exported; the page around the panel, with its content-security policy
and its light and dark colours; data embedded in it."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

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


# The page allows no network at all: scripts and styles are inline, the panel's module and
# the chart engine are loaded from blob: URLs made in the page, images are data.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src {img_src}; connect-src data:">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def page(title: str, body: str, *, css: str = "", img_src: str = "data:") -> str:
    """An export page: ``body`` (HTML) under the page's colours and ``css``, titled
    ``title`` (text, escaped here); ``img_src``: where its images may come from."""
    style = PAGE_SCHEME + (f"\n{css}" if css else "")
    return PAGE.format(title=html.escape(title), style=style, img_src=img_src, body=body)


def script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no '</script>', no '<!--' can close or open anything."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def choose_rows(
    rows: Any,
    current: int,
    count: int,
    check_index: Callable[[int], int],
    *,
    default: int,
    maximum: int,
    unit: str,
    why: str,
) -> list[int]:
    """The exported rows (``unit``: "row" or "text"): the current one and the next ones,
    ``default`` in all, when ``rows`` is None; else ``rows``, each checked, at most
    ``maximum`` (``why``: what each one carries), in their order without repeats."""
    if rows is None:
        others = [i for i in range(count) if i != current]
        return [current, *others[: default - 1]]
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise TypeError(f"rows must be a list of {unit} numbers, not {type(rows).__name__}.")
    rows = list(rows)
    if len(rows) > maximum:
        raise ValueError(
            f"rows has {len(rows)} {unit}s; an export holds at most {maximum} ({why}). Export "
            f"a selection, e.g. rows=range({maximum})."
        )
    chosen = []
    for i in rows:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"rows must hold int {unit} numbers, not {i!r} ({type(i).__name__}).")
        chosen.append(check_index(int(i)))
    if not chosen:
        raise ValueError(f"rows is empty: pass at least one {unit} number to export.")
    return list(dict.fromkeys(chosen))


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
