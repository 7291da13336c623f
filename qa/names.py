"""Names: the real places, people and organisations a question names that no bulletin mentions.

"抱歉，公报里没有提到“东莞”" must never be said of an everyday word.  jieba's tagger calls 上门 a
place, 师傅 and 诗朗诵 people and 普通员工 an organisation, so a tag alone is not enough:

- a **place** is a name of China's administrative divisions (``qa/data/places.txt``, with or
  without its 省/市/县/区 suffix) that jieba also reads as a place in the question, or as a person
  with no role after it (常德 in 常德跑网约车的);
- a **person** is a word jieba tags as a person, 2–3 characters, starting with a common surname
  (``qa/data/surnames.txt``), not an everyday word of jieba's dictionary, and standing next to a
  role (劳模许振超, 王德胜师傅, 张三是谁);
- a **who-is question** (韩文豪是谁, 万月是干啥的, 王兆地咋回事) asks about the 2–3 characters before its
  asking words when they begin with a surname, are no everyday word and a bulletin holds them
  (``who_asked``); a role printed right before a name says who the person is (文艺骨干于瑜:
  ``introduces``), and a byline ending in a role and a name is signed in that role (``signs_as``);
- an **organisation** is a word jieba tags as an organisation ending in 公司/集团/工厂, or a brand
  (a word jieba tags as a name of any kind that its dictionary hardly knows) followed by a word of
  work (工会, 员工, 快递, 骑手 …): 富士康有工会吗, 顺丰快递员, 美团骑手.
"""

from __future__ import annotations

import functools
import re

from .wordlists import rows, table, words

_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|地区|省|市|县|区|盟|旗|州)$")
_AUTONOMOUS = re.compile(r"自治[区州县旗]$")
_WHO = table("question_words")
_CUES = _WHO["name_cues"]  # the words around a name that make it one (qa/data/question_words.json)


def _alternatives(words) -> str:
    """``words`` as one regex alternation, each escaped."""
    return "|".join(map(re.escape, words))


_ORG_END = tuple(_CUES["organisation_ends"])
_EVERYDAY_FREQ = int(_CUES["everyday_frequency"])  # jieba dictionary frequency above which a "name" is an everyday word (师傅 1976)
_BRAND_FREQ = int(_CUES["brand_frequency"])  # a brand jieba hardly knows (富士康 4, 顺丰 0, 美团 0)
_WORK_AFTER = re.compile(r"^[^,，。?？!！]{0,2}(" + _alternatives(_CUES["work_after"]) + ")")  # 富士康有工会吗, 美团骑手
_ROLE_AFTER = re.compile("^(" + _alternatives(_CUES["role_after"]) + ")")  # 王德胜师傅, 张三是谁
_ROLE_BEFORE = re.compile("(" + _alternatives(_CUES["role_before"]) + ")$")  # 劳模许振超
PERSON_ROLES = tuple(_WHO["person_roles"])  # roles the bulletins print before a name (文艺骨干于瑜, 司机张业建)
# 韩文豪是谁 / 那个于瑜是干啥的 / 王兆地咋回事: who or what a named person is
_RE_IDENTITY = re.compile(r"(?:这个人|这人|此人|同志|师傅|老师)?(?:到底|究竟)?(?:" + _alternatives(_WHO["identity_asks"]) + ")")
_RE_ROLE_PRINTED = re.compile("(?:" + _alternatives(PERSON_ROLES) + r")[、\s]?$")


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    out = set()
    for name in words("places"):
        out.add(name)
        for short in (_SUFFIX.sub("", name), without_peoples(name)):
            if len(short) >= 2:
                out.add(short)
    return frozenset(out)


@functools.lru_cache(maxsize=1)
def _place_pattern() -> re.Pattern:
    return re.compile("|".join(sorted((re.escape(p) for p in _places()), key=len, reverse=True)))


def places_in(text: str, *, besides: str = "") -> list[str]:
    """The names of China's administrative divisions in ``text`` (北京, 泗洪县, 新疆), longest first
    where they overlap: what answers 哪个地方 / 哪个城市.  With ``besides`` (the question), only
    places it does not name itself, with or without the suffix (兴化市 for a question naming 兴化)."""
    found = _place_pattern().findall(text) if text else []
    return [p for p in found if not besides or (p not in besides and _SUFFIX.sub("", p) not in besides)]


@functools.lru_cache(maxsize=1)
def _peoples() -> re.Pattern:
    names = sorted(words("peoples"), key=len, reverse=True)
    return re.compile(rf"(?:(?:{'|'.join(names)})族?)+自治[区州县旗]")


def without_peoples(name: str) -> str:
    """An autonomous division by its place name alone, the longest the rest of the name allows:
    新疆维吾尔自治区 → 新疆, 恩施土家族苗族自治州 → 恩施, 巴音郭楞蒙古自治州 → 巴音郭楞, 彭水苗族土家族自治县 →
    彭水 (水 is a people too); "" for other names and for 西藏自治区, 内蒙古自治区 (no people named)."""
    if not _AUTONOMOUS.search(name):
        return ""
    return next((name[:i] for i in range(2, len(name)) if _peoples().fullmatch(name, i)), "")


