"""Inputs: every string from outside (the page, the HTTP API, the CLI) is cleaned here, once.

``sanitise`` drops what cannot be shown or encoded — lone UTF-16 surrogates (``"\\ud800"``, which
cannot be written as UTF-8 and would cut the answer stream), NUL and other control characters
except newline and tab — and optionally cuts the text to ``limit`` characters.  ``for_log`` gives
a short, safe form of any input for log lines, so one huge request cannot fill the log.
"""

from __future__ import annotations

import unicodedata


def sanitise(text, limit: int | None = None) -> str:
    """``text`` as clean printable Unicode (None → ""); cut to ``limit`` characters when given."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    out = "".join(ch for ch in text if ch in "\n\t" or (unicodedata.category(ch) not in ("Cs", "Cc")))
    return out[:limit] if limit is not None else out


def for_log(text, limit: int = 200) -> str:
    """A log-safe excerpt: sanitised, cut to ``limit`` characters with the full length noted."""
    s = sanitise(text)
    return s if len(s) <= limit else f"{s[:limit]}…(+{len(s) - limit} chars)"
