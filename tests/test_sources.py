"""Reading sources: encodings, skipped files (with a warning naming them), JSONL records, duplicates."""

import json
import warnings

import pytest

from qa.sources import SourceError, SourceWarning, decode, discover, load_documents, source_text


def test_utf8_with_and_without_bom(tmp_path):
    (tmp_path / "a.txt").write_bytes("\ufeff工会公报".encode("utf-8"))
    (tmp_path / "b.txt").write_text("职工书屋", encoding="utf-8")
    docs = load_documents([tmp_path])
    assert [d.text for d in docs] == ["工会公报", "职工书屋"]


def test_gb18030_fallback(tmp_path):
    (tmp_path / "gbk.txt").write_bytes("货车司机之家开门迎客。".encode("gbk"))
    (doc,) = load_documents([tmp_path])
    assert doc.text == "货车司机之家开门迎客。"


@pytest.mark.parametrize("name,data,why", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"  \n\n \n", "empty"),
    ("binary.txt", bytes(range(256)) * 4, "binary"),
])
def test_unusable_files_are_skipped_with_a_warning(tmp_path, name, data, why):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text("工会帮助职工。", encoding="utf-8")
    with pytest.warns(SourceWarning, match=name) as rec:
        docs = load_documents([tmp_path])
    assert why in str(rec[0].message)
    assert [d.source.rsplit("/", 1)[-1] for d in docs] == ["good.txt"]


def test_duplicate_content_under_another_name_is_skipped(tmp_path):
    (tmp_path / "a.txt").write_text("同一篇公报。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("同一篇公报。", encoding="utf-8")
    with pytest.warns(SourceWarning, match="same content"):
        docs = load_documents([tmp_path])
    assert len(docs) == 1


def test_missing_path_and_wrong_suffix_are_errors(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        discover([tmp_path / "nope"])
    (tmp_path / "x.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SourceError, match=r"\.txt.*\.pdf.*\.docx.*save it as \.docx"):
        discover([tmp_path / "x.doc"])


def test_jsonl_records_and_bad_lines(tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text("\n".join([
        json.dumps({"id": "r1", "title": "标题一", "text": "第一篇正文。"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "r2", "text": "第二篇正文。"}, ensure_ascii=False),
        json.dumps({"title": "缺id"}, ensure_ascii=False),
    ]), encoding="utf-8")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        docs = load_documents([p])
    assert [d.source.rsplit("#", 1)[1] for d in docs] == ["r1", "r2"]
    assert docs[0].title == "标题一"
    assert sum(issubclass(w.category, SourceWarning) for w in rec) == 2
    assert source_text(docs[1].source) == "第二篇正文。"


def test_decode_rejects_undecodable_bytes():
    with pytest.raises(SourceError):
        decode(b"\x00\x01\x02binary")