@functools.lru_cache(maxsize=1)
def _parents() -> dict[str, frozenset[str]]:
    """A division's name (in full, without its suffix or without its peoples) → the divisions around
    it, in full and short (``qa/data/place_parents.txt``)."""
    out: dict[str, set[str]] = {}
    for name, *ups in rows("place_parents"):
        around = {f for u in ups for f in (u, _SUFFIX.sub("", u), without_peoples(u)) if len(f) >= 2}
        for form in (name, _SUFFIX.sub("", name), without_peoples(name)):
            if len(form) >= 2:
                out.setdefault(form, set()).update(around)
    return {k: frozenset(v) for k, v in out.items()}


def encloses(region: str, place: str) -> bool:
    """``region`` is a division around ``place``, either named in full or short: 安徽省 and 安徽
    enclose 芜湖 and 芜湖市; 江苏 encloses 贾汪区."""
    return bool(region) and region in _parents().get(place, ())


def same_or_nested(a: str, b: str) -> bool:
    """``a`` and ``b`` name one place (滨海, 滨海县), or one lies inside the other (芜湖, 安徽省)."""
    return a == b or a.startswith(b) or b.startswith(a) or encloses(a, b) or encloses(b, a)


@functools.lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    return frozenset(words("surnames"))


def _freq(word: str) -> int:
    from .tokens import dictionary_frequency

    return dictionary_frequency(word)


def names_in(question: str) -> list[str]:
    """Real place, person and organisation names in a question (see the module docstring), each once."""
    from .tokens import normalise, tag

    out = []
    text = normalise(question)
    pos = 0
    words_at = []
    for w, flag in tag(text):
        pos = text.find(w, pos) + len(w)
        words_at.append((w, flag, pos))
    # jieba tags one word by its context: 美团 is a name in 美团有没有建工会 but not in 在美团当骑手
    named = {w for w, flag, _ in words_at if flag in ("nr", "nz", "nt", "nrt", "ns")}
    for w, flag, pos in words_at:
        after = text[pos:]
        if len(w) < 2:
            continue
        if flag == "ns" and (w in _places() or _SUFFIX.sub("", w) in _places()):
            out.append(w)
        elif flag in ("nr", "nrt") and w in _places() and not _ROLE_AFTER.match(after):
            out.append(w)  # jieba reads 常德 in 常德跑网约车的 as a person; a division's name is a place (not 张友良说)
        elif flag == "ns" and (inner := _place_at_start(w)):  # 苏州工业园区 → 苏州
            out.append(inner)
        elif (flag in ("nr", "nrfg", "nrt") and len(w) <= 3 and w[0] in _surnames() and _freq(w) < _EVERYDAY_FREQ
              and (_ROLE_AFTER.match(after) or _ROLE_BEFORE.search(text[:pos - len(w)]))):
            out.append(w)
        elif flag == "nt" and w.endswith(_ORG_END) and _freq(w) < _EVERYDAY_FREQ:
            out.append(w)
        elif w in named and _freq(w) < _BRAND_FREQ and _WORK_AFTER.match(after):
            out.append(w)
    return list(dict.fromkeys(out))


def _place_at_start(word: str) -> str:
    """The division a longer place word begins with (苏州工业园区 → 苏州, 青岛港 → 青岛), or ""."""
    return next((p for p in places_in(word) if word.startswith(p)), "")


def missing_names(question: str, corpus_text: str, names: list[str] | None = None) -> list[str]:
    """The names in ``question`` that no bulletin mentions (a place also counts as mentioned
    without its suffix: 滨海 for 滨海县); ``names``: ``names_in(question)`` when already read."""
    out = []
    for w in names_in(question) if names is None else names:
        forms = {w, _SUFFIX.sub("", w)}
        if not any(len(f) >= 2 and f in corpus_text for f in forms):
            out.append(w)
    return out


def introduces(name: str, text: str) -> bool:
    """``text`` prints a role right before ``name`` (文艺骨干于瑜, 党组书记、副主席张友良, 农民工王兆地)."""
    flat = re.sub(r"\s+", "", text)
    return any(_RE_ROLE_PRINTED.search(flat[:m.start()]) for m in re.finditer(re.escape(name), flat)) if name else False


def signs_as(role: str, byline: str) -> bool:
    """A byline signed by a person in ``role`` (滨海县总工会副主席 万月 for 副主席, …党组书记、主席 邱永泉 for
    主席): the role, then the name, ending the line; a 副主席 is no 主席."""
    if not role:
        return False
    asked = re.escape(role) if role.startswith("副") else rf"(?<!副){re.escape(role)}"
    return bool(re.search(rf"{asked}\s*[\u4e00-\u9fff]{{2,3}}$", byline.strip()))


def who_asked(question: str, corpus_text: str) -> str:
    """The person a who-is question asks about (韩文豪是谁, 那个于瑜是干啥的, 王兆地咋回事): two or
    three characters before the asking words, beginning with a surname, no everyday word (主席, 师傅)
    and held by ``corpus_text``; "" when the question asks no such thing."""
    text = re.sub(r"\s+", "", question)
    for m in _RE_IDENTITY.finditer(text):
        for size in (3, 2):
            name = text[max(0, m.start() - size):m.start()]
            if (len(name) == size and name[0] in _surnames() and _freq(name) < _EVERYDAY_FREQ
                    and not name.endswith(PERSON_ROLES) and name in corpus_text):
                return name
    return ""
