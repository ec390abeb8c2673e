"""Text that came from a student (printed output, exception messages, code lines, file and
folder names), made safe for where it is shown: a terminal, Markdown, CSV.

A terminal obeys escape sequences (ESC [ 2 J clears it, OSC sets its title) and Unicode
direction overrides reorder what is shown; Markdown turns a line of triple backticks into the
end of a code block and `![](...)` into an image; a spreadsheet runs a cell that starts with
`=`. None of that may come from a submission.
"""

from __future__ import annotations

import re

# C0 controls (but tab and newline), DEL, C1 controls, and the bidirectional overrides and
# isolates (the "Trojan Source" characters)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# what turns text into a link, an image, HTML or a table cell; emphasis and code spans are
# harmless on one line and are kept, so that the grader's own `code` in messages still reads
_MARKDOWN = re.compile(r"([\\<>\[\]|])")
_BACKTICKS = re.compile("`+")


def visible(text: str, keep_newlines: bool = True) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), never obeyed."""
    text = _CONTROL.sub(lambda m: _escape(m.group()), str(text))
    if not keep_newlines:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def markdown_inline(text: str) -> str:
    """One line of Markdown that cannot become a link, an image, HTML or a new block."""
    return _MARKDOWN.sub(r"\\\1", visible(text, keep_newlines=False))


def markdown_code(text: str) -> str:
    """`text` as inline code: a backtick run longer than any inside it (CommonMark)."""
    text = visible(text, keep_newlines=False)
    ticks = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def markdown_block(text: str, info: str = "text") -> list[str]:
    """`text` as a fenced code block whose fence is longer than any backtick run inside
    (CommonMark: a block closes only at a fence at least as long as its opening one)."""
    text = visible(text)
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    return [f"{fence}{info}", *text.split("\n"), fence]


def csv_cell(text: str) -> str:
    """A spreadsheet cell that shows `text` and never runs it as a formula (OWASP: CSV
    injection)."""
    text = visible(text, keep_newlines=False)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
