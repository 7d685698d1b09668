"""Untrusted strings (task question, metric name, tensor name, URLs) print as literal text."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from decentralml.cli.output import Output
from decentralml.errors import NodeUnreachableError, UsageError
from decentralml.untrusted import UntrustedTable, markup_safe, printable, redact_url

HOSTILE = ["[/x]", "[bold red]boom[/]", "\x1b[2J\x1b]0;title\x07", "a\u202eb", "[link=http://evil]x[/link]", "\r\n\x00"]


def _render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("text", HOSTILE)
def test_table_cells_and_titles_print_literally(text: str) -> None:
    table = UntrustedTable(title=text)
    table.add_column("question")
    table.add_row(text)
    rendered = _render(table)
    assert "\x1b" not in rendered and "\x07" not in rendered and "\u202e" not in rendered
    if text.startswith("["):
        assert text in rendered  # markup shown as typed, not interpreted


def test_messages_and_data_strings_print_literally() -> None:
    err, out = io.StringIO(), io.StringIO()
    output = Output(out=Console(file=out, color_system=None, width=200), err=Console(file=err, color_system=None, width=200))
    output.message("metric [/x] \x1b[31mred")
    output.data({}, "tensor [bold]w[/bold] \x1b]0;x\x07")
    assert "[/x]" in err.getvalue() and "\\x1b[31mred" in err.getvalue()
    assert "[bold]w[/bold]" in out.getvalue() and "\x07" not in out.getvalue()


def test_errors_escape_controls_and_redact_url_credentials() -> None:
    error = NodeUnreachableError("No node answers at ws://user:hunter2@node.example:9944 \x1b[2J", hint="Check [/x].")
    assert "hunter2" not in error.one_line() and "ws://***@node.example:9944" in error.one_line()
    assert "\x1b" not in error.message
    error.hint = "again wss://a:b@h"
    assert "a:b" not in error.hint
    assert redact_url("s3://key:secret@bucket/x") == "s3://***@bucket/x"
    assert printable("tab\tline\n", keep_newlines=True) == "tab\tline\n"
    assert markup_safe("[/x]") == "\\[/x]"
    assert UsageError("x").exit_code == 2


def test_tensor_name_in_a_validation_error_prints_literally(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from decentralml.errors import TrainingError
    from decentralml.fl.weights import check_spec, read_spec, save_weights, spec_of

    name = "[/x]\x1b[2J\x1b]0;t\x07"
    path = tmp_path / "w.safetensors"
    save_weights(path, {name: np.zeros(3, dtype=np.float32)})
    with pytest.raises(TrainingError, match="does not match the base model") as caught:
        check_spec(read_spec(path), spec_of({"w": np.zeros(3, dtype=np.float32)}))
    table = UntrustedTable()
    table.add_column("Why")
    table.add_row(caught.value.message)
    rendered = _render(table)
    assert "[/x]" in rendered and "\x1b" not in rendered and "\x07" not in rendered


def test_every_format_and_separator_character_is_escaped() -> None:
    import sys
    import unicodedata

    hidden = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zl", "Zp"}]
    for char in hidden:
        shown = printable(char)
        assert shown != char and shown.isascii(), f"U+{ord(char):04X} ({unicodedata.name(char, '?')}) printed raw"
    assert printable("zero\u200bwidth\u2060joiner\ufefftag\U000e0041") == "zero\\u200bwidth\\u2060joiner\\ufefftag\\ue0041"
    assert printable("keep\u00e9\u4e2d\U0001f600") == "keep\u00e9\u4e2d\U0001f600"


@pytest.mark.parametrize("text", ["line1\nFAKE ROW \u2502 99 \u2502 1000000 UNIT\ttab", "a\r\nb", "x\u2028y\u2029z", "\n", "\t"])
def test_a_cell_cannot_draw_rows_of_its_own(text: str) -> None:
    table = UntrustedTable(box=None, show_header=False)
    table.add_column("id")
    table.add_column("question")
    table.add_row("7", text)
    table.add_row("8", "plain")
    rendered = _render(table).rstrip("\n").split("\n")
    assert len(rendered) == 2 and rendered[0].split()[0] == "7" and "FAKE ROW" not in rendered[1]
    assert "\t" not in _render(table)


def test_multi_line_cells_built_from_lines_escape_each_line() -> None:
    from decentralml.untrusted import lines

    table = UntrustedTable(box=None, show_header=False)
    table.add_column("files")
    table.add_row(lines(["model.py  1 KiB", "evil\nname.py  2 KiB", "\x1b[2J"]))
    rendered = _render(table).rstrip("\n").split("\n")
    assert [line.strip() for line in rendered] == ["model.py  1 KiB", "evil\\x0aname.py  2 KiB", "\\x1b[2J"]


class _RowByRow(UntrustedTable):
    """The same table drawn the way rich draws any table: one row at a time."""

    def __rich_console__(self, console: Console, options: Any) -> Any:
        yield from Table.__rich_console__(self, console, options)


CONSOLES = [
    {"width": 160},
    {"width": 30},
    {"width": 12},
    {"width": 100, "force_terminal": True, "color_system": "truecolor"},
    {"width": 40, "force_terminal": True, "color_system": "256"},
]
cell_text = st.text(
    alphabet=st.sampled_from(list("ab Z09-#…:/") + ["\u4e2d", "\U0001f600", "\u0301", "\t", "\n", "\u2028", "\x1b", "[", "/", "]"]),
    max_size=24,
)
header_text = st.text(alphabet=st.sampled_from(list("ab Z09…") + ["\u4e2d"]), max_size=12)  # headers are ours: no markup


def _table(cls: type[UntrustedTable], title: str | None, headers: list[tuple[str, str]], rows: list[list[str]], **kwargs: Any) -> UntrustedTable:
    table = cls(title=title, **kwargs)
    for header, justify in headers:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    return table


def _draw(table: UntrustedTable, console_kwargs: dict[str, Any]) -> str:
    out = io.StringIO()
    Console(file=out, **console_kwargs).print(table)
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_table_drawn_column_by_column_is_the_table_drawn_row_by_row(data: st.DataObject) -> None:
    """Any cells (wide, combining, tabs, newlines, long words), justifications, consoles narrow or wide, plain or
    coloured: the output is rich's own row-by-row output, byte for byte."""
    ncols = data.draw(st.integers(1, 5))
    headers = [(data.draw(header_text), data.draw(st.sampled_from(["left", "right", "center", "full"]))) for _ in range(ncols)]
    rows = data.draw(st.lists(st.lists(cell_text, min_size=ncols, max_size=ncols), max_size=12))
    title = data.draw(st.none() | cell_text)
    show_lines = data.draw(st.booleans())
    for console_kwargs in CONSOLES:
        fast = _draw(_table(UntrustedTable, title, headers, rows, show_lines=show_lines), console_kwargs)
        assert fast == _draw(_table(_RowByRow, title, headers, rows, show_lines=show_lines), console_kwargs), console_kwargs


def test_a_listing_that_fits_is_drawn_column_by_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken for a listing's table when it fits (so the property above is not vacuous), not otherwise."""
    rows = [[str(i), "5E9pxYhh9qoer…", "PendingValidation", f"ipfs://bench/result/{i}"] for i in range(100)]
    headers = [("ID", "right"), ("Worker", "left"), ("Status", "left"), ("Result", "left")]
    drawn_rows: list[int] = []
    draw_table = Table.__rich_console__

    def spy(self: Table, console: Console, options: Any) -> Any:
        drawn_rows.append(len(self.rows))
        yield from draw_table(self, console, options)

    monkeypatch.setattr(Table, "__rich_console__", spy)
    for width, rows_drawn in ((160, 1), (40, 100)):
        drawn_rows.clear()
        fast = _draw(_table(UntrustedTable, "Results of task 0", headers, rows), {"width": width})
        assert drawn_rows == [rows_drawn]
        assert fast == _draw(_table(_RowByRow, "Results of task 0", headers, rows), {"width": width})
    assert "│ Pending… │" in fast  # at 40 columns the cells are cut, as rich cuts them row by row
