"""The Gradio app module without a browser: it builds, escapes bulletin text, logs feedback."""

import json
import sys

import pytest

from qa.answer import Answerer
from qa.answerability import AnswerabilityModel
from qa.cases import Origin

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
import app  # noqa: E402
import qa.page_html as page  # noqa: E402


@pytest.fixture
def script_index(index_of):
    return index_of({"evil.txt": "职工书屋开放\n\n本刊讯 职工书屋藏书<script>alert(1)</script>3000册,欢迎借阅。\n",
                     "ok.txt": "货车司机之家\n\n本刊讯 货车司机之家有淋浴间。\n"})


def test_bulletin_script_is_escaped_everywhere(script_index, hash_embedder):
    a = Answerer(script_index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = a.ask("职工书屋藏书多少册?")
    assert "<script>" in ans.text  # the library keeps the text verbatim …
    chat = page.render_answer(ans, 1)
    side = page.render_sources(ans, script_index.texts, 1)
    assert "<script>" not in chat and "&lt;script&gt;" in chat  # … the page shows it as text
    assert "<script>" not in side and "&lt;script&gt;" in side
    # anchors name the answer too (src-<answer>-<n>): an older answer's [1] keeps its own card
    assert '<a class="cite" href="#src-1-1">[1]</a>' in chat and 'id="src-1-1"' in side and "<mark>" in side


def test_refusal_renders_its_nearest_sentence_and_topics(script_index, hash_embedder):
    a = Answerer(script_index, hash_embedder)
    ans = a.ask("量子计算机的原理是什么?")
    assert ans.refused and ans.topics
    html = page.render_sources(ans, script_index.texts, 1)
    assert "没有能回答" in html
    if ans.citations:  # the nearest sentence is cited and shown like any citation
        assert 'id="src-1-1"' in html and "<mark>" in html
    update = app.create_app(a).fns  # the page builds with the topic chips wired
    assert update
    chat = page.render_answer(ans, 1)  # the topics are chips under the input box: the text points there …
    assert "可以问问这些相关话题" not in chat and page.TOPICS_HINT in chat
    assert "可以问问这些相关话题" in ans.text  # … the answer itself (API, command line) still names them


def test_a_refusal_names_its_topics_once_on_the_page():
    from qa.records import TOPICS_LEAD, Answer

    ans = Answer("司机之家洗澡要钱吗", "抱歉，公报里没有找到收费标准。\n公报里最接近的内容：配有淋浴间。[1]"
                 + TOPICS_LEAD + "建好“货车司机之家”；暖心开展高品质服务", (_cite(1),), refused=True,
                 topics=("建好“货车司机之家”", "暖心开展高品质服务"))
    chat = page.render_answer(ans, 2)
    assert "暖心开展高品质服务" not in chat and "建好" not in chat  # once: the chips under the input box
    assert chat.startswith("抱歉，公报里没有找到收费标准。  \n公报里最接近的内容：配有淋浴间。"
                           '<a class="cite" href="#src-2-1">[1]</a>  \n' + page.TOPICS_HINT)
    assert page.TOPICS_HINT in page.render_sources(Answer("问", "抱歉。", (), refused=True, topics=("甲",)), {}, 1)
    plain = Answer("问", "甲。[1]" + TOPICS_LEAD + "乙", (_cite(1),))  # not a refusal: its text as it is
    assert "乙" in page.render_answer(plain, 1)


def test_create_app_builds_without_launching(script_index, hash_embedder, tmp_path):
    import gradio as gr

    demo = app.create_app(Answerer(script_index, hash_embedder), data_dir=tmp_path)
    assert isinstance(demo, gr.Blocks)
    names = {getattr(fn, "api_name", None) for fn in demo.fns.values()}
    assert {"ask", "cases"} <= names


def test_render_cases_highlights_terms_and_escapes():
    from qa.cases import CaseResult

    c = CaseResult("<b>标题</b>", "滨江市总工会", "新闻速递", "x.txt", "追回欠薪58万元<i>", 1, 9, "追回欠薪58万元<i>", 1.0, 0)
    html = page.render_cases([c], "欠薪")
    assert "<mark>欠薪</mark>" in html and "&lt;b&gt;" in html and "<i>" not in html


def test_feedback_log_appends_jsonl(tmp_path):
    fb = app.FeedbackLog(tmp_path)
    for vote in ("up", "down"):
        fb.record({"question": "q", "answer": "a", "citations": [], "vote": vote, "time": "t"}).join(5)
    rows = [json.loads(x) for x in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["vote"] for r in rows] == ["up", "down"]


def test_turns_strip_markup():
    hist = [{"role": "user", "content": "江宁区呢?"}, {"role": "assistant", "content": '答案<a class="cite" href="#src-1">[1]</a>'}]
    assert app.prior_turns(hist)[1]["content"] == "答案[1]"


@pytest.mark.parametrize("content, text", [
    ([{"type": "text", "text": "开大车的 路上哪能洗个澡"}], "开大车的 路上哪能洗个澡"),  # how the page sends the chat back
    ([{"type": "text", "text": "甲"}, {"type": "text", "text": "乙"}], "甲\n乙"),
    ("开大车的 路上哪能洗个澡", "开大车的 路上哪能洗个澡"),  # API callers' plain strings
    ([{"type": "file", "path": "x.png"}], None),
    (None, None),
])
def test_turns_read_the_page_s_message_parts(content, text):
    """Gradio 6 sends the chat back with each message's content as a list of parts: a follow-up
    (那要钱不) must still see them (they were dropped, so follow-ups on the page lost their subject)."""
    turns = app.prior_turns([{"role": "user", "content": content}])
    assert [t["content"] for t in turns] == ([text] if text is not None else [])


# ---------------------------------------------------------------- each answer's own sources

def _cite(n, title="货车司机之家开门迎客", source="corpus/b_trucks.txt", start=0, end=4, page=None, verified=True):
    from qa.records import Citation

    return Citation(n, source, title, start, end, "本刊讯", verified, page)


def _answer(text, *citations, refused=False):
    from qa.records import Answer

    return Answer("问", text, tuple(citations), refused=refused)


def _visible(html: str) -> str:
    """What a reader sees of ``html`` without hovering: its tooltips (title="…") left out."""
    import re

    return re.sub(r' title="[^"]*"', "", html)


@pytest.mark.parametrize("title, shown", [
    ("货车司机之家开门迎客", "《货车司机之家开门迎客》"),
    ("<b>粗</b><script>x</script>" * 2, "《&lt;b&gt;粗&lt;/b&gt;&lt;script&gt;x&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt;&lt;…》"),  # cut, then escaped
    ("*强*_斜_[链](x)`码`#|~", r"《\*强\*\_斜\_\[链\](x)\`码\`\#\|\~》"),
    ("", "本刊讯…"),  # no title: the cited passage's first words (not 无题报道)
    ("（无题）日前,铁法煤业(集团)有限责任公司", "日前,铁法煤业(集团)有限责任公…"),  # a fragment: its first words, cut
    ("安徽:『12351』热线 已帮职工追回欠薪2100余万元", "《安徽:『12351』热线 已帮职工追回欠薪2100余万元》"),  # whole, with its figure
    ("铁岭市总深化职工书屋建设,拓展服务功能,延伸服务触角—— 职工身边有了“精神文化家园”",
     "《铁岭市总深化职工书屋建设,拓展服务功能,延伸服务触角—— 职工身边有了…》"),  # cut
])
def test_each_answer_carries_its_own_escaped_source_list(title, shown):
    ans = _answer("补发加班费3.6万元。[1]", _cite(1, title, "seeds/sub/x_y.txt#2", page=None))
    msg = page.render_answer(ans, 3)
    text, listing = msg.split("\n\n", 1)
    assert text.endswith('<a class="cite" href="#src-3-1">[1]</a>')
    assert listing.startswith(page.SOURCE_LIST) and listing.endswith("</small>")
    # where the passage is from, in a worker's words; the file name only as the line's tooltip, for staff
    assert listing == (f'{page.SOURCE_LIST}<span class="src-line" title="x_y.txt"><a class="cite" href="#src-3-1">[1]</a>'
                       f' {shown}</span></small>')
    assert "<b>" not in msg and "<script>" not in msg and "字符" not in msg  # offsets are for the panel
    assert "x_y" not in _visible(msg) and "x\\_y" not in msg and "无题" not in msg


@pytest.mark.parametrize("origin, shown", [
    (Origin("", "滨海县总工会", "【主席之声】"), "《货车司机之家开门迎客》 · 滨海县总工会"),  # no column
    (Origin("", "", ""), "《货车司机之家开门迎客》"),
    (Origin("", "<i>河西</i>_市", ""), "《货车司机之家开门迎客》 · &lt;i&gt;河西&lt;/i&gt;\\_市"),  # escaped
])
def test_the_source_line_names_the_place(origin, shown):
    ans = _answer("甲。[1]", _cite(1, page=2))
    listing = page.render_source_list(ans, 1, {1: origin})
    assert listing == (f'{page.SOURCE_LIST}<span class="src-line" title="b_trucks.txt"><a class="cite" href="#src-1-1">'
                       f'[1]</a> {shown} · 第 2 页</span></small>')
    assert page.render_answer(ans, 1, {1: origin}).endswith(listing)


def test_an_untitled_fragment_is_named_by_its_first_words():
    """Not by its column (【图说新闻】栏目, 【主席之声】) nor as 无题报道, which told a worker nothing."""
    ans = _answer("甲。[1]", _cite(1, "（无题）近日,亭湖区总工会组织", "c.txt"))
    listing = page.render_source_list(ans, 1, {1: Origin("", "亭湖区总工会", "图说新闻")})
    assert "[1]</a> 近日,亭湖区总工会组织… · 亭湖区总工会</span>" in listing
    assert "无题" not in listing and "图说新闻" not in listing
    card = page.render_sources(ans, {"c.txt": "甲乙丙丁"}, 1, {1: Origin("", "亭湖区总工会", "【图说新闻】")})
    assert '<div class="src-head">[1] 近日,亭湖区总工会组织…</div>' in card
    assert '<div class="src-meta">亭湖区总工会</div>' in card
    assert "【图说新闻】" in card[card.index('<details class="src-loc">'):]  # the column: for staff, folded away


def test_a_bulletin_with_a_chinese_file_name_is_named_by_it():
    """The index knows no issue name but the file's: shown when it reads as one, else only under 原文位置."""
    assert page.bulletin_name("bulletins/江苏工会通讯2024年第3期.pdf") == "江苏工会通讯2024年第3期"
    assert page.bulletin_name("seeds/004_860c567145cca00b.txt") == page.bulletin_name("x/issue3.docx") == ""
    assert page.bulletin_name("records/工会动态.jsonl#17") == "工会动态"
    assert page.bulletin_name("data/uploads/滨海_公报-cc7a1997ff.pdf") == "滨海 公报"  # as staff uploaded it
    c = _cite(1, "送清凉", "bulletins/江苏工会通讯<2024>第3期.pdf", page=5)
    ans = _answer("甲。[1]", c)
    assert ("[1]</a> 《送清凉》 · 青山县总工会 · 江苏工会通讯&lt;2024&gt;第3期 · 第 5 页</span>"
            in page.render_source_list(ans, 1, {1: Origin("", "青山县总工会", "")}))
    card = page.render_sources(ans, {c.source: "本刊讯 送清凉"}, 1, {1: Origin("", "青山县总工会", "")})
    assert '<div class="src-meta">青山县总工会 · 江苏工会通讯&lt;2024&gt;第3期 · 第 5 页</div>' in card


def test_the_source_list_is_one_line_per_article_and_page():
    ans = _answer("甲。[1]乙。[2]丙。[3]丁。[4]", _cite(1, page=2), _cite(2, page=2), _cite(3, page=3),
                  _cite(4, "职工书屋", "c.pdf", page=None))
    listing = page.render_source_list(ans, 1)
    lines = listing.removeprefix(page.SOURCE_LIST).removesuffix("</small>").split("<br>")
    assert lines == [
        '<span class="src-line" title="b_trucks.txt"><a class="cite" href="#src-1-1">[1]</a>'
        '<a class="cite" href="#src-1-2">[2]</a> 《货车司机之家开门迎客》 · 第 2 页</span>',
        '<span class="src-line" title="b_trucks.txt"><a class="cite" href="#src-1-3">[3]</a> 《货车司机之家开门迎客》'
        ' · 第 3 页</span>',
        '<span class="src-line" title="c.pdf"><a class="cite" href="#src-1-4">[4]</a> 《职工书屋》</span>']


def test_an_answer_without_citations_has_no_source_list():
    ans = _answer("公报里没有找到。", refused=True)
    assert page.render_source_list(ans, 1) == "" and page.SOURCE_LIST not in page.render_answer(ans, 1)


@pytest.mark.parametrize("turn", [0, -1, True, "1", 1.0, None])
def test_an_answer_number_is_a_whole_number_from_1(turn):
    ans = _answer("甲。[1]", _cite(1))
    for render in (lambda: page.render_answer(ans, turn), lambda: page.render_sources(ans, {}, turn),
                   lambda: page.render_group(turn, "问", "")):
        with pytest.raises(ValueError, match="answer number"):
            render()


def test_cards_keep_the_file_and_offsets_for_staff_under_their_location():
    text = "货车司机之家\n\n本刊讯 货车司机之家有淋浴间。\n"
    start = text.index("货车司机之家有")
    c = _cite(1, "<i>司机</i>", "seeds/b_trucks.txt", start, len(text) - 1, page=4, verified=False)
    card = page.render_sources(_answer("甲。[1]", c), {"seeds/b_trucks.txt": text}, 2)
    assert 'id="src-2-1"' in card and "&lt;i&gt;司机&lt;/i&gt;" in card and "<i>" not in card
    assert "<mark>货车司机之家有淋浴间。</mark>" in card  # the cited passage, its sentence highlighted
    shown, folded = card.split('<details class="src-loc">')
    assert "b_trucks" not in shown and "字符" not in shown  # the first lines: title, passage, place, page …
    assert '<div class="src-meta">第 4 页 · <span class="src-warn"' in shown and "⚠" in shown  # … and a failed check
    assert "⚠" not in card[:card.index("<p>")]
    assert folded == (f'<summary>原文位置</summary><span class="src-file">b_trucks.txt</span> · '
                      f'<span class="src-pos" title="被引句子在原文件中的字符位置">字符 {start}–{len(text) - 1}</span>'
                      '</details></div>')
    placed = page.render_sources(_answer("甲。[1]", c), {"seeds/b_trucks.txt": text}, 2,
                                {1: Origin("", "青山县<b>总工会</b>", "新闻速递")})
    assert '<div class="src-meta">青山县&lt;b&gt;总工会&lt;/b&gt; · 第 4 页 · <span class="src-warn"' in placed
    assert '<span class="src-file">b_trucks.txt</span> · 新闻速递 · <span class="src-pos"' in placed


def test_the_panel_keeps_groups_newest_first_and_bounded():
    groups = []
    for turn in range(1, page.KEPT_SOURCES + 6):
        groups = page.add_group(groups, page.new_group(turn, f"问题{turn}", f'<div class="src" id="src-{turn}-1"></div>'))
    assert len(groups) == page.KEPT_SOURCES
    assert groups[0]["turn"] == 25 and groups[-1]["turn"] == 6
    panel = page.render_panel(groups)
    assert panel.index('id="ans-25"') < panel.index('id="ans-24"')
    pending = page.render_panel(groups, pending=True)  # an answer being written: pending above the older groups
    assert pending.startswith(page.SOURCES_PENDING) and pending.endswith(panel)
    assert page.render_panel([]) == page.SOURCES_EMPTY and page.render_panel([], pending=True) == page.SOURCES_PENDING


def test_only_the_newest_group_is_open_the_older_ones_fold_to_their_question():
    """On a phone the panel grew with every answer (9,096 px after 20); the older groups now fold to
    their question, their cards still there for their [n] to unfold."""
    groups = []
    for turn in range(1, 6):
        groups = page.add_group(groups, page.new_group(turn, f"问题{turn}", f'<div class="src" id="src-{turn}-1"></div>'))
    panel = page.render_panel(groups)
    assert panel.startswith('<details class="src-group" id="ans-5" open><summary class="src-q">')
    assert panel.count('<details class="src-group"') == 5 and panel.count(" open>") == page.OPEN_GROUPS == 1
    for turn in range(1, 5):
        assert f'<details class="src-group" id="ans-{turn}"><summary class="src-q">' in panel  # folded …
        assert f'id="src-{turn}-1"' in panel  # … with its cards


@pytest.mark.parametrize("question", ["<script>alert(1)</script>工资?", "a & b <i>", "**粗** [1](#x)"])
def test_a_group_heads_with_its_escaped_question(question):
    import html

    group = page.render_group(2, question, "<p>卡片</p>")
    assert f"第 2 问：{html.escape(question)}</span>{page.BACK_TO_CHAT}</summary><p>卡片</p></details>" in group
    assert "<script>" not in group and "<i>" not in group
    assert page.BACK_TO_CHAT == '<a class="back" href="#chat">↑ 回到对话</a>'  # the chat's own id


def _respond(demo):
    return next(f.fn for f in demo.fns.values() if getattr(f, "api_name", None) == "ask")


def _ask_page(respond, question, out=None):
    """One question the way the page asks it (chat, answers and groups carried over); the last output."""
    chat, answers, groups = (out[0], out[2], out[5]) if out else ([], [], [])
    return list(respond(question, chat, answers, groups))[-1]


def _card(panel: str, anchor: str) -> str:
    start = panel.index(f'<div class="src" id="{anchor}">')
    return panel[start:panel.index('<div class="src-meta">', start)]


def test_an_older_answers_citation_still_lands_on_its_own_card(tiny_index, hash_embedder, tmp_path):
    import html
    import re

    respond = _respond(app.create_app(Answerer(tiny_index, hash_embedder, answerability=AnswerabilityModel.always()),
                                      data_dir=tmp_path))
    first = _ask_page(respond, "江宁区总工会追回多少工资?")
    second = _ask_page(respond, "货车司机之家有什么?", first)
    chat, panel, answers, groups = second[0], second[1], second[2], second[5]
    assert len(groups) == 2 and panel == page.render_panel(groups)
    assert panel.index('id="ans-2"') < panel.index('id="ans-1"')  # newest first, each headed by its question
    assert "第 1 问：江宁区总工会追回多少工资?" in panel and "第 2 问：货车司机之家有什么?" in panel
    ids = re.findall(r'id="(src-\d+-\d+)"', panel)
    assert len(ids) == len(set(ids)) and {"src-1-1", "src-2-1"} <= set(ids)
    for k, message in ((0, chat[1]["content"]), (1, chat[3]["content"])):
        assert page.SOURCE_LIST in message  # the bubble names its own sources
        cited = answers[k]["citations"]
        for href in set(re.findall(r'href="#(src-\d+-\d+)"', message)):
            turn, n = map(int, href.split("-")[1:])
            assert turn == k + 1  # every link of an answer points into its own group
            passage = next(c["text"] for c in cited if c["n"] == n)
            assert f"<mark>{html.escape(passage)}</mark>" in _card(panel, href)
    assert "128名" in _card(panel, "src-1-1") and "货车司机之家" in _card(panel, "src-2-1")


def test_clearing_empties_the_panel_and_numbers_start_again(tiny_index, hash_embedder, tmp_path):
    respond = _respond(app.create_app(Answerer(tiny_index, hash_embedder, answerability=AnswerabilityModel.always()),
                                      data_dir=tmp_path))
    before = _ask_page(respond, "江宁区总工会追回多少工资?")
    chat, panel, answers, groups, topics = app.cleared()
    assert chat == [] and answers == [] and groups == [] and panel == page.SOURCES_EMPTY
    assert topics["visible"] is False
    after = _ask_page(respond, "货车司机之家有什么?", (chat, panel, answers, None, topics, groups))
    assert 'id="ans-1"' in after[1] and "江宁区" not in after[1] and before[1] != after[1]


def test_a_refusal_keeps_its_head_and_nearest_sentence_in_its_group(script_index, hash_embedder, tmp_path):
    respond = _respond(app.create_app(Answerer(script_index, hash_embedder), data_dir=tmp_path))
    first = _ask_page(respond, "货车司机之家有什么?")
    refusal = _ask_page(respond, "量子计算机的原理是什么?", first)
    assert refusal[2][-1]["refused"]
    newest = refusal[5][0]
    assert newest["turn"] == 2 and "公报里没有能回答这个问题的内容。" in newest["cards"]
    assert refusal[1].startswith('<details class="src-group" id="ans-2" open>')
    assert refusal[5][1] == first[5][0]  # the earlier answer's group is kept as it was (folded)
    assert '<details class="src-group" id="ans-1"><summary' in refusal[1]
    if refusal[2][-1]["citations"]:
        assert 'id="src-2-1"' in newest["cards"] and "<mark>" in newest["cards"]


def test_follow_ups_read_an_answer_without_its_source_list():
    ans = _answer("货车司机之家有淋浴间。[1]", _cite(1))
    turns = app.prior_turns([{"role": "user", "content": "司机之家有什么?"},
                        {"role": "assistant", "content": page.render_answer(ans, 1)}])
    assert turns[1]["content"] == "货车司机之家有淋浴间。[1]"


@pytest.mark.parametrize("text", ["工资*236万元*、A&B <小> [注] 1_2|3#4~5\\。[1]第二句`代码`。[2]", "那江都呢?", "a\\b"])
def test_follow_ups_read_the_earlier_turns_as_shown_not_as_escaped(text):
    """A follow-up is read with the earlier answers' words (what they cited is not given again): the
    page's escaping of HTML and Markdown is undone, so the cited spans are found in the sentences."""
    ans = _answer(text, _cite(1), _cite(2))
    turns = app.prior_turns([{"role": "user", "content": page.esc(text)}, {"role": "assistant", "content": page.render_answer(ans, 1)}])
    assert [t["content"] for t in turns] == [text, text]


# ---------------------------------------------------------------- the page's wiring (phone user-test)

def _fns(demo) -> dict:
    """The page's event functions by name (the first of each name)."""
    out = {}
    for f in demo.fns.values():
        out.setdefault(getattr(f.fn, "__name__", None), f)
    return out


@pytest.mark.parametrize("empty", ["", "   ", "\u3000\n", "\x00 ", "？？", "?!"])
def test_an_empty_question_gets_a_hint_and_no_error_toast(tiny_index, hash_embedder, tmp_path, empty):
    import gradio as gr

    fns = _fns(app.create_app(Answerer(tiny_index, hash_embedder), data_dir=tmp_path))
    shown = fns["question_hint"].fn(empty)
    assert shown["visible"] is True and shown["value"] == app.EMPTY_QUESTION and "Error" not in shown["value"]
    with pytest.raises(gr.Error) as stopped:  # stops the chain before respond, without a toast
        fns["require_question"].fn(empty)
    assert stopped.value.visible is False
    assert fns["require_question"].show_progress == "hidden"  # nor "Error" in the screen-reader status line
    with pytest.raises(gr.Error, match="请先输入问题"):  # the ask API still says why
        list(fns["respond"].fn(empty, [], [], []))


def test_a_real_question_hides_the_hint(tiny_index, hash_embedder, tmp_path):
    fns = _fns(app.create_app(Answerer(tiny_index, hash_embedder), data_dir=tmp_path))
    assert fns["question_hint"].fn("工资被拖欠了找谁?")["visible"] is False
    assert fns["require_question"].fn("工资被拖欠了找谁?") is None


def test_example_chips_ask_at_once_like_the_topics(tiny_index, hash_embedder, tmp_path):
    """职工常问 / 工会干部常问 only filled the box; now a tap asks, as a related topic's tap does."""
    demo = app.create_app(Answerer(tiny_index, hash_embedder), data_dir=tmp_path)
    by_elem = {b.elem_id: i for i, b in demo.blocks.items() if getattr(b, "elem_id", None)}
    samples = {e: [s[0] for s in demo.blocks[by_elem[e]].samples] for e in ("worker-examples", "staff-examples")}
    assert samples == {"worker-examples": app.WORKER_EXAMPLES, "staff-examples": app.STAFF_EXAMPLES}
    fns = list(demo.fns.values())
    for elem in ("worker-examples", "staff-examples", "topics"):
        chip = next(f for f in fns if (by_elem[elem], "click") in f.targets and f.fn is not None)
        answer = next(f for f in fns if f.trigger_after == chip._id)
        assert chip.fn.__name__ == "ask_chip" and answer.fn.__name__ == "respond"
        assert any(f.trigger_after == answer._id and f.fn is None and f.js == app.SHOW_ANSWER_JS for f in fns)
        assert any((by_elem[elem], "click") in f.targets and f.js == app.SHOW_CHAT_JS for f in fns)
    text, hint = _fns(demo)["ask_chip"].fn(["职工书屋能借书吗?"])
    assert text == "职工书屋能借书吗?" and hint["visible"] is False


def test_the_chat_has_no_label_bar_or_toolbar(tiny_index, hash_embedder, tmp_path):
    demo = app.create_app(Answerer(tiny_index, hash_embedder), data_dir=tmp_path)
    chat = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "chat")
    assert chat.show_label is False and list(chat.buttons) == []  # no share, copy-all or (HTML-)copy buttons


