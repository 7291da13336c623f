"""End-to-end with the real embedding model (google/embeddinggemma-300m from the per-user cache).

Marked ``model``: slower (builds an index of the four seed bulletins, ~1 minute on 2 cores), run in CI.
The quality bars are the ones the product promises on the dev questions.
"""

import re

import pytest

from qa.answer import Answerer
from qa.citations import verify_answer
from qa.evaluate import ask_all, evaluate, load_eval
from qa.sources import source_text

from .conftest import ROOT

pytestmark = pytest.mark.model
DEV = ROOT.parent / "shared" / "eval" / "dev_qa.jsonl"


@pytest.fixture(scope="module")
def real_answerer(real_index_path):
    from qa.index import load_index

    return Answerer(load_index(real_index_path))


@pytest.fixture(scope="module")
def dev_items():
    if not DEV.is_file():
        pytest.skip(f"{DEV} not present (../shared beside the checkout)")
    return load_eval(DEV)


def test_dev_set_quality_bars(real_answerer, dev_items):
    answers = [real_answerer.ask(it.q) for it in dev_items]
    rep = evaluate(dev_items, answers)
    assert rep.hit5 >= 0.95, rep.table()
    assert rep.mrr >= 0.85, rep.table()
    assert rep.fact_recall >= 0.85, rep.table()
    # 2 of its 3 unanswerable questions: u13 养老金每年涨多少 is answered with the 华光 wage rise (README)
    assert rep.refusal_recall >= 2 / 3, rep.table()
    assert rep.answerable_refused <= 1, rep.table()
    assert rep.answer_chars_median < 120, rep.table()
    for a in answers:  # every citation verifies against the file on disk
        assert verify_answer(a, source_text) == [], a.text
        for piece, n in re.findall(r"([^\[\]\n]+?)\[(\d+)\]", a.text):
            c = next(c for c in a.citations if c.n == int(n))
            tail = re.sub(r"\s", "", re.split(r"——|：", piece)[-1])  # after a case line's title or the refusal's lead-in
            assert tail in re.sub(r"\s", "", c.text)


