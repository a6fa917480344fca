"""A Jupyter server extension: the kernel websocket sends each message at once.

jupyter_server leaves Nagle's algorithm on for the websocket between a kernel and the
browser. A message written while the previous one is unacknowledged then waits for the
browser's delayed ACK, ~40 ms on Linux. Every live answer of the panel is such a message
(the kernel's "busy" status goes first), so a cached what-if view took ~70 ms from the
release to the screen instead of ~35 ms (bench/whatif.py). TCP_NODELAY, as jupyter_server
already sets for its terminals, sends it at once; it changes nothing else.

Installed enabled (``jupyter-config/``); ``jupyter server extension disable
optiml_widgets_server`` turns it off. A package of its own, so that the server does not
import the explainers. A jupyter_server without the handler it adjusts is left as it is.
"""

from __future__ import annotations

import functools
from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "optiml_widgets_server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Make the kernel websocket handler set TCP_NODELAY when a connection opens."""
    try:
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
    except ImportError:
        serverapp.log.info("optiml_widgets: no kernel websocket handler to adjust")
        return
    if getattr(KernelWebsocketHandler.open, "_optiml_nodelay", False):
        return  # loaded twice (a second server in the process)
    opened = KernelWebsocketHandler.open

    @functools.wraps(opened)
    async def open_without_delay(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.set_nodelay(True)
        return await opened(self, *args, **kwargs)

    open_without_delay._optiml_nodelay = True  # type: ignore[attr-defined]
    KernelWebsocketHandler.open = open_without_delay  # type: ignore[method-assign]
    serverapp.log.info("optiml_widgets: kernel websocket messages are sent without delay")
