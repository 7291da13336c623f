"""The chat page: Gradio app over qa.answer.Answerer.

- 问答 tab: cited answers (an LLM's streamed as it writes, an extractive one sent whole), each with a
  short list of its sources under it (title, place, bulletin, page); its [n] markers link to its own cards
  in the sources panel (the session's last answers, newest first, the older ones folded to their
  question and unfolded by their [n], each group with a way back to the chat), which show each cited
  passage in its paragraph with the cited sentence highlighted (file and offsets folded under 原文位置);
  refusals show nearby topics (once: as chips); example and topic chips ask at once; sending scrolls the
  chat to the new question; follow-ups use the conversation; 👍/👎 feedback is appended to
  ``<data dir>/feedback.jsonl``.
- 案例查找 tab: one result per article, filters by bulletin/column/place (divisions), CSV/Markdown export
  (``qa.exports``: formula-safe CSV, escaped Markdown, in one pruned folder).
- 管理 tab, only when ``QA_ADMIN_PASSWORD`` is set (``qa.staff``): after the password, staff upload
  bulletins (added as a delta segment with a progress bar while the chat keeps answering, then the
  page moves to the new index), see the indexed bulletins and remove uploaded ones, and read the 👎
  answers (newest first) with a CSV export.  Its events are private and check the session's sign-in;
  the guard lets only a signed-in page upload.

Every string from the page is cleaned once (``qa.inputs.sanitise``); feedback is rate-limited and
rotated (``qa.feedback``); ``qa.http_guard`` refuses unknown hosts (``QA_ALLOWED_HOSTS``), uploads
and framing.

All bulletin text is HTML-escaped before display.  ``create_app()`` builds the Blocks without
launching; ``python app.py`` loads (or builds) the index, serves the page at once and loads the model in
the background (``qa.warmup``): a question asked before the model is ready shows "正在加载模型…" and is
answered when it is.  The related words' vectors (``qa.related``) are made after that, still in the
background; a question asked meanwhile is answered without related words rather than wait.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a closed network

import gradio as gr  # noqa: E402

from qa.answer import Answerer  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.exports import EXPORT_LIFETIME_S, ExportFolder, to_csv, to_markdown  # noqa: E402
from qa.feedback import FeedbackLog  # noqa: E402
from qa.inputs import for_log, sanitise  # noqa: E402
from qa.records import Answer  # noqa: E402
from qa.page_html import (ALL_HINT, SOURCE_LIST, SOURCES_EMPTY, add_group, esc, file_choices, new_group,  # noqa: E402
                          plain, render_answer, render_cases, render_panel, render_sources)
from qa.retrieve import MAX_QUESTION_CHARS  # noqa: E402
from qa.staff import UPLOAD_SUFFIXES, Staff, StaffAccess, admin_password, citation_text, thumbs_down_csv  # noqa: E402
from qa.warmup import Background  # noqa: E402

log = logging.getLogger("gonghui-qa")

WORKER_EXAMPLES = ["工资被拖欠了找谁?", "货车司机哪里能休息洗澡?", "职工书屋能借书吗?", "劳模能享受哪些待遇?"]
STAFF_EXAMPLES = ["有没有工会帮职工讨薪的案例?", "有没有劳模工匠帮助企业的例子?", "工会怎么帮新就业形态劳动者解决休息难的问题?"]

CSS = """
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin-bottom: 8px;
  scroll-margin-top: 44px; }
#sources .src:target, #sources .src:has(.src-anchor:target) { outline: 2px solid var(--color-accent); }
#sources .src-head { font-weight: 600; margin-bottom: 4px; }
#sources .src-meta { color: var(--body-text-color-subdued); font-size: 12px; }
#sources .src-file { color: var(--body-text-color); }
#sources .src-pos { white-space: nowrap; }
/* 原文位置 (file, column, offsets: for staff checking a citation), folded under the card */
#sources .src-loc { color: var(--body-text-color-subdued); font-size: 12px; }
#sources .src-loc summary { width: fit-content; cursor: pointer; padding: 4px 0; color: inherit; }
#sources .src-warn { color: #b45309; }
#sources .src-group { scroll-margin-top: 8px; }
#sources .src-group + .src-group { margin-top: 8px; }
#sources .src-group[open] + .src-group { margin-top: 16px; }
/* a group's question stays on top while its cards scroll by, with the way back to the chat (Gradio's
   container clips with overflow: hidden, which would make it the sticky header's scroller: clip does not) */
.gradio-container { overflow: clip !important; }
#sources .src-q { position: sticky; top: 0; z-index: 1; display: flex; align-items: center; gap: 8px; min-height: 36px;
  margin-bottom: 6px; background: var(--block-background-fill); font-size: 13px; font-weight: 600; cursor: pointer;
  list-style: none; }