@pytest.mark.parametrize("name, levels", [
    # measured 2026-11-22, seventh session (default index, openvino-bf16): held-out 1.4% / 89.2% / fact 0.896 /
    # hit@1 0.899 / hit@5 0.993; fresh 3.3% / 86.7% / 0.882 / 0.917 / 0.983; fresh2 0.0% / 87.5% / 0.894 / 0.850 /
    # 0.988; fresh4 5.0% / 92.5% / 0.825 / 0.838 / 0.950; fresh6 5.3% / 88.0% / 0.738 / 0.800 / 0.920; fresh7 (new)
    # 0.0% / 80.0% / 0.787 / 0.827 / 0.960; eighth session, fresh8 (new) 1.3% / 72.0% / 0.791 / 0.840 / 0.973; tenth
    # session: held-out hit@1 0.919, fresh10 (new) 4.0% / 92.0% / 0.739 / 0.853 / 0.987; eleventh session: held-out
    # grew by 60 very short questions (3.7% / 87.2% / 0.900 / 0.888 / 0.968), fresh11 (new) 0.0% / 92.0% / 0.800 /
    # 0.733 / 0.960; thirteenth session: held-out grew by a third batch (140 questions, mostly staff: 3.8% / 81.6% /
    # 0.829 / 0.878 / 0.975); fourteenth session: by a fourth (100 questions, 25 of them unanswerable case questions:
    # 3.4% / 76.1% / 0.795 / 0.873 / 0.974); twenty-seventh session: by a fifth (120 questions, 59 of them here: 3.3% /
    # 78.8% / 0.784 / 0.852 / 0.970 before that session's change); twenty-ninth session: fresh13 (new; its who-is
    # questions steered that session's reading) 0.0% / 84.0% / 0.820 / 0.840 / 0.947, fresh14 (new) 2.7% / 72.0% /
    # 0.761 / 0.800 / 1.000.  Levels sit a few points below: this index is built by the test's own backend.
    # name: answerable refused ≤, unanswerable refused ≥, fact recall ≥, hit@1 ≥, hit@5 ≥
    ("heldout", (0.05, 0.72, 0.74, 0.82, 0.95)),
    ("fresh", (0.04, 0.85, 0.84, 0.87, 0.95)),
    ("fresh2", (0.03, 0.83, 0.85, 0.81, 0.95)),
    ("fresh4", (0.07, 0.85, 0.78, 0.77, 0.91)),
    ("fresh6", (0.08, 0.80, 0.70, 0.77, 0.88)),
    ("fresh7", (0.04, 0.76, 0.75, 0.79, 0.93)),
    ("fresh8", (0.05, 0.66, 0.75, 0.80, 0.94)),
    ("fresh10", (0.07, 0.84, 0.68, 0.79, 0.94)),
    ("fresh11", (0.03, 0.84, 0.75, 0.70, 0.93)),
    ("fresh13", (0.03, 0.80, 0.78, 0.80, 0.92)),
    ("fresh14", (0.05, 0.68, 0.72, 0.76, 0.96)),
])
def test_unseen_questions_hold_their_measured_level(real_answerer, name, levels):
    """eval/heldout.jsonl and eval/fresh{,2,4,6,7,8,10,11,13,14}.jsonl (not used to choose, README says
    where one of them steered a decision): the level last measured, as a guard against regressions.  Held-out's
    first batch meets the issue's goals; with the short questions and on the independent sets they are not all met (README)."""
    items = load_eval(ROOT / "eval" / f"{name}.jsonl")
    answers = ask_all(real_answerer, items)
    rep = evaluate(items, answers, source_text=source_text)
    assert rep.citations_unverified == 0, rep.table()
    answerable_refused, unanswerable_refused, fact_recall, hit1, hit5 = levels
    assert rep.answerable_refused_share <= answerable_refused, rep.table()
    assert rep.unanswerable_refused_share >= unanswerable_refused, rep.table()
    assert rep.hit5 >= hit5 and rep.hit1 >= hit1, rep.table()
    assert rep.fact_recall >= fact_recall, rep.table()


@pytest.mark.parametrize("q, must", [
    ("韩文豪是谁", "年薪制"), ("于瑜是谁啊", "文艺骨干于瑜"), ("王兆地咋回事", "10万元"), ("杨正群是干啥的 老师吗", "办公室主任杨正群"),
    ("姚正新是哪个厂的", "海嘉诺药业有限公司"),
    ("万月是干啥的", "滨海县总工会副主席 万月"), ("江都区总工会主席是谁", "主席 邱永泉")])
def test_a_who_is_question_is_answered_by_what_the_bulletins_say_of_the_person(real_answerer, q, must):
    ans = real_answerer.ask(q)  # a byline (万月, 邱永泉) is cited where it is printed, like a sentence
    assert not ans.refused and must in ans.text
    assert verify_answer(ans, source_text) == []


@pytest.mark.parametrize("q", ["滨海县总工会的主席叫啥", "琼港农场工会主席是谁"])
def test_a_chair_no_sentence_or_byline_names_is_still_refused(real_answerer, q):
    assert real_answerer.ask(q).refused  # 滨海's byline is its 副主席's


def test_refusal_cites_the_nearest_sentence(real_answerer):
    ans = real_answerer.ask("司机之家洗澡要钱吗")  # the topic is in the bulletins, a price is not
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text
    assert ans.text.startswith("抱歉，公报里没有找到收费标准"), ans.text  # says what it did not find
    assert len(ans.citations) == 1 and "司机之家" in ans.citations[0].title + ans.citations[0].text
    assert verify_answer(ans, source_text) == [] and ans.topics


