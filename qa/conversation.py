"""Conversation: a short follow-up ("那江都呢?", "具体有哪些设施?") resolved into a standalone question
from the earlier turns, by rule (the LLM mode may rewrite it instead, see ``qa.llm``).

``condense`` rewrites what looks like a follow-up.  ``with_subject`` offers the rewrite for a question
that does not look like one but names no subject of its own (几点开门？晚上能去吗 after a question about
truck drivers' rest stops): the answerer tries both and keeps the one the bulletins support better,
because 被欠薪了咋办 names no noun either and is a new question."""

from __future__ import annotations

import re
from typing import Sequence

from .details import CLASSIFIERS
from .wordlists import table

_FOLLOWUP_START = re.compile(r"^(那|那么|那个|还有|另外|此外|它|他们|她们|这个|这些|那些|其|具体|再|然后|并且|而且)")
# a question that starts at its verb names no subject of its own ("组织了多少人次体检?"): after a
# question about a place, it is about that place
_ELLIPTIC_START = re.compile(r"^(组织|开展|举办|搞|办|建|发|花|投入|帮|给|一共|总共|共|都|还|又|也)")
# "查出来有毛病的呢, 管治疗不": a clause ending in 呢 turns to another part of the same subject
_TOPIC_SHIFT = re.compile(r"呢[\s,，、]")
# what the previous question asked (its question words, and the 没/不/吗 that close a yes-no clause):
# dropped from the subject it lends a follow-up, so that 找谁 or 啥时候 is not asked again
_TOTAL = "一共|总共|总计"  # 一共解决多少: jieba tags 一共 an abbreviation (j), it names nothing
_ASKING = re.compile(rf"(?:{_TOTAL}|共)?有?(?:多少|几)\s*(?:人次|[{CLASSIFIERS}])?|"  # 一共多少人: the count asked, all of it
                     r"什么时候|啥时候|多长时间|什么|啥|怎么|咋|如何|哪些|哪里|哪儿|哪|谁|吗|呢|(?:有|是)?(?:没有?|不)(?=[\s,，。?？!！]|$)|[?？。！!]")
_CHAIN = 3  # earlier questions read to resolve a chain of follow-ups
_PRONOUN = re.compile(r"(它|他们|她们|这个|这些|那些|该|其|那里|这里|那边|这边)")
_LOCATIVES = frozenset({"那里", "这里", "那边", "这边"})
# jieba's noun tags (and 英文 words): a question holding one of two characters or more names something
_NOUN_TAGS = frozenset({"n", "nr", "nrt", "ns", "nt", "nz", "ng", "vn", "eng", "j"})  # j: 社保, 国企 (abbreviations)
# ... and names a subject of its own: a thing, not an act (报名呢)
_SUBJECT_TAGS = _NOUN_TAGS - {"vn", "ng"}
ATTRIBUTE_NOUNS = frozenset(table("question_words")["attribute_nouns"])


def _turn_questions(history: Sequence) -> list[str]:
    qs = []
    for t in history or ():
        if isinstance(t, dict):
            if t.get("role") == "user" and isinstance(t.get("content"), str):
                qs.append(t["content"])
            elif isinstance(t.get("q") or t.get("question"), str):
                qs.append(t.get("q") or t.get("question"))
        elif isinstance(t, (list, tuple)) and t and isinstance(t[0], str):
            qs.append(t[0])
        else:
            raise ValueError(f"history turn {t!r}: expected {{'role','content'}}, {{'q','a'}} or (question, answer)")
    return qs


def last_question(history: Sequence) -> str | None:
    """The last question asked in ``history`` (the turn before the one being answered), or None."""
    qs = _turn_questions(history)
    return qs[-1] if qs else None


def earlier_answers(history: Sequence) -> str:
    """The text of the last answers in ``history`` (as many as the questions a follow-up is read
    with: ``_CHAIN``), joined; {'role': 'assistant'} turns, (question, answer) pairs or {'q', 'a'}."""
    out = []
    for t in history or ():
        if isinstance(t, dict) and t.get("role") == "assistant" and isinstance(t.get("content"), str):
            out.append(t["content"])
        elif isinstance(t, (list, tuple)) and len(t) > 1 and isinstance(t[1], str):
            out.append(t[1])
        elif isinstance(t, dict) and isinstance(t.get("a") or t.get("answer"), str):
            out.append(t.get("a") or t.get("answer"))
    return "\n".join(out[-_CHAIN:])


def _places(text: str) -> list[str]:
    from .tokens import tag

    return [w for w, flag in tag(text) if flag == "ns" and len(w) >= 2]


def condense(question: str, history: Sequence = ()) -> str:
    """Resolve a short follow-up ("那江都呢?", "具体有哪些设施?") into a standalone question.

    Rule-based: a question looks like a follow-up when it starts like one (那/还有/具体 …), points back
    (它/这些/那边 …), is very short, ends in 呢, or starts at its verb without naming a place after a
    question that named one.  Then a place it names replaces the place of the previous question;
    otherwise the previous question's subject is prepended.
    """
    return _resolve(question, _earlier(history))[0]


