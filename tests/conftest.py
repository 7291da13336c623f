"""Shared fixtures: a tiny Chinese corpus and an index of it built with the deterministic HashEmbedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

TINY = {
    "a_wages.txt": """

【主席之声】

工会帮助农民工讨回欠薪

江宁区总工会副主席 张三

今年以来,江宁区总工会设立法律援助窗口,帮助128名农民工追回被拖欠的工资236万元。工会律师全程代理,

平均办结时间缩短到15天。

小编说:工会是职工的娘家人。
""",
    "b_trucks.txt": """

新闻速递

货车司机之家开门迎客

本刊讯 日前,青山县总工会在国道旁建成货车司机之家,配有淋浴间、洗衣机和休息室,全天24小时开放,可同时容纳40名司机休息。

李四 王五

滨江市总工会追回欠薪

本刊讯 滨江市总工会职工服务中心接到投诉后,协调企业补发了32名职工的工资,共计58万元。

赵六
""",
    "c_books.txt": """

职工书屋点亮读书生活

本报讯(记者钱七)近日,河西市总工会在车间建起职工书屋,藏书3000册,每月举办2次读书分享会。

职工们说,下班后来书屋看书成了新习惯。
""",
    "d_skills.txt": """

技能大赛比出新工匠

本刊讯 北岸区总工会举办焊工技能比武,共有26支队伍参赛,最终评出技术能手10名。
""",
}


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in TINY.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture
def hash_embedder():
    from qa.embed import HashEmbedder

    return HashEmbedder(128)


@pytest.fixture
def tiny_index(tiny_dir: Path, tmp_path: Path, hash_embedder):
    from qa.index import build_index, load_index

    out = tmp_path / "index"
    build_index([tiny_dir], out, hash_embedder, progress=False, log=lambda *_: None)
    return load_index(out)


@pytest.fixture
def index_of(tmp_path, hash_embedder):
    """``index_of({file name: text})``: those files built into a hash-embedded index under ``tmp_path``, loaded."""
    from qa.index import build_index, load_index

    made = []

    def make(files: dict):
        n = len(made)
        d, out = tmp_path / f"docs{n}", tmp_path / f"idx{n}"
        d.mkdir()
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
        build_index([d], out, hash_embedder, progress=False, log=lambda *_: None)
        made.append(out)
        return load_index(out)

    return make


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    d = tmp_path / "seeds"
    shutil.copytree(SEEDS, d)
    return d


class CountingEmbedder:
    """Wraps an embedder and records how many documents and queries it was asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.fingerprint = inner.fingerprint
        self.documents = 0
        self.queries = 0

    def encode_queries(self, texts):
        self.queries += len(texts)
        return self.inner.encode_queries(texts)

    def encode_documents(self, texts, titles=None, progress=None):
        self.documents += len(texts)
        return self.inner.encode_documents(texts, titles, progress)


@pytest.fixture
def counting_embedder(hash_embedder):
    return CountingEmbedder(hash_embedder)


@pytest.fixture(scope="session")
def real_index_path(tmp_path_factory):
    """The seed bulletins indexed with the real model, built once per test session (~40 s)."""
    from qa.embed import get_embedder
    from qa.index import build_index

    out = tmp_path_factory.mktemp("real") / "index"
    build_index([SEEDS], out, get_embedder("google/embeddinggemma-300m"), progress=False, log=lambda *_: None)
    return out


class WordsOnly:
    """A vocabulary for question analysis without an index: jieba words, every word weighing 1, no
    bulletin text (so no who-is question names a person it holds)."""

    corpus_text = ""

    def words_of(self, text):
        from qa.tokens import tokenize

        return tokenize(text)

    def idf(self, tokens):
        return {t: 1.0 for t in tokens}

    def related(self, tokens):
        return {}


@pytest.fixture
def words_only():
    return WordsOnly()


@pytest.fixture
def hash_answerability():
    """The hash embedder is a weak model: its on-topic matches sit much closer to the off-domain
    background than the real model's, so its answerability model is set by hand for it
    (answer when z_sentence >= 0.5)."""
    from qa.answerability import AnswerabilityModel

    return AnswerabilityModel(weights=(1.0,), bias=-0.5, threshold=0.5, features=("z_sentence",))