@pytest.mark.parametrize("q, history, lacking", [
    # a price after a use: not the 2800余万元 spent on building
    ("那要多少钱", [{"role": "user", "content": "跑长途的货车司机 哪里能洗澡睡一觉"},
                {"role": "assistant", "content": "各“司机之家”……还配有淋浴间、洗漱台、洗衣机等设施[1]"}], "收费标准"),
    ("宝鸡工人文化宫几点开门", [], "开放时间"),  # not another report's 3月22日上午
    ("北京工会法人登记网上办完一般要几个工作日", [], "具体时长"),  # a duration, not 近300名人员
])
def test_an_asked_detail_the_bulletins_lack_is_refused_and_named(real_answerer, q, history, lacking):
    ans = real_answerer.ask(q, history)
    assert ans.refused and ans.support["why"] == "detail_missing", (ans.standalone_question, ans.text)
    assert lacking in ans.text.splitlines()[0] and ans.citations, ans.text


def test_where_to_navigate_to_cites_the_places_the_homes_were_built(real_answerer):
    """A helper on the page: 具体在哪啊 我导航过去 after the drivers' home answer got 没有找到具体地址 and the
    beds of its night room; the report names 徐州云集港口、大吴物流园 where homes were built."""
    history = [{"role": "user", "content": "跑大车的 路上哪能洗澡睡觉"},
               {"role": "assistant", "content": "各“司机之家”……还配有淋浴间、洗漱台、洗衣机等设施[1]"}]
    ans = real_answerer.ask("具体在哪啊 我导航过去", history)
    assert "具体地址" in ans.text.splitlines()[0] and "云集港口" in ans.text, (ans.standalone_question, ans.text)


@pytest.mark.parametrize("q,needle", [
    ("有没有工会帮职工讨薪的案例?", ("义乌", "12351")),
    ("有没有劳模工匠帮助企业的例子?", ("建湖", "盐城", "兴化", "江都", "亭湖")),
])
def test_case_questions_list_several_articles(real_answerer, q, needle):
    ans = real_answerer.ask(q)
    assert ans.kind == "cases"
    titles = {(c.source, c.title) for c in ans.cases}
    assert len(titles) >= 2, ans.text
    assert sum(any(n in c.title + c.place + c.sentence for n in needle) for c in ans.cases) >= 2, ans.text


@pytest.mark.parametrize("q,reported", [
    # tune questions: activities no bulletin reports, whose subject alone still comes close to some
    # passage (z 1.7–2.4) but to no sentence — answered with six unrelated reports before
    ("工会开展反电信诈骗宣传进企业的做法有哪些", False),
    ("职工健康体重管理、减重打卡这类活动，有啥经验可以借鉴", False),
    # reported, though in other words (篮球赛, 联合县委组织部): the lowest sentence evidence among tune's
    ("工会组织的球类比赛，谁家办过", True),
    ("工会单打独斗不行，拉上政府部门一起干的案例有哪些", True),
])
def test_a_case_list_needs_a_sentence_about_its_subject(real_answerer, q, reported):
    ans = real_answerer.ask(q)
    assert ans.support["z_topic"] is not None
    # refused either because the subject alone comes close to no sentence or because a word of it is one
    # nothing in the bulletins comes near (诈骗: the subject-word veto judges it first)
    assert (ans.support["why"] in ("topic_missing", "subject_absent")) is (not reported), (ans.support, ans.text)
    assert ans.refused is (not reported), ans.text


@pytest.mark.parametrize("q,absent", [
    # tune questions: activities no bulletin reports, whose subject's other words (女职工, 帮扶) come close enough
    ("女职工两癌筛查 哪些地方在做", "两癌"),
    ("职业病防治、尘肺病职工帮扶，谁家做得好", "尘肺病"),
    # reported: 少裁 is jieba's cut of the bulletins' own characters (裁员), no word new to them
    ("厂里改制要裁26个人 也没跟工会商量 安置也没有 有没有谁家最后少裁了的", ""),
])
def test_a_case_subject_nothing_in_the_bulletins_comes_near_is_refused_by_name(real_answerer, q, absent):
    ans = real_answerer.ask(q)
    if absent:
        assert ans.refused and ans.support["why"] == "subject_absent", (ans.support, ans.text)
        assert f"没有提到“{absent}”" in ans.text and ans.citations, ans.text
    else:
        assert not ans.refused and "最终仅裁员11人" in ans.text, ans.text