def _nouns(question: str, tags: frozenset) -> list[str]:
    """The question's words of two characters or more that jieba tags with one of ``tags``, and the
    bulletin terms of ``qa/data/domain_words.txt`` however it tags them (困难职工 is tagged an idiom)."""
    from .tokens import DOMAIN_WORDS, tag

    return [word for word, flag in tag(question) if (flag in tags or word in DOMAIN_WORDS)
            and len(word.strip()) >= 2 and not re.fullmatch(_TOTAL, word)]


def _points_back(q: str) -> bool:
    """Starts like a follow-up (那/还有/具体 …), points back (它/这些/那边 …) or ends in 呢.  那边 or 这里
    right after a noun is where that thing is (徐州那边, 食堂那里), not a word pointing back."""
    if _FOLLOWUP_START.match(q) or q.endswith(("呢?", "呢？", "呢")):
        return True
    return bool(_PRONOUN.search(q)) and _backref(q)


def _backref(q: str) -> bool:
    """A pronoun in ``q`` that points back; 那边/这里 … right after a noun (徐州那边) does not."""
    from .tokens import tag

    words = tag(q)
    for i, (word, _) in enumerate(words):
        if not _PRONOUN.fullmatch(word.strip()):
            if _PRONOUN.search(word):
                return True
            continue
        if word in _LOCATIVES and i and words[i - 1][1] in _NOUN_TAGS:
            continue
        return True
    return False


def names_no_subject(question: str) -> bool:
    """The question holds no noun of two characters or more (晚上, 周末 are times, not subjects)."""
    return not _nouns(question, _NOUN_TAGS)


def new_subject(question: str, history: Sequence = ()) -> list[str]:
    """The words naming a new subject of a short question ``condense`` reads as a follow-up (劳模 in
    劳模能去疗养不 after a question about riders' rest stops), or [] when it stands with the earlier
    question.  The answerer also reads it alone, and keeps that reading when the follow-up reading is
    refused or says nothing of these words while the reading alone does."""
    prev = _earlier(history)
    if not prev:
        return []
    return _new_words(question.strip(), _resolve(prev[-1].strip(), prev[:-1])[1])


def _new_words(q: str, earlier: str) -> list[str]:
    """For a short question not pointing back (那喀什呢 asks the earlier question of 喀什): the things it
    names (nouns of two characters or more: 劳模, 社保, 京东) that the earlier question does not name and
    that are not a detail asked of it (收费, 名额, 电话: ``attribute_nouns``); [] otherwise."""
    if len(q) > 8 or _points_back(q):
        return []
    return [w for w in _nouns(q, _SUBJECT_TAGS) if w not in earlier and w not in ATTRIBUTE_NOUNS]


def with_subject(question: str, history: Sequence = ()) -> str | None:
    """The question with the earlier subject, when ``condense`` leaves it standalone but it names no
    subject of its own; None otherwise (no history, already a follow-up, or it names something)."""
    prev = _earlier(history)
    if not prev or _resolve(question, prev)[0] != question or not names_no_subject(question):
        return None
    out = _resolve(question, prev, force=True)[0]
    return out if out != question else None


def _earlier(history: Sequence) -> list[str]:
    return [q for q in _turn_questions(history) if q.strip()][-_CHAIN:]


def _resolve(question: str, prev: list[str], force: bool = False) -> tuple[str, str]:
    """(standalone question, the question a later follow-up takes its subject from) over the earlier
    questions ``prev``.  The last of them is resolved first, so that 在哪 after 那要钱吗 after a question
    about truck drivers' showers is still about them — with the showers' subject, not 那要钱吗's words."""
    if not prev:
        return question, question
    _, last = _resolve(prev[-1].strip(), prev[:-1])
    q = question.strip()
    new_places, old_places = _places(q), _places(last)
    looks_followup = bool(_points_back(q) or len(q) <= 8 or _TOPIC_SHIFT.search(q)
                          or (_ELLIPTIC_START.match(q) and not new_places and old_places))
    if not (looks_followup or force):
        return question, question
    core = re.sub(r"^(那么|那边|那里|那儿|这边|这里|那|还有|另外|此外|然后)", "", q)
    core = re.sub(r"(呢|吗)?[?？]?$", "", core).strip()
    if new_places and old_places:
        out = last
        for op in old_places:
            out = out.replace(op, new_places[0])
        rest = core
        for np_ in new_places:
            rest = rest.replace(np_, "")
        out = out if not rest.strip(" ,，的") else f"{out} {rest}"
        return out, out
    subject = _ASKING.sub(" ", last)
    subject = " ".join(subject.split())
    # a short question naming a new subject of its own (职工书屋几点开门 after a wage question) lends that
    # subject to what follows it, as the answerer may have read it alone (``new_subject``)
    lends = q if not force and _new_words(q, last) else last
    return f"{subject} {core}".strip(), lends
