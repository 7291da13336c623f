"""The staff side (qa.staff and the 管理 tab) without a browser: safe names for uploads, the password
and upload token, the guard letting only a signed-in page upload, uploads added as a delta segment and
removed again, the 👎 list and its CSV, and no tab at all without QA_ADMIN_PASSWORD."""

from __future__ import annotations

import csv
import io
import sys

import pytest

from qa.answer import Answerer
from qa.errors import SourceError
from qa.feedback import FeedbackLog
from qa.index import build_index, load_index
from qa.staff import LOGIN_TRIES, Staff, StaffAccess, safe_name, thumbs_down_csv

from .conftest import ROOT, SEEDS
from .documents import docx_file, image_pdf

sys.path.insert(0, str(ROOT))
import app  # noqa: E402


@pytest.mark.parametrize("sent,stem,suffix", [
    ("../../etc/passwd.pdf", "passwd", "pdf"),
    ("C:\\Users\\x\\工会公报 第3期.DOCX", "工会公报_第3期", "docx"),
    ("/tmp/a b;rm -rf.html", "a_b_rm_-rf", "html"),
    ("...pdf", "bulletin", "pdf"),
])
def test_uploads_get_safe_names_never_the_clients_path(sent, stem, suffix):
    name = safe_name(sent, b"%PDF-1.4 data")
    assert name.startswith(stem + "-") and name.endswith("." + suffix) and "/" not in name and "\\" not in name
    assert safe_name(sent, b"other bytes") != name  # the content's hash is part of the name


@pytest.mark.parametrize("sent", ["evil.exe", "noext", "x.pdf.sh", ""])
def test_other_files_are_not_taken(sent):
    with pytest.raises(SourceError):
        safe_name(sent, b"data")


def test_password_tries_are_limited_per_client_and_tokens_open_uploads():
    access = StaffAccess("正确的密码")
    assert not access.check("wrong", "a")
    for _ in range(LOGIN_TRIES - 1):
        access.check("wrong", "a")
    assert not access.check("正确的密码", "a")  # locked for a minute after LOGIN_TRIES wrong ones
    assert access.check("正确的密码", "b")
    token = access.issue()
    assert access.valid(token) and not access.valid("made-up") and not access.valid("")
    assert access.upload_allowed({"headers": [(b"cookie", f"x=1; qa_staff={token}".encode())]})
    assert not access.upload_allowed({"headers": [(b"cookie", b"qa_staff=forged")]})
    assert not access.upload_allowed({"headers": []})
    with pytest.raises(ValueError):
        StaffAccess("")


def test_the_guard_lets_only_a_signed_in_page_upload():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from qa.http_guard import GuardMiddleware

    access = StaffAccess("pw")
    opts = app.guarded_launch_options(staff_access=access)
    (guard,) = opts["app_kwargs"]["middleware"]
    assert opts["max_file_size"] == "20mb" and guard.kwargs["allow_upload"] == access.upload_allowed
    assert app.guarded_launch_options()["max_file_size"] == "1mb"

    async def ok(request):
        return PlainTextResponse("ok")

    def upload(cookie: str | None) -> int:
        c = TestClient(Starlette(routes=[Route("/gradio_api/upload", ok, methods=["POST"])],
                                 middleware=[Middleware(GuardMiddleware, allow_upload=access.upload_allowed)]))
        if cookie is not None:
            c.cookies.set("qa_staff", cookie)
        return c.post("/gradio_api/upload", files={"files": ("a.pdf", b"%PDF")}).status_code

    assert upload(None) == 403 and upload("forged") == 403
    assert upload(access.issue()) == 200


@pytest.fixture
def served(tiny_dir, tmp_path, hash_embedder, hash_answerability):
    build_index([tiny_dir], tmp_path / "idx", hash_embedder, progress=False, log=lambda *_: None)
    answerer = Answerer(load_index(tmp_path / "idx"), hash_embedder, answerability=hash_answerability)
    feedback = FeedbackLog(tmp_path / "data")
    return answerer, Staff(tmp_path / "idx", tmp_path / "data", hash_embedder, feedback.files), feedback