@pytest.mark.parametrize("q,expect", [
    ("工资被拖欠了找谁?", ("拖欠", "欠薪", "工资")),
    ("开货车的哪里能洗澡歇脚?", ("司机之家", "淋浴", "休息")),
    ("貨車司機哪裡可以休息", ("司机之家", "休息")),
])
def test_colloquial_and_traditional_questions(real_answerer, q, expect):
    ans = real_answerer.ask(q)
    assert not ans.refused
    assert any(e in ans.text for e in expect), ans.text


def test_the_pages_own_examples_get_concrete_answers(real_answerer):
    """The 职工常问 chips on the page: each answered, with the concrete sentence rather than a slogan
    (劳模能享受哪些待遇? got 完善劳模政策,提升劳模地位,落实劳模待遇 before 待遇 was read as a category)."""
    from app import WORKER_EXAMPLES

    answers = {q: real_answerer.ask(q) for q in WORKER_EXAMPLES}
    assert not any(a.refused for a in answers.values()), {q: a.text for q, a in answers.items()}
    assert "500多万元" in answers["劳模能享受哪些待遇?"].text, answers["劳模能享受哪些待遇?"].text
    assert not any(a.text.rstrip("[]0123456789").endswith("”") and "“" not in a.text for a in answers.values())


@pytest.mark.parametrize("q,must,must_not", [
    # the subject is named only in the report's opening sentence (以下简称“华光装备”)
    ("华光装备的职工工资每年涨多少?", "10%", "1000多万元"),
    # 最后/最终 asks for the outcome, reported after the first figure (26 → 11)
    ("服装公司改制最后裁了多少人?", "11人", None),
    # 关爱措施 is a category: the sentence about 女职工 answers, not one containing 措施
    ("女职工有什么关爱措施?", "女职工", "解决措施"),
    # the report continues after other items on the page ("1+N”职工健康…" reattached to 滨海县)
    ("滨海县的职工线上培训有多少人次?", "17000", None),
    # a worker's word the bulletins never use meets its related bulletin word (qa.related), not the company's
    # opening sentence that only names the subject
    ("女工喂奶有地方吗 华光厂里", "母婴室", "以下简称"),
    ("华光装备的人跳槽的多吗", "离职率", "以下简称"),
])
def test_answer_picks_the_sentence_about_the_asked_subject(real_answerer, q, must, must_not):
    ans = real_answerer.ask(q)
    assert not ans.refused and must in ans.text, ans.text
    assert must_not is None or must_not not in ans.text, ans.text


@pytest.mark.parametrize("q, must", [
    ("有义诊不", "义诊"),  # the one sentence on 义诊 answers it, though so short a question's vector says little
    ("不挂号能看专家不", "不用挂号复诊就能直接找专家看病"),
])
def test_a_short_question_a_sentence_holds_word_for_word_is_answered(real_answerer, q, must):
    ans = real_answerer.ask(q)
    assert not ans.refused and must in ans.text, ans.text


@pytest.mark.parametrize("q", ["公积金怎么提取?", "How do I renew my passport?", "工会会费每月交多少?",
                               "加班费咋算",
                               "劳动仲裁怎么申请?", "东莞工会有什么新闻?"])
def test_off_topic_questions_are_refused(real_answerer, q):
    assert real_answerer.ask(q).refused


