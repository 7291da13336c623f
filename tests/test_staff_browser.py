"""The 管理 tab in real headless Chromium: sign in, upload a PDF bulletin, ask a question only it
answers and get the cited answer (with its page); without QA_ADMIN_PASSWORD there is no tab and the
upload route is refused.  The screenshot of the tab goes to test-artifacts/ (docs/staff.png in README is one of them)."""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from qa.app_process import AppProcess

from .conftest import SEEDS
from .documents import CHROMIUM, print_pdf
from .test_browser import ARTIFACTS, _ask

pytestmark = [pytest.mark.browser, pytest.mark.model]
PASSWORD = "管理-test-口令"


@contextlib.contextmanager
def running_app(index: Path, data: Path, *, password: str = "", model: str | None = None):
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "QA_ADMIN_PASSWORD": password}  # "" : no staff tab
    with AppProcess(index, data, env=env, log_file=data / "app.log",
                    args=["--model", model] if model else []) as app:
        app.wait_ready(240)
        yield app.url


def upload_status(url: str, cookie: str = "") -> int:
    req = urllib.request.Request(url + "gradio_api/upload", data=b"--x--\r\n", method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=x",
                                          **({"Cookie": cookie} if cookie else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-chromium.sh installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        yield b
        b.close()


def test_without_the_password_there_is_no_staff_tab_and_no_upload(browser, tmp_path, tiny_dir):
    from qa.cli import main

    assert main(["index", "--source", str(tiny_dir), "--index", str(tmp_path / "idx"), "--model", "hash-128", "-q"]) == 0
    (tmp_path / "data").mkdir()
    with running_app(tmp_path / "idx", tmp_path / "data", model="hash-128") as url:
        pg = browser.new_page()
        pg.goto(url, wait_until="domcontentloaded")
        pg.locator("#question textarea").wait_for(timeout=60_000)
        assert pg.get_by_role("tab", name="案例查找").count() == 1
        assert pg.get_by_role("tab", name="管理").count() == 0 and pg.locator("#staff-password").count() == 0
        assert upload_status(url) == 403
        pg.close()


def test_staff_sign_in_upload_a_pdf_and_ask_what_only_it_answers(browser, tmp_path):
    from qa.embed import get_embedder
    from qa.index import build_index

    src = tmp_path / "seeds"
    src.mkdir()
    for f in SEEDS.glob("*.txt"):
        if f.name != "000_79df250fcb6385bf.txt":  # 滨海 and 江都 are only in the PDF
            (src / f.name).write_bytes(f.read_bytes())
    build_index([src], tmp_path / "idx", get_embedder("google/embeddinggemma-300m"), progress=False,
                log=lambda *_: None)
    pdf = print_pdf((SEEDS / "000_79df250fcb6385bf.txt").read_text(encoding="utf-8"), tmp_path / "滨海 公报.pdf")
    data = tmp_path / "data"
    data.mkdir()
    with running_app(tmp_path / "idx", data, password=PASSWORD) as url:
        assert upload_status(url) == 403  # the tab is there, but an upload needs a signed-in page
        pg = browser.new_page(viewport={"width": 1360, "height": 1100})
        pg.goto(url, wait_until="domcontentloaded")
        pg.locator("#question textarea").wait_for(timeout=60_000)
        pg.get_by_role("tab", name="管理").click()
        pg.locator("#staff-password input").fill("wrong")
        pg.locator("#staff-login").click()
        pg.wait_for_function("document.querySelector('#staff-login-msg').innerText.includes('密码不对')", timeout=30_000)
        assert not pg.locator("#staff-panel").is_visible()
        pg.locator("#staff-password input").fill(PASSWORD)
        pg.locator("#staff-login").click()
        pg.locator("#staff-panel").wait_for(state="visible", timeout=30_000)
        pg.wait_for_function("document.querySelector('#staff-bulletins').innerText.includes('002_257d618e5a1f309a')",
                             timeout=30_000)

        pg.locator("#staff-files input[type=file]").set_input_files(str(pdf))
        pg.wait_for_function("document.querySelector('#staff-files').innerText.includes('.pdf')", timeout=30_000)
        pg.locator("#staff-add").click()
        started = time.time()
        chat = browser.new_page()  # a worker asks meanwhile: the chat keeps answering during the build
        chat.goto(url, wait_until="domcontentloaded")
        chat.locator("#question textarea").wait_for(timeout=60_000)
        _ask(chat, "货车司机之家的临时休息室里有什么?")
        chat.wait_for_function("document.querySelector('#chat').innerText.includes('折叠床')", timeout=120_000)
        answered_after = time.time() - started
        pg.wait_for_function("document.querySelector('#staff-status').innerText.includes('已添加 1 个文件')",
                             timeout=300_000)
        built_after = time.time() - started
        print(f"chat answered {answered_after:.1f} s after the upload started; the upload was indexed after "
              f"{built_after:.1f} s")
        table = pg.locator("#staff-bulletins").inner_text()
        assert "页面上传" in table and ".pdf" in table
        stored = list((data / "uploads").iterdir())
        assert len(stored) == 1 and stored[0].suffix == ".pdf" and " " not in stored[0].name
        pg.screenshot(path=str(ARTIFACTS / "07-staff-upload.png"), full_page=True)

        pg.get_by_role("tab", name="问答").click()
        _ask(pg, "滨海县总工会和法院一起执结了多少案件?")
        pg.wait_for_function("document.querySelector('#chat').innerText.includes('[1]')"
                             " && document.querySelector('#sources mark')", timeout=120_000)
        assert "9件" in pg.locator("#chat").inner_text()
        sources = pg.locator("#sources").inner_text()
        assert "滨海 公报 · 第 1 页" in sources  # the bulletin as uploaded, and the page …
        assert pg.locator("#src-1-1 .src-loc .src-file").text_content().endswith(".pdf")  # … its file under 原文位置
        pg.screenshot(path=str(ARTIFACTS / "08-answer-from-upload.png"), full_page=True)

        pg.locator("#chat button[aria-label='Dislike']").last.click()  # staff see 👎 answers in the tab
        fb = data / "feedback.jsonl"
        deadline = time.time() + 10
        while time.time() < deadline and not (fb.exists() and fb.read_text(encoding="utf-8").endswith("\n")):
            time.sleep(0.2)
        pg.get_by_role("tab", name="管理").click()
        pg.locator("#staff-refresh").click()
        pg.wait_for_function("document.querySelector('#staff-downs').innerText.includes('执结了多少案件')",
                             timeout=30_000)
        assert "第 1 页" in pg.locator("#staff-downs").inner_text()
        pg.screenshot(path=str(ARTIFACTS / "09-staff.png"), full_page=True)
        chat.close()
        pg.close()