def test_uploaded_bulletins_are_added_as_a_delta_segment_listed_and_removed(served, tmp_path):
    answerer, staff, _ = served
    doc = docx_file((SEEDS / "004_860c567145cca00b.txt").read_text(encoding="utf-8"), tmp_path / "issue.docx")
    scan = image_pdf(tmp_path / "scan.pdf")
    stored = staff.store([("../../issue.docx", doc), ("scan.pdf", scan)])
    assert all(p.parent == tmp_path / "data" / "uploads" for p in stored)
    with pytest.warns(UserWarning, match="scan-.*no text layer"):
        report, index = staff.rebuild()
    assert report.mode == "append" and len(report.added) == 1 and "issue-" in report.added[0]
    assert len(index.manifest["segments"]) == 2  # the base and one delta: nothing else was rewritten
    rows = {r["file"]: r for r in staff.bulletins(index)}
    up = rows[stored[0].name]
    assert up["uploaded"] and up["articles"] >= 5 and up["chunks"] > 0 and up["added"]
    assert not rows["a_wages.txt"]["uploaded"] and rows["a_wages.txt"]["articles"] == 1
    ans = answerer.with_index(index).ask("货车司机之家的临时休息室里有什么?")
    assert not ans.refused and any(c.source.endswith(stored[0].name) for c in ans.citations)
    assert answerer.ask("货车司机之家的临时休息室里有什么?").citations[0].source != up["source"]  # the old one is unchanged

    with pytest.raises(SourceError):
        staff.remove("../idx/manifest.json")
    staff.remove(stored[0].name)
    with pytest.warns(UserWarning, match="scan-"):  # the scan is still there, and still skipped
        report, index = staff.rebuild()
    assert report.removed and not any(stored[0].name in s for s in index.texts)
    assert staff.store([("issue.docx", doc)])[0].name == stored[0].name  # same bytes, same name


def test_thumbs_down_answers_newest_first_and_their_csv(served):
    _, staff, feedback = served
    cite = {"n": 1, "source": "/x/bulletin.pdf", "text": "成功执结案件9件", "page": 2}
    for t, vote, q in (("2026-11-20T10:00:00+0000", "down", "旧的问题"), ("2026-11-21T09:00:00+0000", "up", "好的问题"),
                       ("2026-11-21T10:00:00+0000", "down", "=HYPERLINK(\"http://x\")")):
        feedback.record({"question": q, "answer": "答[1]", "citations": [cite], "vote": vote, "time": t},
                        client=q).join()
    rows = staff.thumbs_down()
    assert [r["question"] for r in rows] == ["=HYPERLINK(\"http://x\")", "旧的问题"]
    table = list(csv.reader(io.StringIO(thumbs_down_csv(rows))))
    assert table[0] == ["time", "question", "answer", "citations"]
    assert table[1][1].startswith("'=")  # a formula is shown as text in a spreadsheet
    assert table[2][3] == "[1] bulletin.pdf 第 2 页: 成功执结案件9件"


def test_without_a_password_there_is_no_staff_tab(served, tmp_path):
    answerer, _, _ = served
    plain = app.create_app(answerer, data_dir=tmp_path / "data").get_config_file()
    tabs = [c["props"].get("label") for c in plain["components"] if c.get("type") == "tabitem"]
    assert "管理" not in tabs and tabs == ["问答", "案例查找"]
    staffed = app.create_app(answerer, data_dir=tmp_path / "data", staff_access=StaffAccess("pw"))
    cfg = staffed.get_config_file()
    assert "管理" in [c["props"].get("label") for c in cfg["components"] if c.get("type") == "tabitem"]
    assert set(staffed.get_api_info()["named_endpoints"]) == {"/ask", "/cases"}  # staff events are not listed
    staff_fns = [f for f in staffed.fns.values() if f.name in ("add", "remove", "refresh", "sign_in")]
    assert len(staff_fns) == 5 and all(f.api_visibility == "private" for f in staff_fns)


def test_staff_events_refuse_a_session_that_has_not_signed_in(served, tmp_path):
    import gradio as gr

    answerer, _, _ = served
    demo = app.create_app(answerer, data_dir=tmp_path / "data", staff_access=StaffAccess("pw"))
    by_name = {f.name: f.fn for f in demo.fns.values()}
    doc = docx_file("标题\n\n本刊讯 内容。", tmp_path / "x.docx")
    with pytest.raises(gr.Error):
        by_name["add"]([str(doc)], False)
    with pytest.raises(gr.Error):
        by_name["remove"]("x.docx", False)
    with pytest.raises(gr.Error):
        by_name["refresh"](False)
    assert not (tmp_path / "data" / "uploads").exists()