def test_the_file_filter_shows_file_names():
    assert page.file_choices(["seeds/000_a.txt", "up/b.pdf"]) == [("000_a.txt", "seeds/000_a.txt"), ("b.pdf", "up/b.pdf")]
    # two folders with the same file name: the full names tell them apart
    assert page.file_choices(["a/x.txt", "b/x.txt"]) == [("a/x.txt", "a/x.txt"), ("b/x.txt", "b/x.txt")]


def test_citations_of_one_paragraph_share_one_card():
    from qa.records import Citation

    text = "热线开通\n“12351”热线开通。热线提供“7×24小时”服务。\n另一段:欢迎来电。\n"
    s1, s2, s3 = text.index("“12351”"), text.index("热线提供"), text.index("欢迎来电")
    cits = (Citation(1, "a.txt", "热线开通", s1, s1 + 11, text[s1:s1 + 11]),
            Citation(2, "a.txt", "热线开通", s2, s2 + 15, text[s2:s2 + 15]),
            Citation(3, "a.txt", "热线开通", s3, s3 + 4, text[s3:s3 + 4]))
    side = page.render_sources(_answer("甲[1]乙[2]丙[3]", *cits), {"a.txt": text}, 4)
    assert side.count('<div class="src"') == 2  # [1] and [2] are one paragraph: one card, not the same text twice
    assert 'id="src-4-1"' in side and 'id="src-4-2"' in side and 'id="src-4-3"' in side  # every [n] lands
    first = side[:side.index('<div class="src" id="src-4-3"')]
    assert "[1][2] " in first and first.count("<mark>") == 2 and "字符 %d–%d、字符 %d–%d" % (s1, s1 + 11, s2, s2 + 15) in first
    assert first.count("热线提供") == 1