/* older answers' groups are folded to their question (a tap on it, or on one of their [n], unfolds them) */
#sources .src-q::-webkit-details-marker { display: none; }
#sources .src-q::before { content: "▸"; flex: none; width: 1em; opacity: 0.7; }
#sources .src-group[open] > .src-q::before { content: "▾"; }
#sources .src-group:not([open]) .back { display: none; }
#sources .src-q-text { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  color: var(--body-text-color); opacity: 0.7; }
#sources .back { flex: none; font-size: 13px; font-weight: 400; text-decoration: none; padding: 6px 4px; }
#sources .src p, #chat .answer-sources { overflow-wrap: anywhere; }
#chat .answer-sources { display: block; font-size: 12px; line-height: 1.6; color: var(--body-text-color); opacity: 0.75;
  border-top: 1px solid var(--border-color-primary); padding-top: 4px; }
#chat .answer-sources .cite { color: inherit; }
#sources mark, #case-results mark { background: #ffe58f; padding: 0 1px; }
#case-results .case { border-bottom: 1px solid var(--border-color-primary); padding: 8px 0; }
#case-results .case-title { font-weight: 600; }
/* [n]: a finger-sized target (about 32 px) that does not push the lines of text apart */
.cite { display: inline-flex; align-items: center; justify-content: center; box-sizing: border-box; min-width: 32px;
  min-height: 32px; margin: -7px 0; padding: 0 2px; vertical-align: baseline; text-decoration: none; font-weight: 600; }