def test_follow_up_uses_history(real_answerer):
    hist = [{"role": "user", "content": "江都给劳模发了多少三金?"},
            {"role": "assistant", "content": "近五年,发放劳模“三金”500多万元[1]"}]
    ans = real_answerer.ask("组织了多少人次体检?", hist)
    assert "2688" in ans.text, (ans.standalone_question, ans.text)


def test_a_follow_up_naming_no_subject_is_answered_about_the_earlier_one(real_answerer):
    """A worker on the page: 几点开门？晚上能去吗 after the truck drivers' showers was read alone and
    refused as "no opening hours", though the rest stops' report says they serve drivers 24 hours."""
    hist = [{"role": "user", "content": "跑长途的货车司机 想洗个澡睡一觉 哪里有"}, {"role": "assistant", "content": "…"}]
    ans = real_answerer.ask("几点开门？晚上能去吗", hist)
    assert not ans.refused and "24小时" in ans.text and "货车司机" in ans.standalone_question, (ans.standalone_question, ans.text)
    new = real_answerer.ask("失业了 工会能帮找工作不", hist)  # names its own subject: read alone
    assert new.standalone_question == "失业了 工会能帮找工作不"


@pytest.mark.parametrize("earlier, q, must, must_not", [
    # the phone check: answered with the riders' rest stops again (疗休养260人次 alone)
    ("跑外卖的冬天冻手 哪能歇歇", "劳模能去疗养不", "疗休养", "爱心驿站"),
    # the phone check: the 述职 sentence repeated; alone it is about 母婴室 (refused or not)
    ("县里工会主席多久述一次职", "哪有母婴室", "母婴室", "述职"),
    # a helper trying the page: answered with the wage case; the bulletins never name 公积金 (refused alone)
    ("工资被拖欠了找谁?", "公积金咋取出来", "没有找到", "公积金咋取出来？"),
])
def test_a_short_question_about_a_new_subject_is_not_answered_with_the_earlier_one(real_answerer, earlier, q, must, must_not):
    first = real_answerer.ask(earlier)
    ans = real_answerer.ask(q, [{"role": "user", "content": earlier}, {"role": "assistant", "content": first.text}])
    assert ans.standalone_question == q and must in ans.text and must_not not in ans.text, (ans.standalone_question, ans.text)


@pytest.mark.parametrize("q, must", [
    # a helper trying the page: the problem alone (何某军离职后…没有给他发放…工资); the case goes on to its end
    ("辞职了不给工资咋办", ("没有给他发放", "当日发放了拖欠何某军的工资")),
    ("下班路上出车祸算工伤吗，老板赖着不给钱咋办", ("10万元", "强制执行到位")),
])
def test_a_what_to_do_question_is_answered_with_the_case_to_its_end(real_answerer, q, must):
    ans = real_answerer.ask(q)
    assert not ans.refused and all(m in ans.text for m in must), ans.text
    assert verify_answer(ans, source_text) == []


def test_an_answer_names_the_place_its_sentences_leave_out(real_answerer):
    """A worker on a phone: the 司机之家 answer named 徐州贾汪 only in the grey source line."""
    ans = real_answerer.ask("跑长途的货车司机 哪能歇脚洗个热水澡")
    assert ans.text.startswith("徐州市贾汪区总工会：") and "淋浴间" in ans.text, ans.text


def test_the_model_is_loaded_once_when_two_threads_ask_at_once():
    """The page's background warm-up and a staff upload's build may both ask for the model first:
    one load, shared (two loads at once mixed bf16 and float32 tensors in the answers)."""
    import threading

    from qa.embed import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder("google/embeddinggemma-300m", log=lambda *_: None)
    start, got = threading.Barrier(2), []

    def ask():
        start.wait()
        got.append(e.model)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 2 and got[0] is got[1]
    q, d = e.encode_queries(["货车司机之家有淋浴间吗"]), e.encode_documents(["司机之家配有淋浴间。"])
    assert q.shape == d.shape and float(q[0] @ d[0]) > 0.3
