"""What the conversation already said: the sentences the last answers cited (``said_spans`` of
``qa.conversation.earlier_answers``), and when a follow-up should not get one of them again
(``Said``).  Sentence choice (``qa.sentences``) reads it; the orchestrator (``qa.answer``) builds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .question import Question

_CITED = re.compile(r"([^\[\]]+?)\[\d+\]")  # a cited span of an answer's text, up to its [n]


@dataclass(frozen=True)
class Said:
    """What the conversation's last answers cited (``said_spans`` of ``conversation.earlier_answers``),
    for a follow-up (``follow_up``: the follow-up read alone).  A sentence they cited is not given
    again when it lacks what the follow-up asks — the asked detail, or as much of the follow-up's own
    words as another candidate holds: 晚上能在那睡觉吗 after the list of the drivers' home's facilities
    gets the night rest room; 去了几个人啊 after an answer naming 四名劳模工匠, or 那查出来亚健康的人咋办
    after one that told of the 27 亚健康 workers' treatment, get the same sentence again, because none
    holds the answer better."""

    spans: tuple[str, ...]
    follow_up: Question

    def said(self, text: str) -> bool:
        return any(p in text for p in self.spans)

    def _said_without_its_words(self, text: str, words: set) -> bool:
        """A sentence (its text and words) was cited before and holds none of the follow-up's own words."""
        return self.said(text) and not any(t in words for t in self.follow_up.tokens)

    def says_nothing_new(self, text: str, words: set) -> bool:
        """A sentence (its text and words) was cited before and holds nothing the follow-up asks: none
        of its own words, nor the detail it asks."""
        f = self.follow_up
        return self._said_without_its_words(text, words) and not (f.asks_detail and f.details_held(text))

    def stale(self, sentences: list[tuple[str, set]]) -> list[bool]:
        """For (text, words) of each candidate sentence: said before and lacking what is asked."""
        f = self.follow_up
        said = [self._said_without_its_words(text, words) for text, words in sentences]
        if not any(said):  # (one that holds a word of the follow-up itself is what it asks about again)
            return said
        if f.asks_detail:
            return [self.says_nothing_new(text, words) for text, words in sentences]
        if not f.tokens:  # 好抢不: no word of its own, so what was said says nothing more
            return said
        cover = [f.coverage(words) for _, words in sentences]
        best_new = max((c for c, (text, _) in zip(cover, sentences) if not self.said(text)), default=0.0)
        return [s and c < best_new for s, c in zip(said, cover)]


def said_spans(answer_text: str) -> tuple[str, ...]:
    """The cited spans of an earlier answer (what stands before each [n], less the place or heading
    before a ：), as pieces long enough to know a sentence by (its last 12 characters)."""
    out = []
    for m in _CITED.finditer(answer_text or ""):
        span = re.split(r"[：\n]", m.group(1))[-1].strip(" …")
        if len(span) >= 8:
            out.append(span[-12:])
    return tuple(out)
