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
# isolates (the "Trojan Source" characters): a translation table costs nothing to import
_CONTROLS = [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E,
             0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPED = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _CONTROLS}
# what turns text into a link, an image, HTML or a table cell; emphasis and code spans are
# harmless on one line and are kept, so that the grader's own `code` in messages still reads
_MARKDOWN = {ord(c): "\\" + c for c in "\\<>[]|"}
_BACKTICKS = re.compile("`+")


def visible(text: str, keep_newlines: bool = True) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), never obeyed."""
    text = str(text).translate(_ESCAPED)
    if not keep_newlines:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def markdown_inline(text: str) -> str:
    """One line of Markdown that cannot become a link, an image, HTML or a new block."""
    return visible(text, keep_newlines=False).translate(_MARKDOWN)


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
