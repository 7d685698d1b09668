"""Untrusted text (from the chain, a bundle, a result or a task's output) made safe to show.

:func:`printable` replaces every control character (C0, DEL, C1, and Unicode's
format characters and line separators: the bidirectional overrides that reorder what a
reader sees, zero-width spaces and joiners, U+2028/U+2029) by its visible escape,
so an ``ESC [ 2 J`` in a task question prints as ``\\x1b[2J`` instead of clearing
the viewer's screen. :func:`markup_safe` also escapes rich markup, so ``[/x]``
or ``[link=...]`` prints as typed. :func:`redact_url` hides the password (and
user name) of a URL, and :func:`redact_urls` does so for every URL in a text.
:class:`UntrustedTable` is the rich table every command prints: its string
cells and title go through :func:`printable` and are never parsed as markup.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

# Unicode's format characters (general category Cf: bidirectional overrides and isolates,
# zero-width space, joiners and word joiner, invisible operators, tag characters...) and the
# line and paragraph separators (Zl, Zp), as of Unicode 15.1; tests/cli/test_untrusted.py
# checks the list against the running Python's unicodedata.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f" + _FORMAT + "]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _FORMAT + "]")
_URL_WITH_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/\s@]+)@")
REDACTED = "***"


#: The longest user or untrusted string an error message quotes in full (characters).
CLIP_LENGTH = 200


def clip(text: object, limit: int = CLIP_LENGTH) -> str:
    """``text`` as a string of at most ``limit`` characters: a longer one keeps its start and its end
    around an ellipsis, with the number of characters left out (``abc…[99800 more]…xyz``)."""
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 20, 2)
    head, tail = keep * 2 // 3, keep - keep * 2 // 3
    return f"{text[:head]}…[{len(text) - head - tail} more]…{text[len(text) - tail:]}"


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` as a string with control characters shown as ``\\xNN`` / ``\\uNNNN`` escapes.

    ``keep_newlines`` keeps LF and TAB (for multi-line task output); otherwise the result is one line.
    URLs with credentials are redacted (:func:`redact_urls`).
    """
    pattern = _CONTROL_KEEP_LINES if keep_newlines else _CONTROL
    return redact_urls(pattern.sub(_escape_char, str(text)))


def markup_safe(text: object, *, keep_newlines: bool = False) -> str:
    """:func:`printable`, then rich markup escaped: for any string passed to a rich console or table."""
    return escape(printable(text, keep_newlines=keep_newlines))


def redact_url(url: str) -> str:
    """``scheme://user:pass@host/...`` -> ``scheme://***@host/...``; other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_urls(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def redact_urls(text: str) -> str:
    """Every ``scheme://userinfo@`` in ``text`` with the user info replaced by ``***``."""
    return _URL_WITH_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def safe(value: Any) -> Any:
    """A table cell or title made safe: strings become one line of plain :class:`Text` (no markup;
    controls, newlines and tabs escaped, so a string cannot draw rows of its own). A multi-line
    cell is built with :func:`lines`."""
    if isinstance(value, str):
        return Text(printable(value))
    return value


def lines(items: Iterable[object]) -> Text:
    """A multi-line table cell: each item made one printable line, joined by newlines."""
    return Text("\n".join(printable(item) for item in items))


_UNCONSTRAINED = 1 << 30


class UntrustedTable(Table):
    """A rich Table whose string title and cells are shown literally (never parsed as markup).

    Drawn as rich draws it, but in one pass per column when that gives the same output: when every
    row is one line of plain text (no styles, row styles, section lines or fixed widths) and the
    table fits the console at its natural width, nothing wraps or is cut, so each column's cells
    joined by newlines lay out line for line as the separate rows would (rich measures and justifies
    a text line by line, and a column's width is the widest line either way). Rich then renders 8
    cells instead of 8 per row. Otherwise (a narrow console, a multi-line cell) it draws row by row.
    """

    def __init__(self, *headers: Any, title: Any = None, **kwargs: Any) -> None:
        super().__init__(*headers, title=safe(title), **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(safe(r) for r in renderables), **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        joined = self._rows_joined()
        # The natural width, measured unconstrained: a table measured within the console's width reports
        # its columns clamped to what they would shrink to (and Measurement.get clamps the total).
        if joined is not None and joined.__rich_measure__(console, options.update_width(_UNCONSTRAINED)).maximum <= options.max_width:
            yield from Table.__rich_console__(joined, console, options)
        else:
            yield from super().__rich_console__(console, options)

    def _rows_joined(self) -> Table | None:
        """This table with its rows as one row of newline-joined cells, or None when that could draw differently."""
        box = self.box
        if (
            len(self.rows) < 2
            or self.show_lines
            or self.show_footer
            or self.row_styles
            or self.leading
            or self.expand
            or self.width is not None
            or self.min_width is not None
            or any(row.style is not None or row.end_section for row in self.rows)
            or (box is not None and (box.mid_left, box.mid_vertical, box.mid_right) != (box.foot_left, box.foot_vertical, box.foot_right))
        ):
            return None
        columns = []
        for column in self.columns:
            if (column.width, column.min_width, column.max_width, column.ratio) != (None, None, None, None):
                return None
            lines = []
            for cell in column.cells:
                if not (isinstance(cell, Text) and _plain_line(cell)):
                    return None
                lines.append(cell.plain)
            if not lines[-1]:  # rich drops a text's empty last line (then pads the cell): keep rows exact
                return None
            columns.append(Text("\n".join(lines)))
        joined = copy.copy(self)
        joined.columns = [column.copy() for column in self.columns]
        for column in joined.columns:
            column.no_wrap = True  # drawn only when every line fits: nothing to wrap, so skip looking for breaks
        joined.rows = []
        Table.add_row(joined, *columns)
        return joined


def _plain_line(cell: Text) -> bool:
    """Whether a cell is one line of unstyled text with default layout (its lines lay out alone)."""
    plain = cell.plain
    return (
        not cell.spans
        and not cell.style
        and cell.justify is None
        and cell.overflow is None
        and cell.no_wrap is None
        and "\t" not in plain
        and len(plain.splitlines()) <= 1
        and "\n" not in plain
    )
