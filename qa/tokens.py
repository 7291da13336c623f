"""Tokens: normalise Chinese text and cut it into words for BM25 and term overlap.

Normalisation: NFKC (full-width digits and punctuation → ASCII), traditional → simplified (OpenCC
when installed), lower case.  Words: jieba's search-mode cut (long words also yield their parts),
minus punctuation, single-character function words and question words ("多少", "哪里" …), which
say what is asked, not what a passage contains.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata

DOMAIN_WORDS = (
    "总工会", "工会", "职工之家", "司机之家", "货车司机", "职工书屋", "劳模", "工匠", "劳模工匠",
    "劳模创新工作室", "一函两书", "讨薪", "欠薪", "拖欠工资", "集体协商", "产改", "新就业形态",
    "户外劳动者", "外卖骑手", "网约车", "会员评议", "职代会", "技能竞赛", "技能比武", "职工服务中心",
    "法律援助", "困难职工", "12351", "工人文化宫", "劳动竞赛", "合理化建议", "职业技能",
)

STOPWORDS = frozenset("""
的 了 是 在 和 与 及 或 也 都 就 还 又 而 把 被 让 给 对 为 从 向 到 以 于 之 其 这 那 该 此 个 一 有
吗 呢 吧 啊 呀 么 嘛 哦 哪 啥 谁 几 多少 什么 怎么 怎样 怎么样 如何 哪些 哪里 哪儿 哪个 为什么 是否 是不是
有没有 没有 请问 一下 我们 我 你 他 她 它 他们 可以 能 能够 会 要 想 需要 应该 吗 找 问 呢 啦
""".split())

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _converter():
    try:
        import opencc
    except ImportError:
        return None
    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for w in DOMAIN_WORDS:
        tok.add_word(w, freq=20000)
    return tok


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    conv = _converter()
    if conv is not None:
        t = conv.convert(t)
    return t.lower()


def tokenize(text: str) -> list[str]:
    """Words of ``text`` for BM25 (search mode, stopwords and punctuation removed)."""
    t = normalise(text)
    out = []
    for w in _tokenizer().cut_for_search(t):
        w = w.strip()
        if not w or w in STOPWORDS or _PUNCT.match(w):
            continue
        out.append(w)
    return out


def tag(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech) pairs from jieba's tagger (ns place, nr person, nt organisation …)."""
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(logging.WARNING)
    return [(w, f) for w, f in pseg.lcut(text)]
