"""Text bound for a terminal, with every control character made visible, never interpreted.

A hand-in's printed text, its exception messages and its file name reach the instructor's
terminal; an escape sequence among them could clear the screen and draw a fake score. Control
characters are shown in caret notation (`ESC` as `^[`), C1 controls and bidirectional overrides
as `\\x9b` and `\\u202e`; only newlines and tabs are kept.
"""
from __future__ import annotations

_CARET = {c: "^" + chr(c ^ 0x40) for c in [*range(0x20), 0x7F] if chr(c) not in "\n\t"}
_ESCAPED = {c: f"\\x{c:02x}" for c in range(0x80, 0xA0)}
_ESCAPED.update({c: f"\\u{c:04x}" for c in [0x200E, 0x200F, *range(0x202A, 0x202F),
                                             *range(0x2066, 0x206A)]})
TABLE = {**_CARET, **_ESCAPED}
LINE = {**TABLE, ord("\n"): "^J", ord("\t"): "^I"}


def visible(text: str) -> str:
    return str(text).translate(TABLE)


def one_line(text: str) -> str:
    """For a field that must stay on its line (a file name may hold a newline)."""
    return str(text).translate(LINE)