/* the chat's own toolbar (its trash icon cleared the chat but not the sources): 清空对话 below does both */
#chat .icon-button-wrapper.top-panel { display: none; }
#chat { scroll-margin-top: 8px; }
#question-hint p { margin: 0; font-size: 14px; }  /* the empty-question hint: plain text, no alarm */
/* side by side with the chat (wide screens): the panel scrolls on its own, so a [n] tap keeps the chat in view */
@media (min-width: 1024px) { #sources { max-height: 640px; overflow-y: auto !important; } }  /* Gradio sets overflow inline */
/* a phone: once there is a conversation, the chat is the screen's height above the input box (brought to the
   top of the screen on sending, it is the one scroll to read an answer in, down to its sources and 👍👎);
   empty, it is short, so the input box and the example questions show on the first screen */
@media (max-width: 767px) {
  #chat { height: 30vh !important; height: 30dvh !important; min-height: 200px; }
  #chat:has(.message-row) { height: calc(100vh - 100px) !important; height: calc(100dvh - 100px) !important;
    min-height: 300px; }
  /* a refusal's related topics: one row that scrolls sideways, each title on one line, and the chat gives
     them room, so the input box stays on the screen (three wrapped titles had pushed it 170 px below) */
  #topics .gallery { flex-wrap: nowrap !important; overflow-x: auto; }
  /* the row's right edge fades, so a title cut by the screen's edge reads as "more this way", and the
     end pads past the fade, so the last title shows whole once scrolled to */
  #topics > .gallery, #topics .gallery:has(> .gallery-item) { padding-right: 40px;
    -webkit-mask-image: linear-gradient(to right, #000 calc(100% - 40px), transparent);
    mask-image: linear-gradient(to right, #000 calc(100% - 40px), transparent); }
  #topics .gallery-item { flex: 0 0 auto; max-width: 80vw; }
  /* a phone zooms the page into a text box whose type is under 16 px when it is tapped (iOS Safari) */
  textarea, input[type="text"] { font-size: 16px !important; }
  #topics .gallery-item .gallery { white-space: nowrap !important; overflow: hidden; text-overflow: ellipsis; }
  .column:has(#topics) #chat:has(.message-row) { height: calc(100vh - 180px) !important;
    height: calc(100dvh - 180px) !important; }
}
/* 👍👎: finger-sized (Gradio draws them about 18 px) */
@media (max-width: 767px), (pointer: coarse) {
  #chat .message-buttons .icon-button { min-width: 44px; min-height: 44px; }
  #chat .message-buttons .icon-button > div { width: 18px; height: 18px; }
}
"""

# Run once when the page loads: a tapped [n] (any link to a card or group of the sources panel) unfolds
# the folded group it points into before the browser scrolls there (Chromium unfolds <details> on
# fragment navigation by itself; Safari and Firefox do not).
PAGE_JS = """() => {
  const unfold = (id) => {
    const el = id && document.getElementById(id);
    for (let d = el && el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
  };
  document.addEventListener('click', (e) => {
    const a = e.target instanceof Element && e.target.closest('a[href^="#src-"], a[href^="#ans-"]');
    if (a) unfold(a.getAttribute('href').slice(1));
  }, true);
  window.addEventListener('hashchange', () => unfold(decodeURIComponent(location.hash.slice(1))));
}"""

# Sending a question (Enter, 提问, a chip): the chat scrolls to its end and comes into view, so the
# answer shows where the user looks even after they scrolled the chat up (Gradio's autoscroll follows
# only a chat already at its end) or the page down (the answer appeared above the input box).
SHOW_CHAT_JS = """() => {
  const chat = document.getElementById('chat');
  const log = chat && chat.querySelector('[role=log]');
  if (!log) return;
  log.scrollTop = log.scrollHeight;
  const box = document.getElementById('question') || chat;
  if (chat.getBoundingClientRect().top < 0 || box.getBoundingClientRect().bottom > window.innerHeight)
    chat.scrollIntoView({block: 'start', behavior: 'smooth'});
}"""
# Once answered: the new question at the top of the chat (its answer is read from its start), or the
# chat's end when both fit; the chat comes into view as on sending (on a phone it grew with the first
# answer).  After Gradio's own autoscroll, which scrolls 300 ms after a change.
SHOW_ANSWER_JS = """() => { setTimeout(() => {
  const chat = document.getElementById('chat');
  const log = chat && chat.querySelector('[role=log]');
  const asked = log ? log.querySelectorAll('.message-row.user-row') : [];
  if (!asked.length) return;
  const q = asked[asked.length - 1];
  log.scrollTop = q.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop - 8;
  const box = document.getElementById('question') || chat;
  if (chat.getBoundingClientRect().top < 0 || box.getBoundingClientRect().bottom > window.innerHeight)
    chat.scrollIntoView({block: 'start', behavior: 'smooth'});
}, 450); }"""


# ---------------------------------------------------------------- the app

LOADING_MODEL = "正在加载模型…"
EMPTY_QUESTION = "请先输入问题，比如“工资被拖欠了找谁?”"
VOTE_THANKS_UP = "谢谢！已记下：这条回答有用。"
VOTE_THANKS_DOWN = "谢谢！已记下：这条回答没帮上忙。可以换个说法再问，或点 [1] 看原文核对。"
KEPT_ANSWERS = 50  # answers a page session keeps for 👍/👎 (a vote on an older one is ignored)
SESSIONS = 1000  # page sessions whose state the server keeps (least recently used dropped first)
MAX_TURNS = 20  # prior turns a follow-up reads (a client may send any history; only the last ones count)


def _text(content) -> str | None:
    """A chat message's text: Gradio 6 sends the chat back with each message's content as a list of
    parts ([{"type": "text", "text": …}]), API callers may send a plain string; None for neither."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(parts) if parts else None
    return None


def prior_turns(history: list[dict]) -> list[dict]:
    """Prior conversation as plain user/assistant turns (user text as typed, assistant text without
    links or its source list): the last ``MAX_TURNS``, each cleaned and cut to 2,000 characters."""
    out = []
    for m in list(history or [])[-MAX_TURNS:]:
        content = _text(m.get("content")) if isinstance(m, dict) else None
        if content is not None and m.get("role") in ("user", "assistant"):
            content = content.split(SOURCE_LIST)[0].rstrip()
            out.append({"role": m["role"], "content": plain(sanitise(content, 2000))})
    return out


def remember(answers: list, record: dict) -> list:
    """``answers`` + ``record``, the older ones beyond ``KEPT_ANSWERS`` replaced by None so that a
    vote still finds its answer by position and a long session's state stays small."""
    out = list(answers or []) + [record]
    drop = len(out) - KEPT_ANSWERS
    if drop > 0:
        out[:drop] = [None] * drop
    return out


def _blank(message: str | None) -> bool:
    """Nothing to answer: an empty question, or one of spaces, control characters and marks only (？？)."""
    return not any(ch.isalnum() for ch in sanitise(message or ""))


def cleared() -> tuple:
    """What 清空对话 sets: an empty chat, sources panel, answers, groups and no topic chips."""
    return [], SOURCES_EMPTY, [], [], gr.update(samples=[], visible=False)


def _client(request: gr.Request | None) -> str:
    if request is None:
        return ""
    return getattr(request, "session_hash", None) or (request.client.host if request.client else "")


def create_app(answerer: Answerer, *, data_dir: str | os.PathLike = "data", exports: ExportFolder | None = None,
               feedback: FeedbackLog | None = None, staff_access: StaffAccess | None = None,
               ready: Background | None = None, concurrency: int = 2) -> gr.Blocks:
    """Build the Blocks (no launch). ``answerer`` is shared by all sessions; ``exports`` is where case
    exports are written (default: ``QA_EXPORT_DIR`` or a folder in the system temp dir); the 管理 tab
    is built only with ``staff_access`` (``main`` makes one when ``QA_ADMIN_PASSWORD`` is set).
    ``ready``: the model's background warm-up; questions wait for it, showing "正在加载模型…".
    ``concurrency``: questions and case searches answered at once (the rest queue); with the
    micro-batcher (``qa.batching``) more at once means more questions per forward pass."""
    ready = ready or Background.done()
    feedback = feedback or FeedbackLog(Path(data_dir))
    exports = exports or ExportFolder(os.environ.get("QA_EXPORT_DIR") or None)
    live = {"answerer": answerer}  # replaced whole when staff change the bulletins
    fac = answerer.facets()

    def topic_update(ans: Answer | None):
        if ans is None or not ans.refused or not ans.topics:
            return gr.update(samples=[], visible=False)
        return gr.update(samples=[[t] for t in ans.topics], visible=True)

    def wait_for_model() -> None:
        try:
            ready.wait()
        except Exception:
            log.exception("the model failed to load")
            raise gr.Error("抱歉，模型没能加载，已记录下来。请稍后再试。")

    def respond(message: str, history: list, answers: list, groups: list | None = None):
        """Answer ``message`` as the session's next answer: the chat gets it with its own source list,
        the sources panel its cards as a new group above the older ones (``groups``, newest first)."""
        if _blank(message):  # the page has checked already (``require_question``); API callers get this
            raise gr.Error(EMPTY_QUESTION, title="没有问题可回答")
        message = sanitise(message).strip()
        if len(message) > MAX_QUESTION_CHARS:
            raise gr.Error(f"问题太长了（{len(message)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。")
        prior = prior_turns(history)
        history = list(history or []) + [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": ""}]
        shown = ""
        turn = len(answers or []) + 1  # its number in the session: its cards' ids say which answer they are of
        groups = list(groups or [])
        pending = render_panel(groups, pending=True)
        if not ready.ready:  # the page is up before the model: say so, then answer when it is loaded
            history[-1]["content"] = LOADING_MODEL
            yield history, pending, answers, "", gr.skip(), groups
            history[-1]["content"] = ""
        wait_for_model()  # at once when loaded; a failed load is said plainly
        current = live["answerer"]  # one answer is made and shown from one index
        # an extractive answer is finished before its first piece: it is sent once, whole (each piece
        # sent was an event-stream message and a postprocess of the whole chat, for nothing to see);
        # an LLM's answer is shown as it is written
        in_pieces = current.writes_in_pieces
        try:
            for piece in current.ask_stream(message, prior):
                if isinstance(piece, str):
                    if not in_pieces:
                        continue
                    shown += piece
                    history[-1]["content"] = esc(shown)
                    # the sources panel gets a string, never gr.skip(): Gradio 6 keeps every component
                    # it builds for a prop update of an HTML block for the life of the process
                    yield history, pending, answers, "", gr.skip(), groups
                else:
                    ans = piece
        except QAError as e:
            raise gr.Error(str(e))
        except Exception:
            log.exception("answering %s failed", for_log(message))
            raise gr.Error("抱歉，系统出了点问题，已记录下来。请稍后再试。")
        finder = getattr(current, "case_finder", None)  # where each passage is from: title, place, column
        origins = {c.n: finder.origin(c.source, c.start) for c in ans.citations} if finder is not None else {}
        history[-1]["content"] = render_answer(ans, turn, origins)
        record = {"question": message, "answer": ans.text, "refused": ans.refused,
                  "citations": [c.to_json() for c in ans.citations]}
        groups = add_group(groups, new_group(turn, message, render_sources(ans, current.index.texts, turn, origins)))
        yield history, render_panel(groups), remember(answers, record), "", topic_update(ans), groups

    def require_question(message: str) -> None:
        """Runs before ``respond`` on the page: an empty question stops there and changes nothing
        (``question_hint`` says why under the input box).  The error is not shown: Gradio titles
        every error toast "Error", in English, whatever its title.  (Ending ``respond`` without a
        value reset the chat and its sources, and an error raised there covers them with a badge.)"""
        if _blank(message):
            raise gr.Error(EMPTY_QUESTION, visible=False, print_exception=False)

    def question_hint(message: str):
        """The hint line under the input box: shown after an empty question, hidden after a real one."""
        if not _blank(message):
            return gr.update(visible=False)
        return gr.update(value=EMPTY_QUESTION, visible=True)

    def ask_chip(sample):
        """A tapped chip (an example or a related topic): its question into the box, the hint hidden."""
        return (sample[0] if sample else ""), gr.update(visible=False)

    def on_vote(data: gr.LikeData, answers: list, request: gr.Request = None):
        i = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        k = (i - 1) // 2 if isinstance(i, int) else -1
        if not (0 <= k < len(answers)) or answers[k] is None:
            return
        feedback.record({**answers[k], "vote": "up" if data.liked else "down",
                         "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, client=_client(request))
        gr.Info(VOTE_THANKS_UP if data.liked else VOTE_THANKS_DOWN, duration=4)  # a worker saw only the icon turn orange

    def search_cases(query: str, sources: list, columns: list, places: list):
        query = sanitise(query).strip()
        if not query:
            return "<p>请输入要查找的主题，例如：讨薪、货车司机之家、劳模工匠助企。</p>", [], \
                gr.update(visible=False), gr.update(visible=False)
        if len(query) > MAX_QUESTION_CHARS:
            raise gr.Error(f"查询太长了，请控制在 {MAX_QUESTION_CHARS} 字以内。")
        wait_for_model()
        try:
            found = live["answerer"].find_cases(query, k=10, sources=sources, columns=columns, places=places)
        except QAError as e:
            raise gr.Error(str(e))
        except Exception:
            log.exception("case search %s failed", for_log(query))
            raise gr.Error("抱歉，查找时出了点问题，已记录下来。请稍后再试。")
        files = exports.write({"cases.csv": (to_csv(found), "utf-8-sig"), "cases.md": (to_markdown(found, query), "utf-8")})
        csv_path, md_path = files["cases.csv"], files["cases.md"]
        return (render_cases(found, query), [c.__dict__ for c in found],
                gr.update(value=str(csv_path), visible=bool(found)), gr.update(value=str(md_path), visible=bool(found)))

    # Gradio copies each export into its cache: every 5 minutes, remove cache files past an export's lifetime
    with gr.Blocks(title="工会公报问答", delete_cache=(300, int(EXPORT_LIFETIME_S))) as demo:
        gr.Markdown("## 工会公报问答\n问公报里的事，答案都摘自公报原文，并标明出处。公报里没有的，会直接告诉你。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        # no label bar and no toolbar: on a phone they covered the first line of text; no
                        # copy buttons either: they copied the answer's HTML (its links and source list)
                        chatbot = gr.Chatbot(show_label=False, buttons=[], height=480, elem_id="chat",
                                             sanitize_html=True, feedback_options=("Like", "Dislike"),
                                             placeholder="在下面输入问题，比如“工资被拖欠了找谁?”")
                        # a refusal's topics right under the answer, above the input box: below it they were off
                        # a phone's first screen (page check, tenth session)
                        box = gr.Textbox(show_label=False, placeholder="输入你的问题，回车发送", scale=5,
                                         elem_id="question", max_lines=4, render=False)
                        topics = gr.Dataset(components=[box], samples=[], label="公报里的相关话题（点一下接着问）",
                                            visible=False, elem_id="topics")
                        with gr.Row():
                            box.render()
                            # beside the box on a phone too (at Gradio's 160 px it wrapped below it)
                            send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="send")
                        hint = gr.Markdown(visible=False, elem_id="question-hint")
                        # chips, like the related topics: a tap asks at once
                        worker_chips = gr.Dataset(components=[box], samples=[[q] for q in WORKER_EXAMPLES],
                                                  label="职工常问（点一下就问）", elem_id="worker-examples")
                        staff_chips = gr.Dataset(components=[box], samples=[[q] for q in STAFF_EXAMPLES],
                                                 label="工会干部常问（点一下就问）", elem_id="staff-examples")
                        clear = gr.Button("清空对话", size="sm")
                    with gr.Column(scale=2):
                        gr.Markdown("#### 出处")
                        sources = gr.HTML(SOURCES_EMPTY, elem_id="sources")
                answers = gr.State([])
                groups = gr.State([])  # the sources panel's groups, newest first
                ask_in, ask_out = [box, chatbot, answers, groups], [chatbot, sources, answers, box, topics, groups]
                for trigger, name in ((box.submit, "ask"), (send.click, "ask_button")):
                    trigger(question_hint, box, hint, queue=False, api_visibility="private")
                    # show_progress hidden: else Gradio's screen-reader status line says "Error" when it stops the chain
                    trigger(require_question, box, None, concurrency_limit=None, show_progress="hidden",
                            api_visibility="private").success(
                        respond, ask_in, ask_out, concurrency_id="answer", api_name=name,
                        api_visibility="public" if name == "ask" else "private").then(
                        None, js=SHOW_ANSWER_JS, api_visibility="private")
                for chips in (topics, worker_chips, staff_chips):
                    chips.click(ask_chip, chips, [box, hint], queue=False, api_visibility="private").then(
                        respond, ask_in, ask_out, concurrency_id="answer", api_visibility="private").then(
                        None, js=SHOW_ANSWER_JS, api_visibility="private")
                gr.on([box.submit, send.click, topics.click, worker_chips.click, staff_chips.click], None,
                      js=SHOW_CHAT_JS, api_visibility="private")
                chatbot.like(on_vote, [answers], None, api_visibility="private")  # queued: gr.Info needs it
                clear.click(cleared, None, [chatbot, sources, answers, groups, topics], queue=False,
                            api_visibility="private")
            with gr.Tab("案例查找", id="cases"):
                with gr.Row():
                    cq = gr.Textbox(label="查找主题", placeholder="例如：讨薪、货车司机之家、劳模工匠助企", scale=4,
                                    elem_id="case-query")
                    cbtn = gr.Button("查找", variant="primary", scale=1, elem_id="case-search")
                with gr.Row():
                    f_src = gr.Dropdown(file_choices(fac["sources"]), multiselect=True, label="公报文件", value=[],
                                        info=ALL_HINT, elem_id="case-files")
                    f_col = gr.Dropdown(fac["columns"], multiselect=True, label="栏目", value=[], info=ALL_HINT,
                                        elem_id="case-columns")
                    f_place = gr.Dropdown(fac["places"], multiselect=True, label="地区", value=[], info=ALL_HINT,
                                          elem_id="case-places")
                results = gr.HTML(elem_id="case-results")
                with gr.Row():
                    dl_csv = gr.DownloadButton("导出 CSV", visible=False)
                    dl_md = gr.DownloadButton("导出 Markdown", visible=False)
                found_state = gr.State([])
                for trigger, name in ((cq.submit, "cases"), (cbtn.click, "cases_button")):
                    trigger(search_cases, [cq, f_src, f_col, f_place], [results, found_state, dl_csv, dl_md],
                            concurrency_id="answer", api_name=name,
                            api_visibility="public" if name == "cases" else "private")
            if staff_access is not None:
                staff_tab(live, staff_access, Staff(answerer.index.path, data_dir, answerer.retriever.embedder,
                                                    feedback.files), exports)
    demo.queue(default_concurrency_limit=max(1, concurrency), max_size=128)
    return demo


# ---------------------------------------------------------------- the 管理 tab (staff only)

BULLETIN_HEADERS = ["文件", "添加时间", "文章", "段落块", "来源"]
DOWN_HEADERS = ["时间", "问题", "回答", "引用"]


def staff_tab(live: dict, access: StaffAccess, staff: Staff, exports: ExportFolder) -> None:
    """The 管理 tab, inside the page's Tabs: a password field, then uploads, the indexed bulletins and
    the 👎 answers.  Every event is private and refuses a session that has not signed in."""

    def views():
        rows = staff.bulletins(live["answerer"].index)
        table = [[r["file"], r["added"], r["articles"], r["chunks"], "页面上传" if r["uploaded"] else "命令行"]
                 for r in rows]
        removable = [r["file"] for r in rows if r["uploaded"]]
        downs = staff.thumbs_down()
        down_rows = [[str(e.get("time", "")), str(e.get("question", "")), str(e.get("answer", "")),
                      citation_text(e.get("citations"))] for e in downs]
        csv_path = exports.write({"thumbs_down.csv": (thumbs_down_csv(downs), "utf-8-sig")})["thumbs_down.csv"]
        return (gr.update(value=table), gr.update(choices=removable, value=None), gr.update(value=down_rows),
                gr.update(value=str(csv_path)))

    def need_sign_in(ok: bool) -> None:
        if not ok:
            raise gr.Error("请先输入管理密码。")

    def sign_in(password: str, request: gr.Request = None):
        if not access.check(sanitise(password or ""), _client(request)):
            log.warning("staff sign-in refused for %s", for_log(_client(request)))
            return (False, "", "密码不对（每分钟最多试 5 次）。", gr.update(visible=True), gr.update(visible=False),
                    *(gr.skip(),) * 4)
        return (True, access.issue(), "", gr.update(visible=False), gr.update(visible=True), *views())

    def refresh(ok: bool):
        need_sign_in(ok)
        return views()

    def swap_to(index) -> None:
        new = live["answerer"].with_index(index)
        new.warm_up()
        live["answerer"] = new

    def add(files, ok: bool, progress=gr.Progress(track_tqdm=True)):
        need_sign_in(ok)
        paths = [f if isinstance(f, str) else getattr(f, "name", "") for f in (files or [])]
        if not paths:
            raise gr.Error("请先选择要添加的公报文件。")
        progress(0.02, desc="保存文件")
        try:
            stored = staff.store([(Path(p).name, Path(p)) for p in paths])
            progress(0.1, desc="解析、切分、计算向量（聊天照常回答）")
            report, index = staff.rebuild(log=lambda m: log.info("%s", m), progress=True)
        except QAError as e:
            raise gr.Error(str(e))
        progress(0.95, desc="切换到新索引")
        swap_to(index)
        names = "、".join(p.name for p in stored)
        added = len(report.added)
        note = f"已添加 {added} 个文件：{esc(names)}。" if added else f"这些文件已在索引里：{esc(names)}。"
        skipped = [p.name for p in stored if not any(s.endswith(p.name) for s in index.texts)]
        if skipped:  # unreadable (a scan, encrypted, broken): the build skipped them with a warning
            note += f" 未能读取（扫描件、加密或损坏）：{esc('、'.join(skipped))}。"
        return (note, *views(), None)

    def remove(name: str, ok: bool):
        need_sign_in(ok)
        if not name:
            raise gr.Error("请先选择要移除的公报。")
        try:
            staff.remove(name)
            _, index = staff.rebuild(log=lambda m: log.info("%s", m))
        except QAError as e:
            raise gr.Error(str(e))
        swap_to(index)
        return (f"已移除：{esc(name)}。", *views())

    with gr.Tab("管理", id="staff"):
        ok = gr.State(False)
        token = gr.Textbox(visible=False, elem_id="staff-token")
        with gr.Column(visible=True) as login_box:
            password = gr.Textbox(type="password", label="管理密码", elem_id="staff-password", max_lines=1)
            login = gr.Button("登录", variant="primary", elem_id="staff-login")
            login_msg = gr.Markdown(elem_id="staff-login-msg")
        with gr.Column(visible=False, elem_id="staff-panel") as panel:
            gr.Markdown("#### 添加公报\nPDF（需有文字层）、Word（.docx）、网页（.html）或 .txt，可多选。")
            files = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES), label="公报文件",
                            elem_id="staff-files")
            add_btn = gr.Button("添加到索引", variant="primary", elem_id="staff-add")
            status = gr.Markdown(elem_id="staff-status")
            gr.Markdown("#### 已索引的公报")
            bulletins = gr.Dataframe(headers=BULLETIN_HEADERS, interactive=False, elem_id="staff-bulletins")
            with gr.Row():
                to_remove = gr.Dropdown([], label="移除页面上传的公报", elem_id="staff-remove-choice")
                remove_btn = gr.Button("移除", variant="stop", elem_id="staff-remove")
            gr.Markdown("#### 被点踩的回答（最新的在前）")
            downs = gr.Dataframe(headers=DOWN_HEADERS, interactive=False, wrap=True, elem_id="staff-downs")
            with gr.Row():
                refresh_btn = gr.Button("刷新", elem_id="staff-refresh")
                csv_btn = gr.DownloadButton("导出 CSV", elem_id="staff-export")
        views_out = [bulletins, to_remove, downs, csv_btn]
        private = {"api_visibility": "private", "concurrency_id": "staff", "concurrency_limit": 1}
        for trigger in (login.click, password.submit):
            trigger(sign_in, [password], [ok, token, login_msg, login_box, panel, *views_out], **private).then(
                None, [token], None, js="(t) => { if (t) document.cookie = "
                                        "'qa_staff=' + t + '; path=/; SameSite=Strict'; }", api_visibility="private")
        add_btn.click(add, [files, ok], [status, *views_out, files], **private)
        remove_btn.click(remove, [to_remove, ok], [status, *views_out], **private)
        refresh_btn.click(refresh, [ok], views_out, **private)


# ---------------------------------------------------------------- start-up

def guarded_launch_options(allowed_hosts: str | None = None, staff_access: StaffAccess | None = None) -> dict:
    """``launch()`` options that put ``qa.http_guard`` in front of the app, cap Gradio's upload
    route (without the staff tab the page has no upload: the guard refuses it, the cap is a second
    fence; with it, only a signed-in page may upload, up to ``QA_MAX_SOURCE_MB``) and bound the
    sessions whose state the server holds."""
    from starlette.middleware import Middleware

    from qa.http_guard import GuardMiddleware, allowed_hosts_from_env
    from qa.sources import max_source_bytes

    guard = Middleware(GuardMiddleware, allowed_hosts=allowed_hosts_from_env(allowed_hosts),
                       allow_upload=staff_access.upload_allowed if staff_access is not None else False)
    size = f"{max(1, max_source_bytes() // 2**20)}mb" if staff_access is not None else "1mb"
    return {"app_kwargs": {"middleware": [guard]}, "max_file_size": size, "state_session_capacity": SESSIONS}


def load_answerer(index_dir: str, sources: list[str] | None, model: str | None, llm: bool = False,
                  collection: str = "bulletins", *, warm: bool = True, batch: bool = False) -> Answerer:
    """Load the index, building it when missing or updating it when its sources changed (with
    progress), then warm the model (unless ``warm`` is False: ``main`` warms it in the background).
    ``sources``: what to index; default the index's own sources, or ``seeds/`` for a new index.
    An existing index is queried with the embedding backend that built it unless ``QA_EMBED_BACKEND``
    names another (then it is re-embedded).  ``batch``: questions asked at the same time are embedded
    in one forward pass (``qa.batching``)."""
    from qa.embed import get_embedder, index_backend
    from qa.index import BadIndexError, build_index, load_index, own_sources, stale_sources
    from qa.sources import discover

    from qa.address import is_milvus, serve_index

    embedder = get_embedder(model, log=lambda m: print(m, flush=True))
    p = Path(index_dir)
    need, build_from, idx = True, sources or ["seeds"], None
    if is_milvus(index_dir):  # an index in Milvus: built or updated there, no files here
        need, idx = False, serve_index(index_dir, sources, embedder, collection=collection,
                                       log=lambda m: print(m, flush=True))
    elif (p / "manifest.json").is_file():
        # the index's own files (a gone file is dropped), also when it cannot be loaded as it is
        own = own_sources(p)
        build_from = sources or own or build_from
        try:
            idx = load_index(p)
            if getattr(embedder, "backend", None) and index_backend(idx) != embedder.backend:
                embedder = get_embedder(model, backend=index_backend(idx), log=lambda m: print(m, flush=True))
            if not (sources or own):
                print(f"warning: none of the files {p} was built from exist any more; serving it as it is",
                      flush=True)
                build_from = []
            known = {s.partition("#")[0] for s in idx.manifest.get("sources", {})}
            new = {str(x) for x in discover(sources)} - known if sources else set()
            need = bool(build_from) and (bool(new) or bool(stale_sources(idx)) or idx.model_id != embedder.model_id
                                          or idx.manifest["model"]["fingerprint"] != embedder.fingerprint)
        except BadIndexError as e:
            print(f"index problem: {e}; rebuilding", flush=True)
    if need:
        print(f"building the index {p} from {', '.join(map(str, build_from))} …", flush=True)
        print(build_index(build_from, p, embedder, progress=True, log=lambda m: print(m, flush=True)).summary(),
              flush=True)
        idx = None
    client = None
    if llm or os.environ.get("QA_LLM_BASE_URL"):
        from qa.llm import LLMClient

        client = LLMClient.from_env()
        print(f"LLM answers from {client.base_url} ({client.model}); extractive fallback on errors", flush=True)
    if batch:
        from qa.batching import BatchingEmbedder

        embedder = BatchingEmbedder(embedder)
    answerer = Answerer(idx if idx is not None else load_index(p), embedder, llm=client)
    if warm:
        t = time.perf_counter()
        answerer.warm_up()  # loads the model and warms caches once, before the first user
        print(f"model and index ready ({time.perf_counter() - t:.1f}s warm-up)", flush=True)
    return answerer


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas (unless ``MALLOC_ARENA_MAX`` is set): with the default of 8 per core,
    the server's worker threads fragment memory and RSS kept rising in the soak test (votes: ~45 MB per
    800 requests, ~13 MB with 2 arenas).  No effect, and False, where glibc is not the allocator."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").mallopt(-8, n) == 1  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="工会公报问答 chat app")
    ap.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT", "7860")))
    ap.add_argument("--host", default=os.environ.get("QA_HOST", "127.0.0.1"))
    ap.add_argument("--index", default=os.environ.get("QA_INDEX", "indexes/default"),
                    help="index folder, or milvus:PATH.db / milvus:http://HOST:19530")
    ap.add_argument("--collection", default=os.environ.get("QA_COLLECTION", "bulletins"),
                    help="the index's name in Milvus (ignored for folders)")
    ap.add_argument("--source", action="append", help="bulletin folder/file (default: seeds/)")
    ap.add_argument("--model", default=None, help="embedding model (default: $QA_EMBED_MODEL or embeddinggemma)")
    ap.add_argument("--data-dir", default=os.environ.get("QA_DATA_DIR", "data"), help="where feedback.jsonl goes")
    ap.add_argument("--llm", action="store_true",
                    help="answer with an OpenAI-compatible LLM (QA_LLM_BASE_URL, QA_LLM_MODEL, QA_LLM_API_KEY)")
    args = ap.parse_args(argv)
    # QA_BATCH=0: one question per forward pass and 2 answered at once, as before the micro-batcher;
    # with it, as many answered at once as one forward pass embeds (qa.batching.MAX_BATCH)
    from qa.batching import MAX_BATCH

    batch = os.environ.get("QA_BATCH", "1").strip() != "0"
    concurrency = int(os.environ.get("QA_CONCURRENCY") or (MAX_BATCH if batch else 2))
    limit_malloc_arenas()  # before the server's threads start
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        answerer = load_answerer(args.index, args.source, args.model, args.llm, args.collection, warm=False,
                                 batch=batch)
    except QAError as e:  # a clear line, not a traceback, for set-up problems
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    password = admin_password()
    if password and str(args.index).startswith("milvus:"):
        print("staff tab (管理) off: uploads are indexed into folders only, not yet into Milvus", flush=True)
        password = None
    access = StaffAccess(password) if password else None  # no password: no 管理 tab, no uploads
    if access is not None:
        print("staff tab (管理) on: QA_ADMIN_PASSWORD is set", flush=True)
    # the page is served now; the model loads meanwhile (questions asked before then wait for it); the
    # related words' vectors are made after that in the background, and no question waits for them
    ready = Background(lambda: answerer.warm_up(wait_for_related=False), name="model-warm-up",
                       log=lambda m: print(m, flush=True), start=False)
    demo = create_app(answerer, data_dir=args.data_dir, staff_access=access, ready=ready, concurrency=concurrency)
    demo.launch(server_name=args.host, server_port=args.port, css=CSS, js=PAGE_JS, show_error=False,
                footer_links=["api"], prevent_thread_lock=True, **guarded_launch_options(staff_access=access))
    ready.start()  # after the page is served: loading the model meanwhile slowed the launch down
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
