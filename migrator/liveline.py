"""One status line on a terminal, redrawn in place and erased before real output.

Drawn with a carriage return, cut to the terminal's width so that it never
wraps (a wrapped line cannot be redrawn), and erased with ``ESC [ K``, or
with spaces where ``TERM=dumb`` says the terminal knows no escapes.
"""

from __future__ import annotations

import os
from typing import TextIO


class LiveLine:
    __slots__ = ("_dumb", "_shown", "stream")

    def __init__(self, stream: TextIO, *, dumb: bool) -> None:
        self.stream = stream
        self._dumb = dumb  # TERM=dumb: no escape sequences
        self._shown = 0  # characters on the line now; 0: nothing drawn

    @property
    def shown(self) -> bool:
        return self._shown > 0

    def draw(self, text: str) -> None:
        text = text[: self._width() - 1]
        if self._dumb:
            pad = " " * max(0, self._shown - len(text))
            self.stream.write(f"\r{text}{pad}")
        else:
            self.stream.write(f"\r{text}\033[K")
        self.stream.flush()
        self._shown = max(len(text), 1)

    def clear(self) -> None:
        if not self._shown:
            return
        if self._dumb:
            self.stream.write("\r" + " " * self._shown + "\r")
        else:
            self.stream.write("\r\033[K")
        self.stream.flush()
        self._shown = 0

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (OSError, ValueError, AttributeError):
            return 80

