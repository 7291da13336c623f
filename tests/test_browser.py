"""The chat page in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright), plus a
concurrency run through the app's HTTP API.  Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.app_process import AppProcess

from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def app_url(real_index_path, tmp_path_factory):
    data = tmp_path_factory.mktemp("appdata")
    with AppProcess(real_index_path, data, env={"GRADIO_ANALYTICS_ENABLED": "False"},
                    log_file=data / "app.log") as app:
        app.wait_ready(180)
        yield app.url, data


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-chromium.sh installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _open(browser, app_url, **options):
    """A new page (its own session) on the app, ready for a question; dialogs are recorded, not shown."""
    pg = browser.new_page(**options)
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(app_url[0], wait_until="domcontentloaded")
    pg.locator("#question textarea").wait_for(timeout=60_000)
    pg.dialogs = dialogs
    pg.data_dir = app_url[1]
    return pg


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = _open(browser, app_url, viewport={"width": 1360, "height": 1000})
    yield pg
    pg.close()


def _ask(pg, question: str):
    box = pg.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _last_bot(pg):
    return pg.locator("#chat .message-row.bot-row, #chat [data-testid='bot']").last


# the newest answer's text, without its source line (which names the cited article, maybe a topic too)
_TEXT_WITHOUT_SOURCE_LINE_JS = """(() => {
  const bots = document.querySelectorAll('#chat .message-row.bot-row');
  const copy = bots[bots.length - 1].cloneNode(true);
  copy.querySelectorAll('.answer-sources').forEach(e => e.remove());
  return copy.textContent;
})()"""


def test_chat_answer_sources_refusal_cases_and_escaping(page):
    pg = page
    pg.screenshot(path=str(ARTIFACTS / "01-home.png"), full_page=True)

    _ask(pg, "货车司机之家的临时休息室里有什么?")
    # the page is served before the model is loaded: the first question may show 正在加载模型… first
    pg.wait_for_function("document.querySelector('#chat') && document.querySelector('#chat').innerText.includes('[1]')"
                         " && document.querySelector('#sources mark')", timeout=180_000)
    assert "正在加载模型" not in pg.locator("#chat").inner_text()  # replaced by the answer
    chat = pg.locator("#chat").inner_text()
    assert "折叠床" in chat and "[1]" in chat
    pg.screenshot(path=str(ARTIFACTS / "02-answer.png"), full_page=True)

    pg.locator("#chat button[aria-label='Like']").last.click()  # feedback is appended in the background
    fb = page.data_dir / "feedback.jsonl"
    deadline = time.time() + 10
    # wait for a whole line, not only the file: the background writer may have created it and not yet written
    while time.time() < deadline and not (fb.exists() and fb.read_text(encoding="utf-8").endswith("\n")):
        time.sleep(0.2)
    row = json.loads(fb.read_text(encoding="utf-8").splitlines()[-1])
    assert row["vote"] == "up" and "折叠床" in row["answer"] and row["citations"] and row["time"]

    pg.locator("#chat a.cite").first.click()
    assert pg.evaluate("location.hash") == "#src-1-1"  # [1] of the session's first answer
    mark = pg.locator("#src-1-1 mark").inner_text()
    assert "折叠床" in mark
    assert "司机之家" in pg.locator("#src-1-1 .src-head").inner_text()
    pg.screenshot(path=str(ARTIFACTS / "03-sources.png"), full_page=True)

    _ask(pg, "司机之家洗澡要钱吗")  # the topic is in the bulletins, a price is not
    pg.wait_for_function("document.querySelector('#chat').innerText.includes('抱歉')", timeout=60_000)
    # the sources panel is updated after the last streamed piece of the chat: wait for it, not just the chat
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        pg.wait_for_function("document.querySelector('#sources').innerText.includes('没有能回答')", timeout=15_000)
    assert "没有能回答" in pg.locator("#sources").inner_text()
    assert "最接近" in pg.locator("#chat").inner_text()
    assert "司机之家" in pg.locator("#src-2-1").inner_text() and pg.locator("#src-2-1 mark").count() == 1  # cited
    assert "折叠床" in pg.locator("#src-1-1 mark").text_content()  # the first answer's card is kept below (folded)
    pg.wait_for_selector("#topics button", timeout=15_000)
    pg.screenshot(path=str(ARTIFACTS / "04-refusal.png"), full_page=True)
    # the topics are shown once, as chips under the answer and above the input box: the refusal's text points to them
    chips = [t.strip() for t in pg.locator("#topics button").all_inner_texts()]
    said = pg.evaluate(_TEXT_WITHOUT_SOURCE_LINE_JS)
    assert chips and not any(t in said for t in chips), (chips, said)
    assert "可以点回答下面的相关话题接着问" in said and "可以问问这些相关话题" not in said
    chat_box, topics_box, input_box = (pg.locator(s).bounding_box() for s in ("#chat", "#topics", "#question"))
    assert chat_box["y"] < topics_box["y"] < input_box["y"], (chat_box, topics_box, input_box)
    topic = pg.locator("#topics button").first
    topic_text = topic.inner_text().strip()
    count = f"document.querySelector('#chat').innerText.split({json.dumps(topic_text)}).length"
    before = pg.evaluate(count)
    topic.click()  # a suggested topic is asked as the next question
    pg.wait_for_function(f"{count} > {before}", timeout=60_000)
    # its answer's sources go above the refusal's, which stay for the refusal's own [1]
    pg.wait_for_selector("#sources .src-group#ans-3", timeout=30_000)
    assert pg.evaluate(count) > before
    assert pg.evaluate("[...document.querySelectorAll('#sources .src-group')].map(g => g.id)") == [
        "ans-3", "ans-2", "ans-1"]
    # the topic is an article's title: the answer is what that article says nearest to the refused question, cited from it
    assert topic_text in pg.locator("#sources .src-group#ans-3").inner_text()
    pg.screenshot(path=str(ARTIFACTS / "04b-topic-clicked.png"), full_page=True)

    script = "<script>alert('x')</script><img src=x onerror=alert(2)>工资被拖欠了找谁?"
    _ask(pg, script)
    pg.wait_for_function("document.querySelector('#chat').innerText.includes(\"<script>alert('x')</script>\")",
                         timeout=60_000)
    time.sleep(1)
    assert pg.dialogs == []
    assert pg.locator("#chat script").count() == 0 and pg.locator("#chat img[src='x']").count() == 0
    pg.screenshot(path=str(ARTIFACTS / "05-escaped.png"), full_page=True)

    # an empty 提问 tap says so and loses nothing (it used to wipe the conversation and its sources)
    sources_before = pg.locator("#sources").inner_text()
    pg.locator("#question textarea").fill("")
    pg.locator("#send").click()
    pg.locator("#question-hint").get_by_text("请先输入问题").wait_for(timeout=15_000)
    pg.locator("#question textarea").fill("   ")  # spaces only, by Enter: the same, and nothing stacks up
    pg.locator("#question textarea").press("Enter")
    time.sleep(1)
    chat = pg.locator("#chat").inner_text()
    assert "<script>alert('x')</script>" in chat and "折叠床" in chat
    assert pg.locator("#sources").inner_text() == sources_before
    # a line under the input box, no error toast: Gradio titles every error toast "Error", in English (nor its
    # screen-reader status line, which speaks up to 5 s late); the vote's thanks above is an info toast
    for _ in range(12):
        assert pg.locator(".toast-body.error").count() == 0 and "Error" not in pg.locator("body").inner_text()
        time.sleep(0.5)
    assert pg.locator("#question-hint").inner_text().count("请先输入问题") == 1
    pg.screenshot(path=str(ARTIFACTS / "05b-empty-question.png"), full_page=True)

    pg.get_by_role("tab", name="案例查找").click()
    pg.locator("#case-query textarea").fill("讨薪")
    pg.locator("#case-search").click()
    pg.wait_for_function("document.querySelectorAll('#case-results .case').length >= 2", timeout=60_000)
    text = pg.locator("#case-results").inner_text()
    assert "义乌" in text and "12351" in text
    assert pg.locator("#case-results mark").count() >= 1
    pg.screenshot(path=str(ARTIFACTS / "06-cases.png"), full_page=True)

    # the filters: file names without folders; places are divisions, each once (not 江都 beside 江都区,
    # nor 港湾 or 琼港, words read as places in titles)
    pg.locator("#case-files input").click()
    files = pg.get_by_role("option").all_inner_texts()
    assert len(files) == 4 and not any("/" in f for f in files), files
    pg.locator("#case-places input").click()
    places = pg.get_by_role("option").all_inner_texts()
    assert "江都区" in places and "扬州市" in places, places
    assert not {"江都", "港湾", "琼港", "扬州市江都区总工会"} & set(places), places
    pg.get_by_role("option", name="江都区").click()
    pg.locator("#case-query textarea").fill("劳模")
    pg.locator("#case-search").click()
    pg.wait_for_function("document.querySelector('#case-results').innerText.includes('助推江都')", timeout=60_000)
    titles = pg.locator("#case-results .case-title").all_inner_texts()
    assert titles and all("义乌" not in t and "建湖" not in t for t in titles), titles


# on a phone (844 px high): the chat at the top of the screen, most of its height, the input box under it
_CHAT_FILLS_SCREEN_JS = """() => {
  const chat = document.getElementById('chat').getBoundingClientRect();
  const box = document.getElementById('question').getBoundingClientRect();
  return chat.top >= -1 && chat.top < 40 && chat.height >= 0.8 * window.innerHeight && box.top >= chat.bottom
    && box.bottom <= window.innerHeight;
}"""


def test_an_older_answers_citation_opens_its_own_source_on_a_phone(browser, app_url):
    """Found on a 390×844 phone: after a second question, [1] of the first answer opened the second
    answer's card.  Each answer now names its sources in its bubble and links to its own cards."""
    pg = _open(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        for i, question in enumerate(["货车司机之家的临时休息室里有什么?", "工资被拖欠了找谁?"], 1):
            _ask(pg, question)
            pg.wait_for_selector(f"#sources .src-group#ans-{i}", timeout=180_000)
        lists = pg.locator("#chat .answer-sources")
        assert lists.count() == 2  # each bubble carries its own short source list …
        first_title = pg.locator("#src-1-1 .src-head").text_content().split(" ", 1)[1]  # (folded)
        assert first_title.startswith("《") and first_title[:12] in lists.first.inner_text()  # (a long one is cut)
        # … in a worker's words: no file name (004_860c567145cca00b.txt), offsets, column or 无题报道 …
        for line in lists.all_inner_texts():
            assert not any(x in line for x in (".txt", "860c567145", "字符", "【", "无题", "栏目")), line
        files = pg.evaluate("[...document.querySelectorAll('#chat .answer-sources .src-line')].map(s => s.title)")
        assert files and all(f.endswith(".txt") for f in files), files  # … the file is the line's tooltip, for staff
        assert "徐州市贾汪区总工会" in lists.first.inner_text()  # where it is from: the byline's union, not 港湾
        # no label bar or toolbar over the first line of text; [n] big enough for a finger
        assert pg.locator("#chat [data-testid='block-label']").count() == 0
        assert not pg.locator("#chat .icon-button-wrapper.top-panel").is_visible()
        sizes = pg.evaluate("[...document.querySelectorAll('#chat a.cite')].map(a => {"
                            " const r = a.getBoundingClientRect(); return [r.width, r.height]; })")
        assert sizes and all(w >= 31.5 and h >= 31.5 for w, h in sizes), sizes
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        # 👍👎 finger-sized (Gradio draws them 18 px)
        votes = pg.evaluate("[...document.querySelectorAll('#chat .message-buttons button')].map(b => {"
                            " const r = b.getBoundingClientRect(); return [b.getAttribute('aria-label'), r.width, r.height]; })")
        assert [v[0] for v in votes] == ["Dislike", "Like"] * 2 and all(w >= 40 and h >= 40 for _, w, h in votes), votes
        # the chat is the screen's height, brought to its top on sending, with the input box under it on the screen:
        # its own scroll is the only one needed to read an answer down to its sources and 👍👎
        pg.wait_for_function(_CHAT_FILLS_SCREEN_JS, timeout=10_000)
        pg.screenshot(path=str(ARTIFACTS / "10-phone-two-answers.png"), full_page=True)
        # a vote says it was heard (a worker saw only the icon turn orange)
        pg.locator("#chat .message-buttons button[aria-label='Like']").first.click()
        pg.get_by_text("谢谢！已记下").first.wait_for(timeout=10_000)

        first = pg.locator("#chat a.cite").first  # [1] in the first answer's text
        assert first.get_attribute("href") == "#src-1-1"
        first.click()
        pg.wait_for_function("location.hash === '#src-1-1'", timeout=10_000)
        target = pg.locator(":target")
        assert target.get_attribute("id") == "src-1-1" and "折叠床" in "".join(target.locator("mark").all_inner_texts())
        assert "折叠床" not in "".join(pg.locator("#src-2-1 mark").all_inner_texts())  # the second answer's own card differs
        top, bottom = pg.evaluate("(() => { const r = document.querySelector(':target').getBoundingClientRect();"
                                  " return [r.top, r.bottom]; })()")
        assert top < 844 and bottom > 0  # scrolled to
        head = pg.locator("#ans-1 .src-q")  # … with its group's question above it, not cut off
        assert head.bounding_box()["y"] >= 0 and "第 1 问" in head.inner_text()
        assert pg.dialogs == []
        pg.screenshot(path=str(ARTIFACTS / "11-phone-older-citation.png"))
        # the card: the cited passage highlighted; the file and offsets folded under 原文位置
        loc = pg.locator("#src-1-1 details.src-loc")
        assert not loc.locator(".src-file").is_visible()
        assert ".txt" not in pg.locator("#src-1-1").inner_text() and "字符" not in pg.locator("#src-1-1").inner_text()
        loc.locator("summary").click()
        assert loc.locator(".src-file").inner_text().endswith(".txt") and "字符" in loc.inner_text()

        pg.locator("#ans-1 a.back").click()  # ↑ 回到对话: back up to the chat
        pg.wait_for_function("(() => { const r = document.getElementById('chat').getBoundingClientRect();"
                             " return r.top >= -1 && r.top < 200; })()", timeout=10_000)
    finally:
        pg.close()


# the last question asked is inside the chat's visible part and on the screen
_IN_VIEW_JS = """() => {
  const log = document.querySelector('#chat [role=log]');
  const asked = log.querySelectorAll('.message-row.user-row');
  const q = asked[asked.length - 1].getBoundingClientRect(), l = log.getBoundingClientRect();
  return q.top >= l.top - 1 && q.bottom <= l.bottom + 1 && q.top >= 0 && q.bottom <= window.innerHeight;
}"""


def _newest_question_in_view(pg) -> bool:
    return pg.evaluate(f"({_IN_VIEW_JS})()")


def test_a_new_answer_comes_into_view_on_a_phone(browser, app_url):
    """Found on a 390×844 phone: after scrolling the chat up (to tap an old [1]) a new answer stayed out
    of view behind a small ↓; with the input box near the top of the screen it appeared above it.
    Example chips only filled the box; now they ask at once, as the related topics do."""
    pg = _open(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        # before the first question the chat is short: the input box and the example questions are on the first screen
        assert pg.locator("#question").bounding_box()["y"] + pg.locator("#question").bounding_box()["height"] <= 844
        assert pg.locator("#worker-examples button").first.bounding_box()["y"] < 844
        for i, question in enumerate(["货车司机之家的临时休息室里有什么?", "工资被拖欠了找谁?"], 1):
            _ask(pg, question)
            pg.wait_for_selector(f"#sources .src-group#ans-{i}", timeout=180_000)
        # the chat scrolled up to its first answer, the page down so the input box is near the top
        pg.evaluate("document.querySelector('#chat [role=log]').scrollTop = 0")
        pg.evaluate("window.scrollTo(0, document.getElementById('question').getBoundingClientRect().top"
                    " + window.scrollY - 20)")
        assert not _newest_question_in_view(pg)
        _ask(pg, "劳模能享受哪些待遇?")
        pg.wait_for_selector("#sources .src-group#ans-3", timeout=60_000)
        pg.wait_for_function(f"({_IN_VIEW_JS})()", timeout=10_000)
        pg.screenshot(path=str(ARTIFACTS / "12-phone-new-answer-in-view.png"))

        # a chip below the input box: one tap asks (no Enter), and the answer is in view
        pg.evaluate("document.querySelector('#chat [role=log]').scrollTop = 0")
        chip = pg.locator("#worker-examples button", has_text="职工书屋能借书吗")
        chip.scroll_into_view_if_needed()
        chip.click()
        pg.wait_for_selector("#sources .src-group#ans-4", timeout=60_000)
        assert "职工书屋能借书吗" in pg.locator("#ans-4 .src-q").inner_text()
        pg.wait_for_function(f"({_IN_VIEW_JS})()", timeout=10_000)
        assert pg.locator("#question textarea").input_value() == ""  # asked, not left in the box
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390
        pg.screenshot(path=str(ARTIFACTS / "13-phone-example-chip.png"))
    finally:
        pg.close()


_TOPICS_ROW_JS = """(() => {
  const row = [...document.querySelectorAll('#topics .gallery')].find((e) => e.querySelector('button'));
  const overflows = row.scrollWidth > row.clientWidth;
  const mask = getComputedStyle(row).maskImage || getComputedStyle(row).webkitMaskImage;
  row.scrollLeft = row.scrollWidth;
  const buttons = row.querySelectorAll('button');
  return {overflows, mask, row_right: row.getBoundingClientRect().right,
          last_right_at_end: buttons[buttons.length - 1].getBoundingClientRect().right};
})()"""


def test_a_refusals_topics_leave_the_input_box_on_a_phones_screen(browser, app_url):
    """A helper trying the page on a 390×844 phone: after a refusal, its three related topics wrapped into
    a 170 px block above the input box and pushed the box below the screen.  They are one row that scrolls
    sideways now, and the chat gives them room: with the chat at the top of the screen, the box is on it."""
    pg = _open(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        _ask(pg, "司机之家洗澡要钱吗")  # the topic is in the bulletins, a price is not
        pg.wait_for_selector("#topics button", timeout=180_000)
        chat, topics, box = (pg.locator(s).bounding_box() for s in ("#chat", "#topics", "#question textarea"))
        assert chat["y"] < topics["y"] < box["y"] and topics["height"] < 80, (chat, topics, box)
        assert box["y"] + box["height"] - chat["y"] <= 844, (chat, box)  # the chat brought to the top: the box shows
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390  # the row scrolls inside, not the page
        # a phone zooms into a text box typed under 16 px when it is tapped (a helper trying the page saw 14 px)
        assert pg.evaluate("parseFloat(getComputedStyle(document.querySelector('#question textarea')).fontSize)") >= 16
        pg.screenshot(path=str(ARTIFACTS / "16-phone-refusal-topics.png"))
        # on a narrower phone the titles run past the screen's edge: that is no dead end — the row's right
        # edge fades (more this way), and scrolled to its end, the last title shows whole, left of the fade
        pg.set_viewport_size({"width": 320, "height": 640})
        row = pg.evaluate(_TOPICS_ROW_JS)
        assert row["overflows"] and row["mask"] != "none", row
        assert row["last_right_at_end"] <= row["row_right"] - 30, row
        pg.screenshot(path=str(ARTIFACTS / "16b-phone-320-topics-scrolled.png"))
    finally:
        pg.close()


_PANEL_JS = """(() => {
  const h = (e) => e.getBoundingClientRect().height;
  const groups = [...document.querySelectorAll('#sources details.src-group')];
  return {panel: h(document.getElementById('sources')), open: groups.filter(g => g.open).map(g => g.id),
          folded: groups.filter(g => !g.open).map(h), newest: h(groups[0])};
})()"""


def test_the_sources_panel_stays_about_one_answer_tall_on_a_phone(browser, app_url):
    """Found on a 390×844 phone: the sources panel under the chat grew with every answer (9,096 px after
    20).  Only the newest answer's cards are open; the older groups fold to their question, and an older
    answer's [n] unfolds its own group, with the cited sentence highlighted."""
    pg = _open(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    questions = ["货车司机之家的临时休息室里有什么?", "工资被拖欠了找谁?", "职工书屋能借书吗?", "劳模能享受哪些待遇?",
                 "有没有工会帮职工讨薪的案例?", "宝鸡工人文化宫每年培训多少人?", "有没有劳模工匠帮助企业的例子?"]
    try:
        for i, question in enumerate(questions, 1):
            _ask(pg, question)
            pg.wait_for_selector(f"#sources .src-group#ans-{i}", timeout=180_000)
        size = pg.evaluate(_PANEL_JS)
        assert size["open"] == [f"ans-{len(questions)}"], size  # the newest answer's cards …
        assert len(size["folded"]) == len(questions) - 1 and all(h <= 60 for h in size["folded"]), size  # … older: a line
        assert size["panel"] <= size["newest"] + 60 * len(size["folded"]) + 60, size
        pg.screenshot(path=str(ARTIFACTS / "14-phone-panel-folded.png"), full_page=True)

        first = pg.locator("#chat a.cite[href='#src-1-1']").first  # the first answer's [1]: its group is folded
        assert not pg.locator("#src-1-1 mark").is_visible()
        # the page's own script unfolds it (not only Chromium, which unfolds on navigation: stopped here)
        pg.evaluate("""(() => { const a = document.querySelector("#chat a.cite[href='#src-1-1']");
            a.addEventListener('click', e => e.preventDefault(), {once: true}); a.click(); })()""")
        assert pg.evaluate("document.getElementById('ans-1').open")
        pg.evaluate("document.getElementById('ans-1').open = false")
        first.click()
        pg.wait_for_function("location.hash === '#src-1-1'", timeout=10_000)
        mark = pg.locator("#src-1-1 mark").first
        assert mark.is_visible() and "折叠床" in mark.inner_text()
        top, bottom = pg.evaluate("(() => { const r = document.querySelector('#src-1-1 mark').getBoundingClientRect();"
                                  " return [r.top, r.bottom]; })()")
        assert 0 <= top and bottom <= 844  # scrolled to
        pg.screenshot(path=str(ARTIFACTS / "15-phone-folded-citation-opened.png"))
    finally:
        pg.close()


def test_a_follow_up_on_the_page_keeps_its_subject(browser, app_url):
    """A follow-up typed on the page reads the conversation: Gradio 6 sends the chat back as message
    parts, which the page dropped, so 那要钱不 after asking about truck drivers' showers was read
    alone (its nearest sentence came from an unrelated wage case)."""
    pg = _open(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        for i, question in enumerate(["工资被拖欠了找谁?", "开大车的 路上哪能洗个澡睡一觉", "那要钱不"], 1):
            _ask(pg, question)
            pg.wait_for_selector(f"#sources .src-group#ans-{i}", timeout=180_000)
        answer = _last_bot(pg).inner_text()
        assert "收费" in answer, answer  # asked a price the bulletins do not give: said so …
        assert "司机" in pg.locator("#src-3-1").inner_text(), answer  # … with the nearest sentence on its subject
    finally:
        pg.close()


def test_twenty_concurrent_questions(app_url):
    from gradio_client import Client

    url, _ = app_url
    qs = ["工资被拖欠了找谁?", "货车司机之家的临时休息室里有什么?", "宝鸡工人文化宫每年培训多少人?", "怎么办理护照?",
          "有没有工会帮职工讨薪的案例?"] * 4

    def one(q):
        c = Client(url, verbose=False)
        t = time.perf_counter()
        out = c.predict(q, [], api_name="/ask")
        return time.perf_counter() - t, out

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, qs))
    lat = sorted(r[0] for r in results)
    for (_, out), q in zip(results, qs):
        chat = out[0]
        assert chat[-1]["role"] == "assistant" and chat[-1]["content"], q
    ARTIFACTS.mkdir(exist_ok=True)
    stats = {"n": len(lat), "errors": 0, "p50_s": round(statistics.median(lat), 3),
             "p95_s": round(lat[int(0.95 * (len(lat) - 1))], 3), "max_s": round(lat[-1], 3)}
    (ARTIFACTS / "concurrency.json").write_text(json.dumps(stats), encoding="utf-8")
    print("concurrency:", stats)
