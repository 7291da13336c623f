"""Retrieval and answers on the tiny corpus (HashEmbedder): citations verify, refusals, cases, follow-ups."""

import dataclasses
import re
from types import SimpleNamespace

import numpy as np
import pytest

from qa.answer import Answerer
from qa.citations import verify_answer
from qa.conversation import condense, earlier_answers, with_subject
from qa.question import analyse
from qa.retrieve import MAX_QUESTION_CHARS, QuestionError, Retriever
from qa.said import Said, said_spans
from qa.sentences import Words
from qa.sources import source_text


@pytest.fixture
def answerer(tiny_index, hash_embedder, hash_answerability):
    return Answerer(tiny_index, hash_embedder, answerability=hash_answerability)


def test_search_returns_ranked_hits_with_metadata(tiny_index, hash_embedder):
    r = Retriever(tiny_index, hash_embedder)
    hits = r.search("货车司机之家有淋浴间吗", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].chunk.title == "货车司机之家开门迎客"
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert r.search_many(["货车司机之家有淋浴间吗"], k=3)[0] == hits


@pytest.mark.parametrize("fusion", ["dense", "bm25", "rrf", "adaptive"])
def test_every_fusion_finds_the_obvious_passage(tiny_index, hash_embedder, fusion):
    hits = Retriever(tiny_index, hash_embedder, fusion=fusion).search("职工书屋藏书3000册", k=2)
    assert hits[0].chunk.title == "职工书屋点亮读书生活"


@pytest.mark.parametrize("gain", [0.0, 4.0, 40.0])
def test_adaptive_fusion_blends_each_passage_with_its_best_sentence(tiny_index, hash_embedder, gain):
    import numpy as np

    q = "职工书屋每月举办几次读书分享会"
    n = len(tiny_index.chunks)
    dense = {h.chunk.id: h.dense for h in Retriever(tiny_index, hash_embedder, fusion="dense").search(q, k=n)}
    qv = hash_embedder.encode_queries([q])[0]
    by_chunk = tiny_index.sentence_ids_by_chunk()
    best = {c: max(float(tiny_index.sentence_vectors[i].astype(np.float32) @ qv) for i in by_chunk[c]) for c in dense}
    w = gain * max(0.0, max(best.values()) - max(dense.values()))
    assert max(best.values()) > max(dense.values())  # one sentence says it more exactly than any passage
    hits = Retriever(tiny_index, hash_embedder, fusion="adaptive", bm25_weight=0.0, sentence_gain=gain).search(q, k=n)
    assert len(hits) == n
    for h in hits:
        assert h.dense == pytest.approx(dense[h.chunk.id], abs=1e-5)  # Hit.dense stays the passage cosine
        assert h.score == pytest.approx((dense[h.chunk.id] + w * best[h.chunk.id]) / (1 + w), abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

@pytest.mark.parametrize("pool", [1, 2, 50])
def test_closeness_is_the_best_passage_and_the_best_sentence_of_the_closest_passages(tiny_index, hash_embedder, pool):
    import numpy as np

    text = "每月举办2次读书分享会"
    qv = hash_embedder.encode_queries([text])[0]
    passages = {c.id: float(v.astype(np.float32) @ qv) for c, v in zip(tiny_index.chunks, tiny_index.vectors())}
    by_chunk = tiny_index.sentence_ids_by_chunk()
    closest = sorted(passages, key=passages.get, reverse=True)[:pool]
    sentence = max(float(tiny_index.sentence_vectors[i].astype(np.float32) @ qv) for c in closest for i in by_chunk[c])
    got = Retriever(tiny_index, hash_embedder, pool=pool).closeness([text, "货车司机之家"])
    assert got[0].passage == pytest.approx(max(passages.values()), abs=1e-5)
    assert got[0].sentence == pytest.approx(sentence, abs=1e-5)
    assert got[0].sentence > got[0].passage  # one sentence says it more exactly than its passage
    assert got[1].passage != got[0].passage
    assert Retriever(tiny_index, hash_embedder, fusion="bm25").closeness([text]) == [None]



def test_traditional_characters_retrieve_like_simplified(tiny_index, hash_embedder):
    r = Retriever(tiny_index, hash_embedder)
    assert r.search("貨車司機哪裡可以休息", k=1)[0].chunk.id == r.search("货车司机哪里可以休息", k=1)[0].chunk.id


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "\x00\x01", "？？", "…", "问" * (MAX_QUESTION_CHARS + 1)])
def test_bad_questions_are_clear_errors(answerer, bad):
    with pytest.raises(QuestionError):
        answerer.ask(bad)


def test_short_answer_is_extractive_and_cited(answerer):
    ans = answerer.ask("江宁区总工会帮多少农民工追回了工资?")
    assert not ans.refused and ans.kind == "short"
    assert "128名" in ans.text and "[1]" in ans.text
    assert verify_answer(ans, source_text) == []
    for c in ans.citations:
        cited = re.sub(r"\s", "", c.text)
        assert cited and cited in re.sub(r"\s", "", source_text(c.source))
    # every sentence in the answer is verbatim from its cited span
    for piece, n in re.findall(r"([^\[\]]+)\[(\d+)\]", ans.text):
        c = next(c for c in ans.citations if c.n == int(n))
        assert re.sub(r"\s", "", piece) in re.sub(r"\s", "", c.text)


def test_cited_span_offsets_point_into_the_file(answerer):
    ans = answerer.ask("货车司机之家可以容纳多少名司机?")
    c = ans.citations[0]
    assert source_text(c.source)[c.start:c.end] == c.text
    assert "40名" in ans.text


@pytest.mark.parametrize("q", ["量子计算机的原理是什么?", "What time is it?", "医保报销比例是多少?"])
def test_off_topic_is_refused_with_nearby_topics(answerer, q):
    ans = answerer.ask(q)
    assert ans.refused and ans.kind == "refusal" and len(ans.citations) <= 1
    assert ans.text.startswith("抱歉") and 1 <= len(ans.topics) <= 3
    assert verify_answer(ans, source_text) == []  # the nearest sentence it cites verifies like any citation


def test_a_topic_tapped_after_a_refusal_gets_what_its_article_reports_first(answerer):
    """A refusal offers nearby topics as article titles; tapping one sends the title: the answer is
    the article's opening report (its first sentences, cited), not a refusal or a stray sentence."""
    refused = answerer.ask("量子计算机的原理是什么?")
    assert refused.refused and refused.topics
    for title in refused.topics:
        ans = answerer.ask(title)
        assert not ans.refused and ans.support["why"] == "article_title" and 1 <= len(ans.citations) <= 2
        assert {c.title for c in ans.citations} == {title}
        assert verify_answer(ans, source_text) == []
    ans = answerer.ask("货车司机之家开门迎客")
    assert "青山县总工会在国道旁建成货车司机之家" in ans.text and "李四" not in ans.text
    assert answerer.ask("货车司机之家开门迎客吗?").support["why"] != "article_title"  # a question, not the title


def test_a_topic_tapped_after_a_question_tells_what_its_article_says_nearest_to_it(index_of, hash_embedder):
    """A topic offered under 下班路上被车撞了算工伤不 (refused, citing 王兆地's case as the nearest sentence) was
    answered, when tapped, with its article's opening praise; after a question it is what the article says
    nearest to that question, going on with the case the earlier answer cited, not saying it again."""
    from qa.answerability import AnswerabilityModel

    title = "东湖县总工会维权有力"
    index = index_of({"w.txt": f"\n\n{title}\n\n本刊讯 今年以来,东湖县总工会认真贯彻落实上级部署,打造特色品牌取得了显著成绩。"
                               "县总工会还开展了职工文艺汇演活动。\n"
                               "农民工王五在下班途中发生交通事故,应获得工伤保险金10万元。老板赵某拒不执行。"
                               "县法院将10万元强制执行到位。\n"})
    a = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    alone = a.ask(title)
    assert "显著成绩" in alone.text and "强制执行" not in alone.text  # no question before: what it reports first
    earlier = "农民工王五在下班途中发生交通事故,应获得工伤保险金10万元。[1]"
    tapped = a.ask(title, [["下班途中出了交通事故算工伤不", earlier]])
    assert tapped.support["why"] == "article_title" and not tapped.refused
    assert "拒不执行" in tapped.text and "强制执行到位" in tapped.text, tapped.text
    assert "显著成绩" not in tapped.text and "王五在下班途中" not in tapped.text
    assert verify_answer(tapped, source_text) == []


def test_case_question_lists_articles(answerer):
    ans = answerer.ask("有没有工会帮职工讨薪的案例?")
    assert ans.kind == "cases" and not ans.refused
    keys = [(c.source, c.title) for c in ans.cases]
    assert len(keys) == len(set(keys)) >= 1
    assert ans.cases[0].place and ans.cases[0].title
    assert verify_answer(ans, source_text) == []


def test_follow_up_is_resolved_with_history(tiny_index, hash_embedder, hash_answerability):
    history = [{"role": "user", "content": "江宁区总工会追回的工资一共多少万元?"},
               {"role": "assistant", "content": "帮助128名农民工追回被拖欠的工资236万元。[1]"}]
    # lexical retrieval: the hash embedder's vectors say nothing about which place a report is about
    answerer = Answerer(tiny_index, hash_embedder, fusion="bm25", answerability=hash_answerability)
    ans = answerer.ask("那滨江呢?", history)
    assert "滨江" in ans.standalone_question and "江宁" not in ans.standalone_question
    assert "58万元" in ans.text


def test_a_chain_of_follow_ups_keeps_the_first_subject():
    """在哪 after 那要钱吗 after a question about showers: found on the page by a worker-style check (the
    chain was resolved against 那要钱吗 alone and refused)."""
    history = [{"role": "user", "content": "跑长途的货车司机 路上哪能洗个澡"}, {"role": "assistant", "content": "…"},
               {"role": "user", "content": "那要钱吗"}, {"role": "assistant", "content": "…"}]
    out = condense("在哪", history)
    assert "货车司机" in out and "洗个澡" in out and "要钱" not in out
    assert condense("在哪", history[:2]) == out  # the same subject as asked right after the first question


@pytest.mark.parametrize("paid", ["要交钱不", "要自己掏钱吗", "学费多少", "要押金不"])
def test_what_is_paid_is_asked_of_the_earlier_subject(paid):
    """晚上几点上课啊 after 要交钱不 after a question about 兴化's classes: 交钱 had been read as a new subject,
    so the chain lost the classes (a helper trying the page)."""
    history = [{"role": "user", "content": "我在兴化 下了班想学门手艺 公会有啥班不"}, {"role": "assistant", "content": "…"},
               {"role": "user", "content": paid}, {"role": "assistant", "content": "…"}]
    out = condense("晚上几点上课啊", history)
    assert "兴化" in out and "手艺" in out, out


def test_a_follow_up_asks_what_it_asks_not_what_lent_it_a_subject(words_only):
    prev = [{"role": "user", "content": "安徽欠薪找谁"}]
    standalone = condense("半夜能打通不", prev)
    assert "安徽欠薪" in standalone and "谁" not in standalone  # 找谁 is not asked again
    q = analyse(condense("收费不", [{"role": "user", "content": "兴化那个晚上的培训班有教拍短视频的没"}]), words_only)
    assert q.asking_as(analyse("收费不", words_only)).slot == "price"
    again = analyse(condense("那江都呢?", [{"role": "user", "content": "滨海一共补发了多少加班费?"}]), words_only)
    assert again.asking_as(analyse("那江都呢?", words_only)) == again  # asks nothing itself: the earlier question


def test_the_spans_an_answer_cited_are_read_back_from_its_text():
    text = ("滨海县总工会：县总派员进行整改,免费为568名职工体检。[1]并对27名亚健康职工落实治疗措施。[2]\n"
            "公报里最接近的内容：热线共接听职工来电1.5万余,派发工单280件。[1]短句[2]")
    assert said_spans(text) == ("免费为568名职工体检。", "亚健康职工落实治疗措施。", "万余,派发工单280件。")  # the last 12 characters of each
    assert said_spans("抱歉，公报里没有找到能回答这个问题的内容。") == () == said_spans("")


_SAID = "今年以来,江宁区总工会设立法律援助窗口,帮助128名农民工追回被拖欠的工资236万元。"
_OTHER = "工会律师全程代理,平均办结时间缩短到15天。"


@pytest.mark.parametrize("follow_up,stale", [
    ("好抢不", True),  # no word of its own: what was said says nothing more
    ("要多久", True),  # asks a duration the said sentence does not hold
    ("一共追回多少万元", False),  # the figure asked is in what was said: said again
    ("农民工有多少", False),  # names a word of the said sentence: asks about it again
    ("律师全程管吗", True),  # its words are in another sentence, not in the one said
])
def test_a_follow_up_is_not_answered_again_with_what_was_said(follow_up, stale, words_only):
    from qa.tokens import tokenize

    said = Said(said_spans(f"江宁区总工会：{_SAID}[1]"), analyse(follow_up, words_only))
    candidates = [(t, Words(tokenize(t), t)) for t in (_SAID, _OTHER)]
    assert said.stale(candidates) == [stale, False]


def test_what_was_said_drops_by_already_said_in_the_sentence_ranking(tiny_index, hash_embedder, words_only):
    from qa.sentences import W, SentenceChooser

    chooser = SentenceChooser(tiny_index)
    r = Retriever(tiny_index, hash_embedder, fusion="bm25").retrieve_many(["江宁区总工会追回工资 要多久"], k=3)[0]
    q = analyse("江宁区总工会追回工资 要多久", words_only)
    before = {sid: sc for sc, sid, _ in chooser.scored(q, r.hits, r.query_vector)}
    said = Said(said_spans(f"{_SAID}[1]"), analyse("要多久", words_only))
    after = {sid: sc for sc, sid, _ in chooser.scored(q, r.hits, r.query_vector, said)}
    texts = {sid: tiny_index.sentences[sid].text for sid in before}
    assert _SAID in texts.values() and _OTHER in texts.values()
    for sid, sc in before.items():
        assert after[sid] == pytest.approx(sc - (W["already_said"] if texts[sid] == _SAID else 0.0))


def test_earlier_answers_are_read_from_every_kind_of_turn():
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "一"}, ("b", "二"),
             {"q": "c", "a": "三"}, {"role": "user", "content": "d"}, {"role": "assistant", "content": "四"}]
    assert earlier_answers(turns) == "二\n三\n四"  # the last three, as many questions as a follow-up reads
    assert earlier_answers([]) == "" == earlier_answers([{"role": "user", "content": "a"}])


@pytest.mark.parametrize("q,expect", [
    ("几点开门？晚上能去吗", True),  # names nothing: may be about the truck drivers' stop just asked about
    ("一般都是几点上课呀", True),
    ("喀什有没有司机之家啊", False),  # names its own subject
    ("失业了 工会能帮找工作不", False),
    ("那要钱吗", False),  # already a follow-up: condense rewrites it
])
def test_a_question_naming_no_subject_is_also_read_with_the_earlier_one(q, expect):
    prev = [{"role": "user", "content": "跑长途的货车司机 想洗个澡睡一觉 哪里有"}]
    out = with_subject(q, prev)
    assert (out is not None) == expect
    if expect:
        assert "货车司机" in out and "几点" in out
    assert with_subject(q, []) is None


@pytest.mark.parametrize("q,prev,expect", [
    ("那江都呢?", "滨海县总工会和法院一起执结了多少案件?", "江都"),
    ("具体有哪些设施?", "货车司机之家建在哪里?", "货车司机之家"),
    ("工会会员有什么好处?", "货车司机之家建在哪里?", None),  # not a follow-up: unchanged
    ("组织了多少人次体检?", "江都给劳模发了多少三金?", "江都"),  # starts at its verb: about the same place
    ("组织了多少人次体检?", "劳模能拿多少三金?", None),  # no place to carry over: unchanged
    ("滨海组织了多少人次体检?", "江都给劳模发了多少三金?", None),  # names its own place: unchanged
    ("查出来有毛病的呢 管治疗不", "巨港公司工会组织体检查了多少人", "巨港"),  # a clause ending in 呢 turns to the same subject
    # 徐州那边 is where the asker means, not a word pointing back at the wage question: a new question
    ("开大车的 徐州那边哪能洗澡睡觉", "老板拖欠工资不给 工会管不管", None),
    ("那边能洗澡吗", "徐州有货车司机之家吗", "徐州有货车司机之家 能洗澡"),  # 那边 alone does point back
    # the count the earlier question asked goes with it: not "江都劳模一共 人 能去疗养" (page check, tenth session)
    ("能去疗养吗", "江都劳模一共多少人", "江都劳模 能去疗养"),
])
def test_condense(q, prev, expect):
    out = condense(q, [{"role": "user", "content": prev}])
    if expect is None:
        assert out == q
    else:
        assert expect in out and len(out) > len(q)


def test_stream_yields_text_then_answer(answerer):
    pieces = list(answerer.ask_stream("职工书屋有多少册书?"))
    assert isinstance(pieces[-1], type(answerer.ask("职工书屋有多少册书?")))
    assert all(isinstance(p, str) for p in pieces[:-1]) and "".join(pieces[:-1]) == pieces[-1].text


def _hit(source, start, end, rank):
    from qa.chunks import Chunk
    from qa.retrieve import Hit

    return Hit(Chunk(f"c{rank}", source, "t", "", "x" * (end - start), start, end), 1.0 / rank, rank=rank, retrieved_rank=rank)


@pytest.mark.parametrize("cited,order", [
    ([("a.txt", 120, 150)], [3, 1, 2, 4]),  # the cited passage first, the rest in retrieval order
    ([("a.txt", 10, 30)], [1, 2, 3, 4]),  # already first: unchanged
    ([("a.txt", 120, 150), ("b.txt", 5, 20)], [3, 4, 1, 2]),  # in citation order
    ([("a.txt", 190, 230)], [1, 2, 3, 4]),  # a span no passage holds whole: unchanged
    ([], [1, 2, 3, 4]),  # a refusal without a citation
])
def test_cited_passages_come_first_and_keep_their_retrieval_rank(cited, order):
    from qa.answer import cited_first
    from qa.records import Citation

    hits = [_hit("a.txt", 0, 100, 1), _hit("a.txt", 160, 200, 2), _hit("a.txt", 100, 200, 3), _hit("b.txt", 0, 100, 4)]
    cits = [Citation(n, src, "t", s, e, "x") for n, (src, s, e) in enumerate(cited, 1)]
    out = cited_first(hits, cits)
    assert [h.retrieved_rank for h in out] == order
    assert [h.rank for h in out] == [1, 2, 3, 4]


def test_the_first_passage_shown_holds_the_first_citation(answerer):
    # both are refused by the hash model and cite a sentence that retrieval ranked below another passage
    for q in ("滨江追回了多少工资", "焊工比武有几支队伍", "职工书屋有多少册书?"):
        a = answerer.ask(q)
        c, ch = a.citations[0], a.passages[0].chunk
        assert ch.source == c.source and ch.start <= c.start and c.end <= ch.end, q
        assert sorted(h.retrieved_rank for h in a.passages) == list(range(1, len(a.passages) + 1))


def test_answer_json_schema(answerer):
    d = answerer.ask("职工书屋有多少册书?").to_json()
    assert {"question", "answer", "refused", "citations", "passages", "timings_ms"} <= set(d)
    assert set(d["timings_ms"]) == {"embed", "read", "search", "answer", "total"}
    assert {"n", "source", "title", "start", "end", "text"} <= set(d["citations"][0])
    assert {"rank", "retrieved_rank", "score", "source", "title", "column", "start", "end", "text"} == set(d["passages"][0])


@pytest.mark.parametrize("q,slot,unit,focus", [
    ("李新伟讲了多少节课?", "figure", "节", ""),
    ("贾汪区建了几个司机之家?", "figure", "个", ""),
    ("阜宁县的劳动竞赛多久搞一次?", "frequency", "", ""),
    ("工资被拖欠了找谁?", "service", "", ""),
    ("哪里可以歇脚洗个澡", "service", "", ""),
    ("司机之家在哪", "location", "", ""),  # the place is named: where it is (page check, tenth session)
    ("服务站有什么设施?", "focus", "", "设施"),
    ("换工作社保断缴了几个月 咋办", "", "", ""),  # how long is told, what to do asked (a worker on the page)
    ("12351打过去要收话费吗 是不是免费电话", "price", "", ""),  # 免费电话 asks whether it is free, not its number
    ("打12351要话费不", "price", "", ""),  # 要…费 asks a price as 收…费 does (a worker on the page)
    ("我在巨港汽车零部件厂上班,工会组织体检要自己掏钱吗", "price", "", ""),  # whether the worker pays (fresh19)
    ("老板赖着不给钱咋办", "", "", ""),  # an employer not paying asks no price
    ("工会开展劳动用工法律体检走访企业,义乌有什么成效数据", "figure", "", "成效数据"),  # figures asked (fresh19)
    ("基层工会缺人缺钱，有没有省里下大力气补的，要具体数字", "figure", "", ""),
    ("义乌的数字化维权平台是怎么建的", "", "", ""),  # 数字化 asks no figure
    ("射阳书屋借纸质书要办证交押金吗", "price", "", ""),  # a deposit is paid as a price is (a helper on the page)
    ("进厂的时候交了500块押金 身份证也被扣了 正常吗", "legal", "", ""),  # a deposit told, whether it is lawful asked
    ("滨海县总工会电话", "phone", "", ""),
    ("大丰双进宣讲团有联系电话吗,我们企业想请他们来讲", "phone", "", ""),  # 有…电话吗 asks for a number (fresh19)
    ("技术服务队怎么联系,有电话没", "phone", "", ""),
    ("12351半夜有人接电话吗", "clock", "", ""),  # whether someone answers, not the number
    ("被拖欠了几个月工资怎么办", "", "", ""),
    ("王德胜在天津干了几年才落户的", "duration", "年", ""),  # no 咋办: 干了几年 asks
    ("工会会员有什么好处?", "", "", ""),  # a category (好处, 措施, 做法 …), not a word to find
    ("女职工有什么关爱措施?", "", "", ""),
    ("工会为职工做了哪些实事", "focus", "", "实事"),
    ("介绍一下职工书屋", "", "", ""),
    ("企业年金公司交几个点", "figure", "%", ""),  # a percentage, not a count
    ("后来一线工资涨了几个点", "figure", "%", ""),
    ("热饭的驿站有几个点", "figure", "个", ""),  # places counted, not a percentage
    ("涨了多少个百分点", "figure", "%", ""),
    ("骑手驿站几点开门", "clock", "", ""),  # the time, not a percentage
    ("晚上能去吗", "clock", "", ""),
    ("货车司机之家晚上能住吗", "", "", ""),  # a night's stay asked, not opening hours (page check, tenth session)
    ("那晚上能睡吗", "", "", ""),
    ("驿站都在哪些路上?", "address", "", "路上"),
    ("在贾汪司机之家洗澡要多少钱", "price", "", ""),  # what one use costs, not the 2800余万元 it cost to build
    ("那个贾汪司机之家政府花了多少钱建的", "money", "", ""),
    ("工会讨薪要收钱吗", "price", "", ""),  # a worker on the page
    ("工会帮大家要回来多少钱", "money", "", ""),
])
def test_question_slots(q, slot, unit, focus, words_only):
    a = analyse(q, words_only)
    assert (a.slot, a.unit, a.focus) == (slot, unit, focus)


@pytest.mark.parametrize("q,per_unit", [
    ("每个奖多少?", "个"),
    ("困难职工一个人给多少钱", "人"),
    ("江都的劳模每年能免费体检不?检了多少人次", ""),  # 每年 is in another clause: a total is asked
    ("工会食堂吃一顿多少钱啊", "顿"),  # a price by the meal (a helper on the page got 补发…3.6万元)
    ("司机之家住一晚多少钱", "晚"),
    ("工伤一次性能赔多少钱", ""),  # a lump sum, not a price per time
])
def test_rate_is_read_in_the_clause_that_asks_the_figure(q, per_unit, words_only):
    assert analyse(q, words_only).per_unit == per_unit


@pytest.mark.parametrize("q,text,held", [
    ("工会食堂吃一顿多少钱啊", "县某餐饮公司共补发职工加班费3.6万元。", False),  # a total spent is no price by the meal
    ("工会食堂吃一顿多少钱啊", "职工食堂每餐收费5元。", True),
    ("司机之家住一晚多少钱", "夜宿休息室每晚免费向货车司机开放。", True),
    # 免费 without the rate's unit may be free of something else (工会会费每月交多少 and 免费为568名职工体检)
    ("工会会费每月交多少", "县总指导该公司与县人民医院签订合作协议,免费为568名职工体检。", False),
    ("司机之家住一晚多少钱", "目前已投入资金2800余万元,建设“司机之家”5家。", False),
    # an amount to be had by the person is no price: 免费 elsewhere in the sentence does not give it
    ("江都的劳模“三金”每人每年能领多少钱", "近五年,发放劳模“三金”500多万元,组织劳模免费体检2688人次。", False),
])
def test_a_price_by_the_meal_or_night_is_held_only_by_a_rate(q, text, held, words_only):
    assert analyse(q, words_only).details_held(text) is held


@pytest.mark.parametrize("q,units", [
    ("有多少名货车司机党员,成立了几支党员先锋队", ("名", "支")),  # two figures asked, one per clause
    ("培训搞了几期 多少人参加", ("期", "人")),
    ("国家级和省级工作室各多少家", None),  # one figure asked (of two things): one clause
    ("江都给劳模发了多少三金?", None),
])
def test_two_figures_asked_in_two_clauses_are_two_parts(q, units, words_only):
    parts = analyse(q, words_only).parts
    assert (tuple(u for _, u in parts) if parts else None) == units
    if parts:  # each part keeps its own words: 党员 is in both clauses, 先锋队 only in the second
        assert all(not set(a) & set(b) for (a, _), (b, _) in zip(parts, parts[1:]))


def test_each_figure_asked_gets_a_sentence_that_gives_it(tiny_index, hash_embedder, words_only):
    from qa.sentences import SentenceChooser

    chooser = SentenceChooser(tiny_index)
    q = analyse("江宁区帮多少名农民工追回工资,律师办结要几天", words_only)
    sid = {s.text: i for i, s in enumerate(tiny_index.sentences)}
    wages, days = sid[_SAID], sid[_OTHER]
    first, second = q.parts
    assert chooser.answers_part(q, first, wages) and not chooser.answers_part(q, first, days)
    assert chooser.answers_part(q, second, days) and not chooser.answers_part(q, second, wages)
    hit = Retriever(tiny_index, hash_embedder, fusion="bm25").search(q.text, k=1)[0]  # both sentences' passage
    far_behind = [(1.0, wages, hit), (0.5, days, hit)]  # too far behind to join as a runner-up
    as_figures = dataclasses.replace(q, slot="figure", unit="名")  # (几天 alone would ask a duration, added anyway)
    assert chooser.choose(as_figures, far_behind) == [wages, days]
    # a clause with no words of its own (多少天): only its part brings the sentence that gives the days
    short = dataclasses.replace(analyse("江宁区帮多少名农民工追回工资,多少天", words_only), slot="figure", unit="名")
    assert short.parts and chooser.choose(short, far_behind) == [wages, days]
    assert chooser.choose(dataclasses.replace(short, parts=()), far_behind) == [wages]


@pytest.mark.parametrize("q, wants_list", [
    ("滨海县在打通产业工人发展通道方面有哪些激励措施", True),  # had been answered by its heading alone
    ("益阳蹲点工作组联动了哪些职能部门", True),
    ("体检都查了啥", True),
    ("检查包括哪几项", True),
    ("有没有工会帮人讨薪的案例", False),  # a case list: one line per article instead
    ("职工书屋几点开门", False),
])
def test_which_ones_asks_for_a_list(q, wants_list, words_only):
    a = analyse(q, words_only)
    assert a.wants_list is wants_list
    if wants_list:
        assert not a.details_held("落实激励措施,打通职工发展通道。")
        assert a.details_held("主动与交通运输、市场监管、公安等职能部门沟通解决。")


@pytest.mark.parametrize("q, cases", [
    ("有没有工会帮人讨薪的案例", True),
    ("各地帮职工讨薪的做法", True),
    ("困难职工帮扶这块各地是怎么干的", True),  # staff phrasing without 案例/做法: had been one sentence
    ("为货车司机建阵地，各地投了多少钱、建了几个？", True),
    ("职工书屋谁家搞得好", True),
    ("工会组织的球类比赛，谁家办过", True),  # which places did it: no person asked
    ("流动党支部那种，哪家做过", True),
    ("免费培训班，哪几家办得比较好", True),
    ("签集体合同搞得好的是哪几个地方", True),
    ("工会联手法院讨薪的", True),
    ("基层工会缺人又缺钱，别的地方是怎么解决的", True),  # how other places did it
    ("给我找几个工会的线上服务平台、小程序", True),
    ("这种双向宣讲都谁在搞，规模多大", True),  # which places do it, not a person
    ("工会给职工开免费兴趣班，办得火的有哪些", True),  # who did it well
    ("组织职工无偿献血搞得好的单位", True),
    ("帮职工提升学历的 有没有地方在做", True),  # whether anyone does it
    ("有没有工会给单身青年职工办过相亲交友的", True),
    ("工会牵头办职工篮球赛的 哪里办过", True),
    ("职工书屋建得有特色的帮我找几家", True),
    ("企业里推产改让一线工人成才，举个带数字的", True),
    ("技能人才节谁办过", True),  # who did it, asked in a few words
    ("网约车司机搞技能比武,有人办过吗", True),
    ("劳模工匠进校园,哪里在搞", True),
    ("工会经审跟审计局联手监督,有先例吗", True),  # something to learn from
    ("师带徒怎么搞,有能参考的没", True),
    ("消防安全讲座哪个工会办过", True),
    ("我在别的地方上班，能在这儿入会吗", False),  # 别的地方 as where the worker is
    ("有没有地方洗澡", False),  # a place for the worker, not a place that did something
    ("厂里有没有工会", False),
    ("活干得好的有奖金不", False),
    ("哪里能办职工书屋借书证", False),
    ("被拖欠工资了谁管", False),  # whom to turn to, not who did it
    ("开大货的哪有地方歇脚", False),
    ("干了三年经济补偿一年给几个月工资", False),  # a count of months
    ("有人管没", False),
    ("我想找几个人一起学插花", False),
    ("兴化哪家厂签了技术创新的集体合同", False),  # one name asked
    ("欠薪了找谁", False),
    ("我家里困难，工会能帮一把不", False),
])
def test_a_question_asking_across_places_wants_cases(q, cases, words_only):
    assert analyse(q, words_only).wants_cases is cases


@pytest.mark.parametrize("q, several", [
    ("困难职工帮扶这块各地是怎么干的", True),
    ("职工心理健康这方面，哪些地方有做法", True),
    ("工会组织的球类比赛，谁家办过", True),
    ("免费培训班，哪几家办得比较好", True),
    ("这种双向宣讲都谁在搞，规模多大", True),
    ("给我找几个工会的线上服务平台、小程序", True),
    ("基层工会缺人又缺钱，别的地方是怎么解决的", True),
    ("女职工服务方面有哪些例子", True),  # examples asked in the plural
    ("工会帮职工提升学历的例子有哪些", True),
    ("针对女职工的活动或者服务，找几个案例", True),
    ("有没有工会帮人讨薪的案例", False),  # one case will do
    ("深化产改的典型", False),
    ("依托国家级职工书屋开展职工学习的做法", False),
    ("我在别的地方上班，能在这儿入会吗", False),  # no case list asked
    ("各地", True),
])
def test_a_case_request_for_several_places_is_read_as_such(q, several, words_only):
    assert analyse(q, words_only).several is several


@pytest.mark.parametrize("q, searched, kept", [
    ("深化产改的典型", "深化产改", "典型"),  # 典型 asks for cases: 无锡's 先进典型 outranked every 产改 report
    ("推动女职工弹性上班、错峰上下班的典型", "错峰上下班", "典型"),
    ("工会帮职工把拖欠的工资追回来的典型，要有金额的", "追回来", "典型"),
    ("选树先进典型的做法", "先进典型", ""),  # here 典型 is the subject
])
def test_a_case_request_is_searched_without_its_request_words(q, searched, kept, words_only):
    question = analyse(q, words_only)
    assert question.wants_cases and searched in question.search_text
    assert not kept or kept not in question.search_text


@pytest.mark.parametrize("q, slot", [
    ("工会春节包车送农民工返乡的做法，给我几个典型", ""),  # some cases asked for, not how many
    ("给我几个例子，工会帮人讨薪的", ""),
    ("有没有工会帮人讨薪的案例，帮我找几个", ""),
    ("能给我几个名额吗", "figure"),  # a count asked
    ("各地建了几个驿站，给我几个典型", "figure"),
])
def test_asking_for_a_few_cases_is_no_count(q, slot, words_only):
    assert analyse(q, words_only).slot == slot


def test_generic_category_words_weigh_little_and_outcome_is_noted(words_only):
    a = analyse("女职工有什么关爱措施?", words_only)
    assert a.tokens["措施"] < a.tokens["女职工"] / 2 and not a.outcome
    b = analyse("服装公司改制最后裁了多少人?", words_only)
    assert b.outcome == "最后" and b.slot == "figure"


@pytest.mark.parametrize("q,text,expect", [
    ("讲了多少节课?", "开展线下授课81节。", True),
    ("讲了多少节课?", "组织线下分享会8次。", False),  # a figure, but not in the asked unit
    ("建了几个司机之家?", "建设“司机之家”5家。", True),  # 几个 accepts any classifier
    ("有多少人参加?", "12月12日,公司召开大会。", False),  # a date is not a figure
    ("有多少人参加?", "打造“1958”匠心工程”品牌。", False),  # nor a brand number
    ("多久一次?", "县总工会按季开展竞赛,一季一次;", True),
    ("工会主席多久述一次职", "每半年召开1次工会主席述职会议。", True),  # 每半年 (a tune question's miss)
    ("多久一次?", "每两个月组织一次。", True),
    ("多久一次?", "每人发放慰问金。", False),
    ("县里多久比一回", "县总工会按季开展竞赛,一季一次;", True),  # 一回 is 一次 (how often, not how long)
    ("县里多久比一回", "2024年度劳动和技能竞赛先进单位", False),  # a year is neither
    ("企业年金交几个点?", "选树50家示范性乡镇工会。", False),
    ("企业年金交几个点?", "职工薪资每年涨幅约为10%。", True),
    ("具体地址在哪?", "坚持“工会随着司机建”的工作思路。", False),  # 思路 is no road
    ("具体地址在哪?", "宣讲会在大丰职工之家举行,强民族复兴路上的力量。", False),
    ("具体地址在哪?", "驿站位于城东新区。", True),
    ("具体地址在哪?", "驿站设在人民路88号。", True),
    # 哪个地方 is answered by a place's name, not by a word ending in 方 (a diagnostic set's miss)
    ("哪个地方的工会法人登记实现了全程网上办理", "北京工会法人登记实现“一网通办、全程网办”。", True),
    ("哪个地方的工会法人登记实现了全程网上办理", "多方联动,探索新路子。", False),
    ("兴化家课堂那个班在哪个地方上课", "兴化市总工会打好深化产改“组合拳”。", False),  # the question's own place answers nothing
    ("产假一共能休多少天", "企业设立478个“妈妈班”。", False),  # 多少天 asks a duration
    ("产假一共能休多少天", "女职工可休产假98天。", True),
    ("产假一共能休多少天", "近三年,共走访慰问60家困难职工。", False),  # 多少天 is not answered in years
    ("投诉几天能办结", "工会律师全程代理,平均办结时间缩短到15天。", True),
    ("劳模当了多少年", "他在天津工作了34年。", True),
    # 某 withholds a name, 该 refers back to one: neither names the company asked for
    ("补发加班费的是哪家公司", "县某餐饮公司主动进行整改,共补发加班费3.6万元。", False),
    ("补发加班费的是哪家公司", "江苏恒升物业公司工会开展“三个一”活动。", True),
    ("那个服装公司叫啥名", "县某服装公司改制,工会发出《建议书》,促进该公司重新修改改制方案。", False),
    ("那个拖欠工资的公司叫什么", "工作人员立即为公司负责人讲解了有关法律规定。", False),
    ("义乌那个网上维权的平台叫啥名字", "义乌市总工会全力推进“金地瓜”维权服务平台建设。", True),
    # a 副主席 is no 主席 (a diagnostic set's 铁岭市总工会的主席是谁 was answered with its 副主席)
    ("铁岭市总工会的主席是谁", "铁岭市总工会副主席张凤军说,各级工会依托职工书屋开展岗位练兵。", False),
    ("铁岭市总工会的副主席是谁", "铁岭市总工会副主席张凤军说,各级工会依托职工书屋开展岗位练兵。", True),
    ("大丰区总工会主席是谁", "区政协副主席、总工会主席汤云庆出席启动仪式并讲话。", True),
    ("司机之家在哪", "区总工会与区交通运输行业工会联建,在国道、省道线上建设货车“司机之家”。", True),
    ("司机之家在哪", "建设了徐州云集港口、大吴物流园等货汇集散地“司机之家”;", True),
    ("司机之家在哪", "各“司机之家”都有醒目的标志牌、休息室、娱乐室。", False),  # what it has, not where it is
    # the noun asked is the word after 哪个, or its first character when the two make no word (省以, 队拿)
    ("哪个省以地方立法形式明确了热线的作用", "新修订的《安徽省实施〈工会法〉办法》以立法的形式,明确发挥热线作用。", True),
    ("哪个省以地方立法形式明确了热线的作用", "以立法的形式,明确发挥热线作用。", False),
    ("篮球赛最后哪个队拿了冠军", "共有来自县内企事业单位的8支球队参赛。", False),  # 球队 names no team
    ("篮球赛最后哪个队拿了冠军", "红星队夺得冠军。", True),
    ("兴化哪家厂签了技术创新的集体合同", "指导双乐公司签订职工技术创新专项集体合同。", True),  # a 厂 is a company
    # a figure the question quotes is no answer to it (a held-out question was answered with its own 280件)
    ("安徽12351派发的280件工单里，欠薪的占多少件", "截至目前,热线共接听职工来电1.5万余,派发工单280件。", False),
    ("安徽12351派发的280件工单里，欠薪的占多少件", "其中欠薪工单96件。", True),
    ("服装厂改制老板一下要裁26个人,最后裁了几个", "县某服装公司改制,拟裁员26人。", False),
    ("服装厂改制老板一下要裁26个人,最后裁了几个", "最终仅裁员11人,给予人均1.8万元经济补偿。", True),
    # a length asked in months is not one in hours, nor the day something happened (fresh16's 古筝班 question)
    ("宝鸡文化宫的古筝班一期要学几个月", "首次推出培训课程当天,就有5万余名职工在线上抢课,所有课程1小时内“爆满”。", False),
    ("宝鸡文化宫的古筝班一期要学几个月", "每期课程3个月。", True),
    ("电子书借一次能看几个星期", "借阅期为90天。", True),
    ("提了意见要等几个小时", "确保48小时内给予回复。", True),
    ("提了意见要等几个小时", "近三年,共走访慰问60家。", False),
    # when it is held next: a date still to come or how often, not the day it was (fresh16's 下回啥时候再来)
    ("中铁市政环保公司请的专家下回啥时候再来", "12月12日,中铁上海工程局集团市政环保公司一名职工说。", False),
    ("中铁市政环保公司请的专家下回啥时候再来", "公司计划于6月1日再次邀请专家来公司义诊。", True),
    ("读书讲堂下次什么时候办", "讲堂每月举办一次。", True),
    ("读书讲堂什么时候办的", "12月12日,讲堂举办首期活动。", True),
    # 从哪报 / 上哪报名: how to sign up (a tune question had been read as asking nothing)
    ("宝鸡文化宫的公益课一般从哪报", "在微信公众号开通线上报名小程序。", True),
    ("宝鸡文化宫的公益课一般从哪报", "目前,市工人文化宫常年开设两大类50多项公益培训课程。", False),
    ("去文化宫学跳舞上哪报名啊", "在微信公众号开通线上报名小程序。", True),
])
def test_slot_matching(q, text, expect, words_only):
    assert analyse(q, words_only).has_slot(text) is expect


@pytest.mark.parametrize("q, members", [
    ("江都那12个全国劳模分别是哪些人", True),
    ("滨海县那30家集体协商金牌单位都是哪些企业", True),  # no case list: the names of one report's group
    ("兴化“十大工种”职工技能竞赛具体是哪十个工种", True),
    ("亭湖去圣泰阀门帮忙的那四个劳模工匠都叫啥名字", True),  # 叫啥名字 of a counted group (fresh19)
    ("西宁这次表彰的135名优秀志愿者有名单吗", True),
    ("那个平台叫啥名字", False),  # one thing's name: 那个 counts no group
    ("那3家企业有哪些做法", False),  # what they did, not who they are
    ("我一个人在外地打工有哪些地方能帮忙", False),  # 一个人 counts no group
    ("江都打造了哪些职工书屋", False),
])
def test_the_members_of_a_group_the_question_counts(q, members, words_only):
    a = analyse(q, words_only)
    assert (a.slot == "members", a.members) == (members, members)
    assert not (members and a.wants_cases)


@pytest.mark.parametrize("text, held", [
    ("目前,江都区有全国劳模12人、省劳模165人、市劳模192人、区劳模701人,共1070人。", False),  # figures, no names
    ("江都区12名全国劳模中,王德胜、李红旗、张友良等常年下企业。", True),
    ("江都区有全国劳模12人。王德胜、李红旗参加了活动。", False),  # the names are not where the 12 are
    ("12名全国劳模在改善一线职工生产环境、加强高技能人才薪酬激励等方面出力。", False),  # actions, not names
])
def test_members_are_answered_by_their_names_where_the_group_is(text, held, words_only):
    assert analyse("江都那12个全国劳模分别是哪些人", words_only).has_slot(text) is held


@pytest.mark.parametrize("text, held", [
    # the four are counted, and the sentence lists things, not people (fresh19 and fresh20 asked it; it was answered)
    ("亭湖区总工会组织四名技能型劳模工匠走进江苏圣泰阀门有限公司,助推企业在质量预防、质量控制、质量改善等方面更上了一个台阶。", False),
    ("亭湖区总工会组织王德胜、李红旗、张友良、刘春四名劳模走进江苏圣泰阀门有限公司。", True),
])
def test_people_counted_are_named_by_people(text, held, words_only):
    q = analyse("亭湖去圣泰阀门的那四个劳模都叫啥名字", words_only)
    assert q.slot == "members" and q.has_slot(text) is held


@pytest.mark.parametrize("q, starts", [
    ("下班后职工们来书屋干啥", "河西市总工会：职工们说"),  # the sentence says nothing of where: its article's union first
    ("工会律师平均多少天办结", "江宁区总工会：工会律师全程代理"),
    ("河西市的职工下班后来书屋干啥", "近日,河西市总工会"),  # the question names the place: not again
    ("货车司机之家能容纳多少司机", "日前,青山县总工会"),  # the sentence names it
])
def test_an_answer_says_where_when_its_sentences_do_not(tiny_index, hash_embedder, q, starts):
    """A worker on a phone saw 徐州贾汪 only in the grey source line under the 司机之家 answer."""
    from qa.answerability import AnswerabilityModel

    ans = Answerer(tiny_index, hash_embedder, answerability=AnswerabilityModel.always()).ask(q)
    assert ans.text.startswith(starts), ans.text
    assert verify_answer(ans, source_text) == []


def test_question_about_an_absent_place_is_refused_naming_it(answerer):
    ans = answerer.ask("东莞工会有什么新闻?")
    assert ans.refused and "东莞" in ans.text and ans.support["missing"] == ["东莞"]
    assert ans.support["why"] == "missing_name"
    assert not answerer.ask("滨江市总工会追回了多少欠薪?").refused  # a place the bulletins do name


@pytest.mark.parametrize("q", ["我想开网约车", "师傅你好 工会管不管", "工会能上门吗", "诗朗诵比赛有吗", "普通员工能参加吗",
                               "女职工有什么福利?", "养老金怎么领?", "保安工资多少?", "领失业金那段时间医保还有没有"])
def test_everyday_words_are_never_reported_as_missing_names(q):
    from qa.names import names_in

    assert names_in(q) == [], q


@pytest.mark.parametrize("q,name", [("我在东莞打工", "东莞"), ("成都市总工会有啥活动", "成都市"), ("张三是谁", "张三"),
                                    ("富士康有工会吗", "富士康"), ("顺丰快递员能入工会不", "顺丰"),
                                    # autonomous regions by their everyday names (found missing on the page: 新疆那边有吗)
                                    ("新疆那边有司机之家吗", "新疆"), ("广西工会投了多少钱", "广西"), ("宁夏有职工书屋吗", "宁夏"),
                                    ("西藏有吗", "西藏"),
                                    # jieba tags 常德 here as a person's name; no role follows it
                                    ("常德跑网约车的 有工会可以入吗", "常德"), ("我在常德跑网约车", "常德")])
def test_real_names_are_found(q, name):
    from qa.names import names_in

    assert name in names_in(q)


@pytest.mark.parametrize("name,short", [("新疆维吾尔自治区", "新疆"), ("恩施土家族苗族自治州", "恩施"),
                                        ("巴音郭楞蒙古自治州", "巴音郭楞"), ("彭水苗族土家族自治县", "彭水"),
                                        ("张家川回族自治县", "张家川"), ("长白朝鲜族自治县", "长白"),
                                        ("西藏自治区", ""), ("内蒙古自治区", ""), ("成都市", "")])
def test_an_autonomous_division_is_named_without_its_peoples(name, short):
    from qa.names import without_peoples

    assert without_peoples(name) == short


def test_a_new_subject_in_an_absent_place_is_refused_about_its_own_words(answerer):
    """Seen on the page: 喀什那边有司机之家吗 after an injury question was refused naming 喀什 but cited
    the injury case as the nearest thing; 那喀什呢 names only a place and keeps the earlier subject."""
    hist = [{"role": "user", "content": "职工书屋藏书有多少册"}, {"role": "assistant", "content": "…"}]
    ans = answerer.ask("喀什那边有货车司机之家吗", hist)
    assert ans.refused and ans.support["missing"] == ["喀什"] and ans.standalone_question == "喀什那边有货车司机之家吗"
    assert "货车司机之家" in ans.citations[0].text
    again = answerer.ask("那喀什呢", hist)
    assert again.refused and "职工书屋" in again.standalone_question


def test_an_asked_detail_the_answer_lacks_is_refused(answerer):
    ans = answerer.ask("职工书屋每个月要交多少会费?")  # the topic is there; a fee is not
    assert ans.refused and ans.support["why"] == "detail_missing"
    assert verify_answer(ans, source_text) == []


def test_typos_and_pinyin_are_read_as_bulletin_words(answerer):
    assert answerer.vocabulary.repair("公会有职工书屋吗") == "工会有职工书屋吗"
    assert answerer.vocabulary.repair("公会帮忙讨工姿吗") == "工会帮忙讨工资吗"
    assert "工会" in answerer.vocabulary.words_of("gonghui在哪")


@pytest.mark.parametrize("q", ["下半年工会有啥活动",  # 下半 sounds like the bulletin's 下班 but cuts 下半年 in two
                               "在滨江失业了,工会能帮忙找工作不", "失业了去哪"])
def test_real_words_are_not_repaired_as_typos(answerer, q):
    assert answerer.vocabulary.repair(q) == q


@pytest.mark.parametrize("toks, beyond, expected", [
    ({"华光"}, None, 2 / 3),
    ({"华光", "母婴室"}, None, 1.0),
    ({"华光", "母婴室"}, {"华光"}, 1.0),  # what the sentence adds to the subject its article names
    ({"华光"}, {"华光"}, 0.0),
    ({"母婴室"}, {"华光", "母婴室"}, 0.0),  # nothing left beyond the subject
    (set(), None, 0.0),
])
def test_coverage_beyond_the_subject(toks, beyond, expected):
    from qa.question import Question

    q = Question("华光厂里喂奶的地方", {"华光": 2.0, "喂奶": 1.0}, {"喂奶": ("母婴室",)})
    assert q.coverage(toks, beyond=beyond) == pytest.approx(expected)


def test_a_workers_word_is_covered_by_the_bulletins_word(words_only):
    """帮女工带孩子的班 was answered with overtime pay: the bulletins say 女职工 (478个“妈妈班”,解决女职工就业后顾之忧)."""
    from qa.tokens import tokenize

    q = analyse("厂里有没有帮女工带孩子的班", words_only)
    assert q.coverage(set(tokenize("企业设立478个“妈妈班”,解决女职工就业后顾之忧。"))) > 0


@pytest.mark.parametrize("question, slot", [
    ("司机之家洗澡要钱吗", "price"),
    ("职工书屋借书收费不", "price"),
    ("疗休养一次多少钱", "price"),
    ("安徽那个热线帮人要回来多少钱", "money"),
    ("这个项目花了多少钱", "money"),
    ("打12351要收电话费吗", "price"),
    ("货车司机 能洗澡 要多少钱", "price"),  # a follow-up 那要多少钱 after 哪里能洗澡, condensed
    ("司机之家住一晚要多少钱", "price"),
    ("工会帮忙打官司要交律师费吗", "price"),  # whether the help costs: a helper trying the page got 义乌's visit count
    ("咋入 要交钱不", "price"),
    ("单位老板不交工会经费,天津那边审计查出来过没", ""),  # 不交…经费 tells what the employer does: no price asked
    ("建一个司机之家要多少钱", "money"),  # a sum spent, not a price
    ("广西这三年一共要砸多少钱", "money"),
    ("工会法人登记网上办完要几个工作日", "duration"),  # not a count of anything
    ("离职了公司拖着不给结在职那几个月的工钱 咋弄", ""),  # 那几个月 points at the months, asks no duration
    ("老板欠工资好几个月了 打啥电话找公会啊", "phone"),  # 好几个月 tells, 打啥电话 asks
    ("有没有工会联合法院集中执行的例子", ""),  # 联合法院 is no question of 合法
    ("周末只给调休不给加班费 这合法不", "legal"),
    ("驿站几点开门", "clock"),
    ("老板欠薪 有没有电话能打", "phone"),  # 有没有电话: a number is asked (the 12351 line)
    ("金地瓜平台有没有客服电话", "phone"),  # ... with what kind of number between
    ("有没有人接电话", ""),  # whether someone answers, not a number
    ("滨海县总工会电话", "phone"),  # typed as a search: its number is asked
    ("义乌金地瓜平台客服电话号码？", "phone"),
    ("半夜打有人接不", "clock"),  # whether it is open at that hour: 7×24小时
    ("晚上能去吗", "clock"),
    ("晚上行不", "clock"),
    ("半夜两三点开到贾汪 司机之家还开着门吗", "clock"),  # fresh20: answered with the night room's beds, not 24小时
    ("那地方是24小时都开着吗", "clock"),
    ("兴化那边晚上的培训班能学不", ""),  # 晚上的培训班 names a class: no hours asked
    ("报名找谁", "procedure"),  # after a question about a free class: how to sign up (a helper trying the page)
    ("讲座的题目叫啥", "name"),
    ("讲座是哪天搞的", "date"),
    ("球类比赛谁家办过", ""),  # which places did it (a case list), not a person
    ("流动党支部哪家做过", ""),
    ("兴化哪家厂签了集体合同", "which"),
    ("工会主席是谁", "person"),
    # 十几个钟头, 三十几年 tell a rough number, they ask none (a tune question had been refused as 没有找到具体时长)
    ("在益阳跑网约车一天开十几个钟头，累了想找个地方歇脚喝口水", ""),
    ("在外地干了三十几年了还没户口 劳模能帮着落户吗", ""),
    ("一下裁了二十几个人 工会管不管", ""),
    ("宝鸡文化宫的公益课一般从哪报", "procedure"),
    ("想反映问题从哪找人", "service"),
])
def test_a_price_is_asked_apart_from_an_amount(question, slot):
    from qa.question import slot_of

    assert slot_of(question)[0] == slot


@pytest.mark.parametrize("slot, text, held", [
    ("price", "累计投入2800余万元建设司机之家", False),  # a total spent is not what one shower costs
    ("price", "淋浴每次5元", True),
    ("price", "职工免费使用", True),
    ("money", "累计投入2800余万元建设司机之家", True),  # 余 before the magnitude
    ("money", "为职工追回工资143万多元", True),  # 余/多 after it
    ("money", "为职工追回工资", False),
    ("figure", "共追回300多万元", True),
    ("clock", "驿站全天24小时开放", True),
    ("clock", "每天8:30至17:30开放", True),
    ("clock", "3月22日上午,宣讲会在大丰职工之家举行", False),  # when an event was held is no opening hour
    ("duration", "3个工作日内办结", True),
    ("duration", "不到1个月,该公司就成立工会", True),
    ("duration", "该公司工会成立于去年5月27日", False),  # a date is no length of time (多久就把工会建起来了)
    ("duration", "2023年,该市成立行业工会", False),
    ("duration", "庆祝建会30周年", False),
])
def test_what_holds_a_price_or_an_amount(slot, text, held):
    from qa.details import holds

    assert holds(slot, text) is held


@pytest.mark.parametrize("unit, text, held", [
    ("人", "表彰135名优秀志愿者", True),  # 名, 位, 人次 count people too
    ("回", "下基层讲课156场", True),
    ("人", "建成司机之家5家", False),
    ("家", "表彰135名优秀志愿者", False),
    ("件", "帮助职工解决实际困难52项", True),  # 件, 项 and 个 count matters alike (解决了几件)
    ("件", "解决产业工人急难愁盼问题173个", True),
    ("件", "表彰135名优秀志愿者", False),
])
def test_a_count_is_held_by_a_measure_word_that_counts_the_same(unit, text, held):
    from qa.details import holds

    assert holds("figure", text, unit=unit) is held


@pytest.mark.parametrize("question, text, held", [
    ("技能人才节是几月几号", "2023年,江都区举办首届技能人才节", False),  # a year is not a day
    ("技能人才节是几月几号", "3月22日下午,江都区举办首届技能人才节", True),
    ("技能人才节是哪年办的", "2023年,江都区举办首届技能人才节", True),
    ("益阳工会党组书记叫什么", "益阳市总工会党组书记、副主席张友良介绍", True),
    ("贾汪区总工会主席叫啥", "徐州市贾汪区总工会坚持工作思路", False),
])
def test_a_day_and_a_person_are_read_as_asked(answerer, question, text, held):
    q = analyse(question, answerer.vocabulary)
    assert q.slot == ("person" if "叫" in question else "date")  # 主席叫啥 asks a person, not a title
    assert q.has_slot(text) is held


def test_a_sentence_reach_is_its_closest_domain_questions(answerer, tiny_index):
    """r(s): the mean cosine of the sentence's HUB_K closest in-domain background questions; the hub
    score of an answer is its best cos(q, s) - r(s) in background spreads."""
    from qa.answerability import HUB_K

    ids = np.arange(len(tiny_index.sentences))
    sims = tiny_index.domain_vectors().astype(np.float32) @ tiny_index.sentence_vectors.astype(np.float32).T
    expected = np.sort(sims, axis=0)[-HUB_K:].mean(axis=0)
    assert np.allclose(answerer.evidence.reach(ids[::-1])[::-1], expected, atol=1e-5)
    assert np.allclose(answerer.evidence.reach(ids), expected, atol=1e-5)  # kept, same answer
    ans = answerer.ask("货车司机之家有淋浴间吗")
    assert -20 < ans.support["hub"] < 20 and ans.support["hub"] != -1.0


@pytest.mark.parametrize("features, weights", [(("z_passage", "nope"), (1.0, 1.0)), (("hub",), (1.0, 2.0))])
def test_an_answerability_model_names_known_features(features, weights):
    from qa.answerability import AnswerabilityModel

    with pytest.raises(ValueError, match="features"):
        AnswerabilityModel(weights, 0.0, 0.5, features)


def test_an_untitled_fragment_is_not_offered_as_a_topic(index_of, hash_embedder, hash_answerability):
    from qa.articles import split_articles

    text = ("后,蹲点工作组主动与交通运输、市场监管部门对接,推动货车司机入会,新建工会12家,发展会员800名。\n\n\n"
            "货车司机之家开门迎客\n\n本报讯 货车司机之家配有淋浴间、洗衣机和休息室,为货车司机提供服务。\n")
    assert any(a.display_title.startswith("（无题）") for a in split_articles(text, "issue.txt"))
    a = Answerer(index_of({"issue.txt": text}), hash_embedder, answerability=hash_answerability)
    hits = a.retriever.search("蹲点工作组推动货车司机入会", k=5)
    assert len({(h.chunk.source, h.chunk.article) for h in hits}) == 2
    assert a.replies.nearby_topics(hits) == ["货车司机之家开门迎客"]


@pytest.mark.parametrize("sentence, kept", [
    # a quoted title with a comma inside stays whole when the sentence is trimmed
    ("省五一劳动奖章获得者、海嘉诺药业有限公司工会副主席姚正新以“不忘初心,在奋斗中前行”为题,讲述了自己扎根基层、"
     "在平凡岗位上干出不平凡业绩的奋斗故事,赢得台下阵阵掌声。", "“不忘初心,在奋斗中前行”"),
    # a bracketed list likewise
    ("公司党委以打造匠心工程品牌为目标,深化“党建+五化转型”模式(业务集成化、装备低碳化,市场国际化、流程数字化、"
     "管理协同化),推动企业转型发展,取得了明显成效,得到了上级的肯定。", "(业务集成化、装备低碳化,市场国际化、流程数字化、管理协同化)"),
    # the two halves of an echo (…到哪里,…就…到哪里) stay together
    ("持续做好货车司机群体思想引领、凝聚共识等工作,建立“货车司机一党员司机一流动党员党支部一行业党委”机制,"
     "确保货车行驶到哪里,党的工作就跟进覆盖到哪里,让广大货车司机感受到组织的温暖。", "确保货车行驶到哪里,党的工作就跟进覆盖到哪里"),
])
def test_trim_never_cuts_inside_quotes_or_brackets(sentence, kept):
    from qa.citations import trim

    a, b = trim(sentence, lambda clause: 1.0 if kept[1:5] in clause else 0.0, limit=60)
    assert kept in sentence[a:b]


@pytest.mark.parametrize("sentence, lead", [
    ("针对工资拖欠、建会入会、劳动合同、新业态劳动者权益维护等热点问题,安徽省总工会职工服务中心通过日报、周报、月调度等机制常态化分析研判,"
     "强化维权服务质效,针对性开展业务培训、专家质检,用更便捷、更高效、更温情的方式解决职工急难愁盼问题,释放维权服务新动能。", "针对工资拖欠"),
    ("在蹲点组的指导下,不到1个月,万顺网约车益阳分公司就成立工会,随后带动全市网约车平台企业纷纷建会,全市已建成网约车、快递等51个新业态工会组织,"
     "覆盖了大多数司机。", "在蹲点组的指导下"),
])
def test_trim_does_not_end_on_a_lead_in_clause(sentence, lead):
    """A worker got 针对工资拖欠…等热点问题[1]: the clause that only sets the scene, cut from what it leads to."""
    from qa.citations import trim

    a, b = trim(sentence, lambda clause: 1.0 if lead in clause else 0.0, limit=90)
    assert sentence[a:b].startswith(lead) and b > a + len(sentence.split(",")[0]) + 1, sentence[a:b]


@pytest.mark.parametrize("sentence, limit", [
    # a worker got …走访时发现[1]公司负责人听取了…: the clause ending on 发现 without what was found
    ("近日,浙江金华义乌市总工会职工服务中心工作人员在开展“劳动用工法律体检”走访时发现,该市某装饰材料公司职工何某军离职后,"
     "公司一直没有给他发放在岗时的工资。", 70),
    ("市总工会负责人表示,下一步将在全市推广这一做法,让更多职工享受到实实在在的服务,切实增强职工的获得感和幸福感。", 40),
    # 家里困难,在华光上班… got the subject's name alone: 无锡华光…装备事业部(以下简称“华光装备”)[1]
    ("无锡华光环保能源集团股份有限公司装备事业部(以下简称“华光装备”),坚持党建引领,做实思想赋能、技术赋能、关爱赋能,"
     "深入推进产改,有效提高产业工人队伍素质。", 60),
])
def test_trim_does_not_end_on_a_clause_that_leads_into_the_next(sentence, limit):
    from qa.citations import trim

    a, b = trim(sentence, lambda clause: 1.0 if "工会" in clause or "华光" in clause else 0.0, limit=limit)
    kept = sentence[a:b]
    assert kept and b - a <= limit and not kept.endswith(("发现", "离职后", "表示", "”)")), kept


@pytest.mark.parametrize("sentence, end", [
    # the rest of 射阳's report is not in the bulletin: its last words open a quote that never closes
    ("实现阅读“云借阅”,鼓励广大职工借助电子阅读设备,手机扫码自助借阅电子图书,一次借阅,90天内可随时掌上阅读,"
     "利用“碎片化时间”解锁读书新“姿势”,为职工提供更加方便、快捷的“线", "解锁读书新“姿势”"),
    # a sentence with its end mark keeps its last clause; so does one whose cut clause opens nothing
    ("为职工提供更加方便、快捷的“线上+线下”服务,职工纷纷点赞。", "职工纷纷点赞。"),
    ("鼓励广大职工借助电子阅读设备,手机扫码自助借阅电子图书,一次借阅,90天内可随时掌上阅读", "90天内可随时掌上阅读"),
    # too little before the cut clause to stand alone: kept as it is
    ("职工书屋,快捷的“线", "快捷的“线"),
])
def test_a_sentence_the_layout_cut_off_is_cited_without_its_broken_last_clause(sentence, end):
    from qa.citations import trim

    a, b = trim(sentence, lambda clause: 0.0, limit=200)
    assert a == 0 and sentence[a:b].endswith(end), sentence[a:b]


def test_trim_never_gives_a_sentences_last_clause_alone_as_a_scrap():
    """A refusal's nearest content read 使职工合法权益得到维护 (a helper on the page: it means nothing): the
    sentence's short last clause matched 合法.  A window shorter than 24 characters grows, at the end too."""
    from qa.citations import trim

    sentence = ("工会劳动法律监督员张祥申请县总工会发出《建议书》,促进该公司重新修改改制方案,并经职代会通过,"
                "最终仅裁员11人,给予人均1.8万元经济补偿,使职工合法权益得到维护。")
    a, b = trim(sentence, lambda clause: (1.0 if "合法" in clause else 0.0) - 0.002 * len(clause), limit=80)
    assert "合法" in sentence[a:b] and b - a >= 24 and b - a <= 80, sentence[a:b]


def test_trim_with_an_unclosed_quote_still_cuts_at_commas():
    from qa.citations import trim

    sentence = "他说“这件事,我们一定办好,请大家放心,工会是职工的娘家,有困难就来找工会,我们一起想办法解决问题"
    a, b = trim(sentence, lambda clause: 1.0 if "娘家" in clause else 0.0, limit=30)
    assert "娘家" in sentence[a:b] and b - a <= 30


@pytest.mark.parametrize("text, question", [
    ("在何处建设“司机之家”?", True),  # a sub-heading the bulletin asks
    ("建设什么样的“司机之家”？", True),
    ("他问:“工会管不管?”", True),
    ("各“司机之家”都配有淋浴间。", False),
    ("有困难找工会", False),
])
def test_a_question_the_bulletin_asks_is_no_answer(text, question):
    from qa.sentences import asks

    assert asks(text) is question


@pytest.mark.parametrize("text, kept", [
    ("现在职工书屋就在身边,查阅资料特别方便。”", "现在职工书屋就在身边,查阅资料特别方便。"),  # the quote opened a sentence earlier
    ("他说“工会是职工的娘家”", "他说“工会是职工的娘家”"),
    ("深化“党建+五化转型”模式(业务集成化、装备低碳化)", "深化“党建+五化转型”模式(业务集成化、装备低碳化)"),
    ("落实治疗措施。）", "落实治疗措施。"),
    ("”", ""),
])
def test_a_citation_does_not_end_on_a_quote_it_never_opened(text, kept):
    from qa.citations import drop_unopened_closer

    assert text[:drop_unopened_closer(text, 0, len(text))] == kept


@pytest.mark.parametrize("token,inside", [
    ("杨正群", True),  # cut as 主任杨 / 正群 by jieba, still in the text
    ("主任杨", True),  # a token
    ("杨", False),  # one character: tokens only
    ("王五", False),
])
def test_sentence_words_hold_a_word_found_uncut_in_the_text(token, inside):
    from qa.sentences import Words

    w = Words({"主任杨", "正群", "宣讲"}, "大丰区教师发展中心办公室主任杨正群作了宣讲")
    assert (token in w) is inside
    both = w | Words({"工会"}, "区总工会")
    assert "总工会" in both and "杨正群" in both and isinstance(both, Words)


@pytest.mark.parametrize("region,place,inside", [("安徽省", "芜湖", True), ("安徽", "芜湖市", True), ("江苏", "贾汪区", True),
                                                 ("徐州市", "贾汪", True), ("南京市", "江宁区", True), ("江苏省", "东莞", False),
                                                 ("芜湖", "安徽", False), ("", "芜湖", False), ("安徽省", "", False)])
def test_a_division_encloses_the_places_inside_it(region, place, inside):
    from qa.names import encloses

    assert encloses(region, place) is inside


@pytest.mark.parametrize("q,name", [("苏州工业园区有没有劳模创新工作室", "苏州"),  # one place word that begins with a city
                                    ("我在美团当骑手,美团有没有建工会", "美团"),  # tagged a name in one place only
                                    ("我在东莞电子厂打工 东莞工会管不管", "东莞")])
def test_names_are_found_inside_longer_words_and_listed_once(q, name):
    from qa.names import names_in

    found = names_in(q)
    assert name in found and len(found) == len(set(found)), found


def test_a_place_inside_or_around_the_answers_place_is_not_missing(answerer):
    """A worker names their own city while the bulletin is about the district or province: 南京 holds
    江宁区, whose union recovered wages; 东莞 holds nothing the bulletins cover."""
    assert answerer.ask("我在南京,江宁区总工会能帮农民工讨回欠薪吗").support["missing"] == []
    ans = answerer.ask("我在东莞,东莞总工会能帮农民工讨回欠薪吗")
    assert ans.refused and ans.support["missing"] == ["东莞"] and ans.text.count("东莞") == 1


def test_a_place_the_answer_sentence_names_counts_before_the_region_its_report_is_about(index_of, hash_embedder):
    """南宁的乡镇工会都配了专职副主席没 was answered with 广西's 以河池市为例,该市…均配备工会专职副主席: the report
    is about the region around 南宁, but the sentence is about 河池, beside it; a sentence naming no city
    still answers for the region's cities."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "广西工会强基层\n\n本报讯 广西壮族自治区总工会计划3年投入2亿元强基层。"
                               "以河池市为例,该市139个乡镇均配备工会专职副主席。\n\n"
                               "自治区总工会还为职工书屋添置图书5万册。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("南宁的乡镇工会都配了专职副主席没")
    assert ans.refused and ans.support["missing"] == ["南宁"], ans.text
    assert not answerer.ask("河池的乡镇工会都配了专职副主席没").refused
    assert answerer.ask("南宁的职工书屋添置图书了吗").support["missing"] == []


def test_a_place_named_only_in_passing_is_no_report_about_it(index_of, hash_embedder):
    """深圳有司机之家吗 was answered with 徐州贾汪's rest stops: 深圳 is in the bulletins only in an award's
    name (荣获深圳市优质样板工程), so no report is about it, and the answer is about another place."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "徐州贾汪建好货车司机之家\n\n本报讯 徐州市贾汪区总工会建设货车司机之家,配有淋浴间、休息室。\n",
                      "b.txt": "江都劳模创新工作室\n\n本报讯 江都区总工会劳模创新工作室连续多年荣获深圳市优质样板工程。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("深圳有司机之家吗")
    assert ans.refused and ans.support["missing"] == ["深圳"] and "没有关于“深圳”" in ans.text, ans.text
    assert "贾汪" in ans.text  # the nearest thing the bulletins do say
    assert not answerer.ask("贾汪有司机之家吗").refused
    assert not answerer.ask("徐州有司机之家吗").refused  # a report on a district inside it


def test_a_follow_up_detail_comes_from_the_report_the_conversation_is_about(index_of, hash_embedder):
    """那晚上呢 开到几点 after 连云区's 药店 stations (保暖茶水) was answered with 徐州贾汪's rest stops' 24小时:
    a follow-up taking the earlier subject asks its detail of the reports the last answer cited."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "爱心驿站送温暖\n\n本报讯 连云区在主城区药店设立50个爱心驿站,为外卖骑手免费提供保暖茶水。\n",
                      "b.txt": "司机之家暖人心\n\n本报讯 贾汪区总工会建成司机之家,24小时为货车司机免费提供热水和休息。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    first = answerer.ask("送外卖的冬天哪能喝口热茶 药店驿站")
    assert "药店" in first.text, first.text
    history = [{"role": "user", "content": "送外卖的冬天哪能喝口热茶 药店驿站"}, {"role": "assistant", "content": first.text}]
    ans = answerer.ask("那晚上呢 开到几点", history)
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text
    assert "药店" in ans.text and "24小时" not in ans.text, ans.text  # the nearest thing said of the stations asked about
    assert "24小时" in answerer.ask("贾汪司机之家晚上开到几点").text  # asked of that place itself, it answers


def test_an_asked_detail_is_not_taken_from_a_report_on_another_named_thing(index_of, hash_embedder):
    """金地瓜维权平台有没有客服电话 was answered with the 12351 hotline of another province's report: a
    phone number, price or time may come from another report only when it is about the same named
    thing (its context holds the question's quoted names and places)."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "义乌推进维权平台建设\n\n本报讯 义乌市总工会全力推进“金地瓜”维权服务平台建设,职工可在线反映维权问题。\n",
                      "b.txt": "维权服务平台上线\n\n本报讯 河西市总工会维权服务平台上线,职工可拨打客服电话12351反映问题。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("金地瓜维权平台有没有客服电话 号码多少")
    assert ans.refused and ans.support["why"] == "detail_missing" and "12351" not in ans.text.split("最接近")[-1], ans.text
    assert "12351" in answerer.ask("河西市维权平台客服电话号码多少").text  # the same report's number still answers


def test_a_detail_of_another_place_does_not_answer_for_the_place_asked(tiny_index, hash_embedder):
    """滨海骑手之家几点开门 was answered with 徐州贾汪's 24小时: the asked detail (a time, a phone number,
    a price …) must be about the place the question names."""
    from qa.answerability import AnswerabilityModel

    answerer = Answerer(tiny_index, hash_embedder, answerability=AnswerabilityModel.always())
    assert "24小时" in answerer.ask("青山县的货车司机之家几点开门").text
    ans = answerer.ask("河西市的货车司机之家几点开门")
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text


def test_a_detail_only_another_place_gives_does_not_answer_though_the_place_asked_is_cited(index_of, hash_embedder):
    """兴化那个晚上的培训班 … 在哪报名 was answered with a 兴化 sentence and 宝鸡's sign-up by WeChat: the
    sentence holding the asked detail must be about the place asked.  The refusal's nearest sentence
    says which place it is from when neither it nor the question does."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "兴化办起夜校\n\n本报讯 兴化市总工会举办“家课堂”七点半职工培训班,开设烘焙、短视频制作等课程。\n",
                      "b.txt": "公益课堂受欢迎\n\n本报讯 宝鸡市总工会公益培训班开课。\n\n在微信公众号开通线上报名小程序,职工在线报名。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("兴化的家课堂培训班在哪报名")
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text
    if "小程序" in ans.text:
        assert "最接近的内容（宝鸡市" in ans.text, ans.text
    assert not answerer.ask("宝鸡的公益培训班在哪报名").refused  # the place that gives it still answers
    # the evidence read from an answer citing both: 兴化's class, and 宝鸡's sign-up that holds the detail
    sid = {x.text: i for i, x in enumerate(index.sentences)}
    xinghua = next(i for t, i in sid.items() if "家课堂" in t)
    baoji = next(i for t, i in sid.items() if "小程序" in t)
    r = answerer.retriever.retrieve_many(["兴化的家课堂培训班在哪报名"], k=3)[0]
    q = answerer.analyse("兴化的家课堂培训班在哪报名")
    scored = answerer.chooser.scored(q, r.hits, r.query_vector)
    both = answerer.evidence.read(q, r.hits, r.top_dense, scored, [xinghua, baoji], r.query_vector)
    assert both.slot == "procedure" and not both.slot_found
    q = answerer.analyse("宝鸡的公益培训班在哪报名")
    assert answerer.evidence.read(q, r.hits, r.top_dense, scored, [baoji], r.query_vector).slot_found


def test_words_the_bulletins_never_use_weigh_by_their_everyday_rarity(answerer, tiny_index):
    """地方, 那个, 以后 say little about which sentence answers; 喂奶 or 环卫工 say much, though the
    bulletins use none of them (BM25 alone gives all four its largest idf)."""
    from qa.tokens import rarity

    assert rarity("地方") < rarity("失业") < rarity("喂奶") < rarity("找活") == 1.0
    w = answerer.vocabulary.idf(["地方", "那个", "喂奶", "环卫工", "工会"])
    assert w["地方"] < w["喂奶"] and w["那个"] < w["环卫工"]
    assert w["工会"] == tiny_index.idf(["工会"])["工会"]  # a bulletin word keeps its idf
    assert w["环卫工"] <= tiny_index.idf(["环卫工"])["环卫工"]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_k_passages_are_shown_and_the_first_holds_the_first_citation(tiny_index, hash_embedder, hash_answerability, k):
    """Sentences are chosen from more passages than are shown (``pool_size``); the one cited is shown first."""
    answerer = Answerer(tiny_index, hash_embedder, k=k, answerability=hash_answerability)
    assert answerer.pool_size(k) >= max(k, 2)
    for q in ("职工书屋有多少册书?", "焊工比武有几支队伍", "滨江追回了多少工资"):
        a = answerer.ask(q)
        assert len(a.passages) <= k and a.passages, q
        if a.citations:
            c, ch = a.citations[0], a.passages[0].chunk
            assert ch.source == c.source and ch.start <= c.start and c.end <= ch.end, q


@pytest.mark.parametrize("earlier, q, alone", [
    ("职工书屋几点开门", "劳模有钱拿吗", True),  # a worker on the page: refused as 没有找到开放时间 about the reading room
    ("劳模有钱拿吗", "社保断缴咋补", True),  # 社保: an abbreviation names a subject too
    ("职工书屋几点开门", "京东有工会吗", True),
    ("开大车的哪里能洗澡", "收费吗", False),  # a detail asked of the earlier subject
    ("开大车的哪里能洗澡", "要钱不", False),
    ("阜宁技能比赛拿了第一名 有啥好处", "县里多久比一回", False),  # 县里 points back at 阜宁
    ("司机之家有淋浴吗", "有名额吗", False),
    ("职工书屋几点开门", "货车司机之家有淋浴间吗", False),  # not short: condense leaves it alone anyway
    ("职工书屋藏书有多少册", "那喀什呢", False),  # points back: the earlier question asked of 喀什
])
def test_a_short_question_naming_a_new_subject_is_also_read_alone(earlier, q, alone):
    """Short questions are read as follow-ups (condense); one that names a subject of its own is also
    read alone (the answerer keeps that reading when the follow-up reading is refused or ignores it)."""
    from qa.conversation import new_subject

    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}]
    assert bool(new_subject(q, history)) is alone


@pytest.mark.parametrize("earlier, q, words", [
    ("跑外卖的冬天冻手 哪能歇歇", "劳模能去疗养不", ["劳模"]),  # the phone check: answered with the rest stops again
    ("县里工会主席多久述一次职", "哪有母婴室", ["母婴"]),  # (jieba cuts 母婴 + 室)
    ("中铁上海市政环保公司工会帮职工办了啥实事", "一共解决多少", []),  # jieba tags 一共 an abbreviation
    ("开大车的哪里能洗澡", "收费吗", []),
    ("江都劳模有啥待遇", "劳模有钱拿吗", []),  # 劳模 is the earlier subject
])
def test_new_subject_names_the_words_a_reading_alone_must_answer(earlier, q, words):
    """The answerer reads such a question alone too, and keeps that reading when the follow-up
    reading's answer comes from passages that never name these words while the reading alone does."""
    from qa.conversation import new_subject

    found = new_subject(q, [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}])
    assert [w for w in found if w in words] == words and (words or not found), found


def test_a_new_short_question_is_not_refused_about_the_earlier_subject(tiny_index, hash_embedder):
    from qa.answerability import AnswerabilityModel

    answerer = Answerer(tiny_index, hash_embedder, answerability=AnswerabilityModel.always())
    history = [{"role": "user", "content": "职工书屋几点开门"}, {"role": "assistant", "content": "抱歉，公报里没有找到开放时间。"}]
    ans = answerer.ask("焊工比武有奖吗", history)  # read as a follow-up it asks the reading room's hours
    assert ans.standalone_question == "焊工比武有奖吗" and "开放时间" not in ans.text, ans.text


@pytest.mark.parametrize("q", ["欠薪咋办", "欠薪怎么办", "欠薪咋整"])
def test_colloquial_question_words_are_not_content(q, words_only):
    """咋办 had weighed most in 欠薪咋办 and matched 问题 through a related word (热点问题研判)."""
    assert list(analyse(q, words_only).tokens) == ["欠薪"]


@pytest.mark.parametrize("q", ["困难职工帮扶这块各地是怎么干的", "困难职工咋建档"])
def test_a_bulletin_term_names_a_subject_however_jieba_tags_it(q):
    """困难职工 is tagged an idiom (l): a question naming it had been read as naming nothing and given the
    earlier subject (the page check: a case list on 困难职工帮扶 led by the 爱心驿站 asked about before)."""
    from qa.conversation import names_no_subject, with_subject

    history = [{"role": "user", "content": "送外卖的冬天有地方歇脚不"}, {"role": "assistant", "content": "…"}]
    assert not names_no_subject(q) and with_subject(q, history) is None


def test_a_short_question_naming_a_new_subject_lends_it_to_what_follows():
    """On the fresh clone's page: 工资被拖欠了找谁? → 职工书屋几点开门 (read alone) → 劳模有钱拿吗 took its subject
    from the wage question and was answered with the 义乌 wage case."""
    history = []
    for q in ("工资被拖欠了找谁?", "职工书屋几点开门"):
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": "…"}]
    out = condense("劳模有钱拿吗", history)
    assert "职工书屋" in out and "工资" not in out, out
    assert "工资" in condense("在哪", history[:2])  # a plain follow-up still takes the earlier subject


def test_an_example_case_comes_with_the_total_before_it(index_of, hash_embedder):
    """县某餐饮公司…3.6万元 is one case of what the sentence before it totals (补发…143万元): a worker asking
    whether the union gets holiday pay back is given both."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"w.txt": "\n\n东湖县总工会维权有力\n\n本刊讯 今年以来,东湖县总工会向企业发放监督提示函153份,"
                               "补发职工加班工资143万元。县某餐饮公司主动进行整改,共补发职工节假日加班费3.6万元。"
                               "职工们纷纷点赞。\n"})
    a = Answerer(index, hash_embedder, fusion="bm25", answerability=AnswerabilityModel.always())
    ans = a.ask("东湖县餐饮公司节假日加班费不给,工会能帮着讨吗")
    assert "3.6万元" in ans.text and "143万元" in ans.text
    assert ans.text.index("143万元") < ans.text.index("3.6万元")  # in reading order



@pytest.mark.parametrize("best, other, order", [
    ("权益有保障", "试点单位", ("权益有保障", "试点单位")),  # a runner-up from earlier joins: the best leads
    ("权益有保障", "诊疗", ("诊疗", "权益有保障")),  # the sentence just before: read in order
    ("试点单位", "权益有保障", ("试点单位", "权益有保障")),  # from later: reading order is the same
])
def test_an_answer_leads_with_its_best_sentence_when_another_joins_it(index_of, words_only, best, other, order):
    """A runner-up from earlier in the article (the lead naming the company) joins the sentence that holds
    the asked list: the answer starts with the list, so its [1] and the first passage shown are the ones
    that answer (中铁上海工程局…“六有六爱”工作包括哪些内容 led with the lead sentence)."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n东湖机械公司建设幸福企业\n\n本报讯 作为幸福企业试点单位,东湖机械公司工会着力为职工办实事。"
                               "当天,医生来到该公司为职工诊疗。"
                               "工会实施了以权益有保障、建家有条件、建功有平台为主要内容的“三有”工作。\n"})
    text = {w: next(s.text for s in index.sentences if w in s.text) for w in ("权益有保障", "试点单位", "诊疗")}
    sid = {w: next(i for i, s in enumerate(index.sentences) if s.text == text[w]) for w in text}
    q = analyse("东湖机械公司工会“三有”工作包括哪些内容", words_only)
    chosen = SentenceChooser(index).choose(q, [(1.0, sid[best], None), (0.99, sid[other], None)])
    assert [index.sentences[i].text for i in chosen] == [text[w] for w in order]


@pytest.mark.parametrize("follow_up, prev_joins", [
    ("晚上能睡觉不", False),  # the facilities sentence the last answer cited says nothing of sleeping
    ("有几家", True),  # it holds the count asked: said before, it still answers
])
def test_a_follow_up_is_not_given_the_sentence_just_said_as_its_lead_in(index_of, words_only, follow_up, prev_joins):
    """晚上能在那睡觉不 after 有没有地方洗个澡 repeated the facilities sentence of the answer it followed,
    joined as the sentence before (it names 司机之家, the subject the night room's sentence leaves out)."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n建好司机之家\n\n本报讯 区总工会建设司机之家5家,都配有淋浴间、洗衣机等设施。"
                               "还建设了夜宿休息室供晚上睡觉。\n"})
    sid = {w: next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("淋浴间", "夜宿")}
    earlier = f"{index.sentences[sid['淋浴间']].text}[1]"
    q = analyse(f"司机之家 {follow_up}", words_only)
    said = Said(said_spans(earlier), analyse(follow_up, words_only))
    best = sid["夜宿"]
    chooser = SentenceChooser(index)
    assert chooser.choose(q, [(1.0, best, None)]) == [sid["淋浴间"], best]  # without the conversation: it joins
    assert chooser.choose(q, [(1.0, best, None)], said) == ([sid["淋浴间"], best] if prev_joins else [best])


def test_a_second_clause_asking_another_detail_gets_a_sentence_giving_it(index_of, words_only):
    """宝鸡工人文化宫学跳舞要钱不 咋报名啊 was answered with the free courses only (a helper on the page): the
    second clause asks how to sign up, and the report's 开通线上报名小程序 sentence gives it — not its
    other 公众号 sentence, which says nothing of signing up."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n文化宫公益培训\n\n本报讯 文化宫开设舞蹈课,全部面向职工免费开放。文化宫新建了多功能教室。"
                               "依托微信公众号开展网络宣传。在微信公众号开通线上报名小程序。\n"})
    sid = {w: next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("舞蹈", "教室", "宣传", "小程序")}
    q = analyse("文化宫学跳舞要钱不 咋报名啊", words_only)
    assert (q.slot, q.also) == ("price", ("procedure",))
    scored = [(1.0, sid["舞蹈"], None), (0.9, sid["教室"], None), (0.8, sid["宣传"], None), (0.7, sid["小程序"], None)]
    chosen = SentenceChooser(index).choose(q, scored)
    assert sid["小程序"] in chosen and sid["宣传"] not in chosen and chosen[0] == sid["舞蹈"], chosen
    alone = analyse("文化宫学跳舞要钱不", words_only)  # one detail asked: nothing added for a clause not there
    assert alone.also == () and sid["小程序"] not in SentenceChooser(index).choose(alone, scored)


def test_the_sentence_before_the_best_keeps_reading_order(index_of, words_only):
    """The sentence before the best one, joined because it names the subject, is read first (the prev rule)."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n东湖县总工会维权有力\n\n本刊讯 今年以来,东湖县总工会补发职工加班工资143万元。"
                               "县某餐饮公司主动进行整改,共补发职工节假日加班费3.6万元。\n"})
    first, second = (next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("143万元", "3.6万元"))
    q = analyse("东湖县餐饮公司节假日加班费不给,工会能帮着讨吗", words_only)
    assert SentenceChooser(index).choose(q, [(1.0, second, None), (0.5, first, None)]) == [first, second]


def test_the_sentence_after_completes_a_best_one_that_only_names_the_subject(index_of, words_only):
    """巨港汽车零部件的，听说公会给我们免费体检？ was answered with 巨港…会员对工会…不满意 (the long company name
    outweighs 免费体检); the sentence after it, which gives the free check-ups, joins it."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n东湖县总工会维权有力\n\n本刊讯 今年以来,东湖县总工会开展会员评议。"
                               "东湖汽车零部件公司工会会员对工会维护职工健康权益不满意。"
                               "县总派员进行整改,免费为568名职工体检。\n"})
    named, checked = (next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("不满意", "568名"))
    q = analyse("东湖汽车零部件的，工会给我们免费体检吗", words_only)
    assert SentenceChooser(index).choose(q, [(1.0, named, None), (0.7, checked, None)]) == [named, checked]
    q = analyse("东湖汽车零部件公司工会会员满意吗", words_only)  # the best one holds it all: alone
    assert SentenceChooser(index).choose(q, [(1.0, named, None), (0.7, checked, None)]) == [named]


@pytest.mark.parametrize("figure_score, another_report, joins", [
    (0.95, False, True),  # close behind, same report: how many it helped joins
    (0.85, False, False),  # further behind than answer_figure_margin
    (0.95, True, False),  # another report's figure says nothing of this one
])
def test_an_answer_without_a_figure_adds_its_reports_figure(index_of, words_only, figure_score, another_report, joins):
    """家里困难 公司工会能给救济不 was answered with how the company helps (一人一档, 爱心基金) and not the
    sentence after the next, 先后有300名困难职工得到救助: a plain answer with no figure in digits adds the
    best sentence of its report that gives one, close enough behind (answer_figure_margin)."""
    from qa.sentences import W, SentenceChooser

    index = index_of({"w.txt": "\n\n东湖机械公司关爱职工\n\n本报讯 东湖机械公司建立困难职工档案,用好爱心基金帮扶困难职工。"
                               "公司还组织职工开展文体活动。近三年,先后有300名困难职工得到救助。\n\n"
                               "西山县总工会送温暖\n\n本刊讯 西山县总工会走访慰问困难职工120户。\n"})
    help_, other, figure = (next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("爱心基金", "文体", "300名"))
    if another_report:
        figure = next(i for i, s in enumerate(index.sentences) if "120户" in s.text)
    assert W["answer_figure_margin"] == pytest.approx(0.1)
    q = analyse("家里困难 东湖机械公司工会能给救济不", words_only)
    assert not q.asks_detail and not q.wants_cases
    chosen = SentenceChooser(index).choose(q, [(1.0, help_, None), (figure_score, figure, None), (0.5, other, None)])
    assert chosen == ([help_, figure] if joins else [help_])
    q = analyse("东湖机械公司救助了多少困难职工", words_only)  # a figure asked: the asked-detail rules answer it
    assert q.asks_detail


def test_an_asked_detail_comes_before_the_sentence_after(index_of, words_only):
    """几点开门？晚上能去吗 about the truck drivers' rest stops: the sentence holding 24小时 completes the answer,
    not the next sentence that only adds more of the question's words (which left the clock time out and refused)."""
    from qa.sentences import SentenceChooser

    index = index_of({"w.txt": "\n\n东湖司机之家\n\n本刊讯 东湖县总工会为货车司机建设司机之家。"
                               "司机之家晚上有淋浴间和休息室,司机能洗澡睡觉。"
                               "各司机之家提供24小时服务。\n"})
    named, rooms, hours = (next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("建设", "淋浴间", "24小时"))
    q = analyse("东湖货车司机之家几点开门？晚上能去洗澡睡觉吗", words_only)
    assert q.slot == "clock"
    assert SentenceChooser(index).choose(q, [(1.0, named, None), (0.6, rooms, None), (0.5, hours, None)]) == [named, hours]


def test_the_sentence_holding_the_asked_detail_leads_when_the_best_lacks_it(index_of, hash_embedder):
    """老板欠我3个月工资了 打啥电话 led with 义乌's 于当日发放了拖欠的工资 and gave the 12351 line second:
    when the best sentence lacks the asked detail and another report's sentence holds it, that one
    answers, so it is read (and cited) first."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "义乌维权\n\n本报讯 老板欠我3个月工资了,职工何某向工会求助,当日拿到了拖欠的工资。\n",
                      "b.txt": "热线上线\n\n本报讯 职工被老板拖欠3个月工资,可拨打热线电话12351求助。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("老板欠我3个月工资了 打啥电话")
    lead, _, rest = ans.text.partition("\n")
    assert lead == "电话：12351", ans.text  # the number first, as the worker asked (see the test below)
    assert not ans.refused and rest.startswith("职工被老板拖欠3个月工资,可拨打热线电话12351"), ans.text
    assert ans.citations[0].source.endswith("b.txt")


def test_a_name_that_page_layout_broke_across_paragraphs_is_not_missing(index_of, hash_embedder, hash_answerability):
    # 江苏苏盐 / 门机械公司: the bulletin has the name, split by a paragraph break; it was once reported
    # as a name "公报里没有提到"
    index = index_of({"a.txt": "集体协商见实效\n\n本报讯 滨海县总工会推进集体协商。江苏苏盐\n\n门机械公司开展4次集体协商,"
                               "一线职工人均增长工资达8%。\n"})
    assert "苏盐门机械" in index.corpus_text()
    ans = Answerer(index, hash_embedder, answerability=hash_answerability).ask("苏盐门机械公司工资涨了多少")
    assert "苏盐门" not in ans.support.get("missing", ())
    assert "没有提到" not in ans.text


class _CommonWords:
    """A vocabulary whose union words are in most passages (low idf), every other word rare."""

    COMMON = {"工会": 0.2, "职工": 0.6, "开展": 1.0, "活动": 1.3, "组织": 1.4}
    corpus_text = ""

    def words_of(self, text):
        from qa.tokens import tokenize

        return tokenize(text)

    def idf(self, tokens):
        return {t: self.COMMON.get(t, 3.0) for t in tokens}

    def related(self, tokens):
        return {}


@pytest.mark.parametrize("q, topic", [
    ("各地工会组织职工无偿献血的活动有哪些做法", "无偿献血"),
    ("工会和银行合作发普惠卡的做法", "银行合作发普惠卡"),
    ("球类比赛谁家办过", "球类比赛办过"),  # 谁家 is the request
    ("各地有哪些好做法", ""),  # nothing but the request
    ("工会能帮我讨薪吗", ""),  # no case list asked
])
def test_a_case_question_names_its_subject_without_the_request_or_the_union_frame(q, topic):
    assert analyse(q, _CommonWords()).topic == topic


def _with_case_veto(tiny_index, hash_embedder, hash_answerability, min_z):
    return Answerer(tiny_index, hash_embedder, answerability=dataclasses.replace(hash_answerability, case_topic_min_z=min_z))


def test_a_case_list_whose_subject_the_bulletins_lack_is_refused_with_the_nearest_report(tiny_index, hash_embedder,
                                                                                           hash_answerability):
    """无偿献血 is no subject of any report, though 各地工会组织职工…的做法 comes close to all of them: no list
    of unrelated reports, a refusal saying what is missing, citing the nearest sentence."""
    strict = _with_case_veto(tiny_index, hash_embedder, hash_answerability, 1e9)  # every subject below the bar
    ans = strict.ask("各地工会组织职工无偿献血的做法")
    assert ans.refused and ans.support["why"] == "topic_missing" and ans.support["z_topic"] is not None
    assert "做过这件事的地方或单位的报道" in ans.text and ans.citations
    assert verify_answer(ans, source_text) == []
    assert not strict.ask("各地有哪些好做法").support["why"] == "topic_missing"  # no subject: nothing to veto
    assert strict.ask("工会帮农民工讨回欠薪了吗").support["z_topic"] is None  # not a case question
    lenient = _with_case_veto(tiny_index, hash_embedder, hash_answerability, -1e9)
    assert lenient.ask("各地工会组织职工无偿献血的做法").support["why"] != "topic_missing"


def test_a_case_subject_whose_every_word_the_bulletins_use_is_not_vetoed(tiny_index, hash_embedder, hash_answerability):
    """货车司机 is reported in those words: a subject of words the bulletins use is no unreported
    activity, however little a word or two says to the model on its own (健康 of 企业工会做职工健康服务 案例)."""
    strict = _with_case_veto(tiny_index, hash_embedder, hash_answerability, 1e9)  # every subject below the bar
    ans = strict.ask("各地工会给货车司机配洗衣机、淋浴间的做法")
    assert ans.support["topic_heard"] and ans.support["why"] != "topic_missing"
    assert not strict.ask("各地工会组织职工无偿献血的做法").support["topic_heard"]  # 献血: no bulletin word


def test_a_case_list_whose_subject_nothing_in_the_bulletins_comes_near_is_refused_naming_it(tiny_index, hash_embedder,
                                                                                              hash_answerability):
    """献血 is a word the bulletins never use, with characters they never use, and none of their words
    comes near it: no list of unrelated reports but a refusal naming it, citing the nearest sentence.
    (The hash embedder puts no two different words near each other.)"""
    strict = Answerer(tiny_index, hash_embedder,
                      answerability=dataclasses.replace(hash_answerability, case_word_min_cosine=0.9))
    ans = strict.ask("各地工会组织职工献血的做法")
    assert ans.refused and ans.support["why"] == "subject_absent" and ans.support["absent"] == ["献血"]
    assert "没有提到“献血”" in ans.text and ans.citations and verify_answer(ans, source_text) == []
    assert strict.ask("各地工会帮农民工讨回欠薪的做法").support["why"] != "subject_absent"  # their words
    assert strict.ask("献血能请几天假").support["far"] == []  # not a case list: a worker's words are not judged
    off = Answerer(tiny_index, hash_embedder, answerability=hash_answerability)  # the veto unset: never
    assert off.ask("各地工会组织职工献血的做法").support["why"] != "subject_absent"


def test_the_subject_word_veto_reads_the_stored_evidence():
    from qa.answerability import AnswerabilityModel, Evidence

    ev = Evidence(5.0, 5.0, 3.0, 1.0, 1.0, 0.0, 1.0, "", False, (), 4.0, 0.0, (("尘肺病", 0.70), ("帮扶", 0.9)))
    model = AnswerabilityModel((0.0,), 10.0, 0.5, ("z_passage",), case_word_min_cosine=0.78)
    assert model.absent(ev) == ("尘肺病",) and model.veto(ev) == "subject_absent"
    assert Evidence.from_json(ev.to_json()) == ev  # what an answer's support carries reads back whole
    assert AnswerabilityModel.default().case_word_min_cosine is not None  # the stored point is read
    assert dataclasses.replace(model, case_word_min_cosine=None).veto(ev) == ""


def test_the_case_veto_point_is_a_low_quantile_of_the_answerable_case_subjects():
    from types import SimpleNamespace

    from qa.tuning import choose_case_topic

    def answer(z, **kw):
        return SimpleNamespace(support={"z_passage": 5.0, "z_sentence": 5.0, "hub": 3.0, "coverage": 1.0, "answer_coverage": 1.0,
                                        "gap": 0.0, "known": 1.0, "slot": "", "slot_found": False, "missing": [], "z_topic": z, **kw})

    good = [3.0, 4.0, 5.0, 6.0, 7.0]
    items = [SimpleNamespace(kind="staff") for _ in good] + [SimpleNamespace(kind="unanswerable")] * 2
    answers = [answer(z) for z in good] + [answer(0.5), answer(None)]
    t = choose_case_topic(items, answers, 0.02)
    assert 0.5 < t < 3.0  # below every answerable subject here, above the unanswerable one
    assert choose_case_topic(items[:5], answers[:5]) is None  # no unanswerable case question to set it by
    vetoed = [answer(z, missing=["喀什"]) for z in good]  # refused anyway: not what the point is read from
    assert choose_case_topic(items, vetoed + answers[5:]) is None


# 广西's 强基层 sentence, reworded so that only its first clause holds the question's words
_GUANGXI = "针对乡镇人手短缺的问题,自治区总决定用三年时间,给每个乡镇再配1名社会化工作者,计划增加927名,投入经费1.0587亿元,使全区社会化工作者保持在2600人左右。"


@pytest.mark.parametrize("q, figure_kept", [
    ("乡镇人手短缺，别的地方是怎么解决的", True),  # a case line keeps the case's figures
    ("乡镇人手短缺咋办", True),  # so does a case told to its end for a 咋办 question
    ("乡镇人手短缺的问题有多严重", False),  # otherwise the sentence is cut as before: around what matches
])
def test_a_case_line_keeps_the_figure_clause(tiny_index, words_only, q, figure_kept):
    from qa.citations import trim
    from qa.sentences import SentenceChooser

    question = analyse(q, words_only)
    assert (question.wants_cases or question.remedy) is figure_kept
    a, b = trim(_GUANGXI, SentenceChooser(tiny_index).clause_scorer(question), limit=60)
    assert _GUANGXI[a:b].startswith("针对乡镇人手短缺的问题")
    assert ("927名" in _GUANGXI[a:b]) is figure_kept


def test_a_count_the_answer_does_not_give_is_refused(index_of, hash_embedder):
    """小青矿职工书屋升级后藏书增加到多少册 was answered with the sentence saying only 同时增加藏书: a figure
    asked (多少册, 几个) must be in the answer; the same report's count answers its own question."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "小青矿书屋升级\n\n本报讯 小青煤矿将原有的图书室升级为职工书屋,同时增加藏书,以满足职工需求。\n",
                      "b.txt": "江都工匠辈出\n\n本报讯 全区涌现出扬州大工匠5人和龙川工匠275人。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("小青煤矿职工书屋藏书增加到多少册")
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text
    assert ans.text.startswith("抱歉，公报里没有找到具体数字"), ans.text  # says what is missing, not that nothing is there
    # 龙川 names a place elsewhere; here it is read in the very sentence that holds the count
    got = answerer.ask("龙川工匠现在有多少个")
    assert not got.refused and "275人" in got.text, got.text


def test_an_address_refusal_cites_where_the_place_was_built(index_of, hash_embedder):
    """具体在哪啊 我导航过去 after the drivers' home was refused as 没有找到具体地址 and cited its beds:
    no street address is printed, but the report says where the homes were built (港口, 物流园), which
    is what a driver can navigate to; the sub-heading asking where names no place."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "建好司机之家\n\n本报讯 在何处建设“司机之家”?区总工会在国道沿线建设“司机之家”。"
                               "夜宿休息室内床铺、空调一应俱全。区总工会与企业联建,建设了徐州云集港口、大吴物流园等集散地“司机之家”。"
                               "各“司机之家”配有淋浴间、洗衣机。\n",
                      "b.txt": "江都工匠辈出\n\n本报讯 全区涌现出扬州大工匠5人和龙川工匠275人。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("司机之家的夜宿休息室具体地址在哪")
    assert ans.refused and ans.support["why"] == "detail_missing", ans.text
    head, nearest = ans.text.splitlines()[:2]
    assert head == "抱歉，公报里没有找到具体地址。", ans.text
    assert "国道沿线" in nearest and "云集港口" in nearest and "床铺" not in nearest and "何处" not in nearest, ans.text
    assert verify_answer(ans, lambda source: index.texts[source]) == []


@pytest.mark.parametrize("text,held", [("建设了徐州云集港口、大吴物流园等集散地“司机之家”", True),
                                       ("在国道、省道线上建设货车“司机之家”", True),
                                       ("帮助建立工会户外劳动者服务站点", False),  # what was built, not where
                                       ("全力打造户外劳动者离不开的驿站品牌", False)])
def test_where_a_place_was_built_is_a_location(text, held):
    from qa.details import holds

    assert holds("location", text) is held


def test_an_answer_names_a_union_that_is_in_no_division(index_of, hash_embedder):
    """户外干活的 热了累了有地方歇脚吗 was answered with a rest stop's 空调、微波炉 and nothing saying whose:
    盐南高新区 (a development zone) is in no list of divisions, so its report had no place at all."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "盐南高新区总工会“幸福驿站”持续升级\n\n本刊讯 驿站持续配备空调、微波炉、饮水机、桌椅,"
                               "解决户外劳动者休息难问题。\n",
                      "b.txt": "江都工匠辈出\n\n本报讯 全区涌现出扬州大工匠5人和龙川工匠275人。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("户外干活的 驿站有空调微波炉吗")
    assert not ans.refused and ans.text.startswith("盐南高新区总工会：") and "微波炉" in ans.text, ans.text
    said = answerer.ask("盐南高新区的驿站有空调微波炉吗")  # named by the question: not said again
    assert not said.refused and not said.text.startswith("盐南高新区总工会："), said.text


@pytest.mark.parametrize("runner_up, joins", [("义乌", False), ("律师", True)])
def test_an_answer_giving_the_asked_number_is_not_taken_off_to_a_report_without_one(index_of, hash_embedder, words_only,
                                                                                     runner_up, joins):
    """被欠薪了打哪个电话 was answered with 12351 and then 义乌's case (于当日发放了拖欠的工资): a runner-up from
    another report that gives no number does not join; one from the same report still does."""
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": "安徽热线\n\n本报讯 被欠薪了打电话给12351。热线还有律师帮职工维权。\n",
                      "b.txt": "义乌讨薪\n\n本报讯 被欠薪了打电话给义乌工会,工会帮他讨薪。\n"})
    question = "被欠薪了打哪个电话"
    hits = {h.chunk.source.rsplit("/", 1)[-1]: h for h in Retriever(index, hash_embedder).search(question, k=2)}
    sid = {w: next(i for i, s in enumerate(index.sentences) if w in s.text) for w in ("12351", runner_up)}
    hit = {w: hits["a.txt" if w != "义乌" else "b.txt"] for w in sid}
    q = analyse(question, words_only)
    chosen = SentenceChooser(index).choose(q, [(1.0, sid["12351"], hit["12351"]), (0.99, sid[runner_up], hit[runner_up])])
    assert chosen == ([sid["12351"], sid[runner_up]] if joins else [sid["12351"]])


@pytest.mark.parametrize("question, lead", [
    ("被欠薪了打哪个电话", "电话：12351"),
    ("热线是干啥的", ""),  # no number asked: the answer opens with its sentence
])
def test_an_answer_to_a_phone_question_opens_with_the_number(index_of, hash_embedder, question, lead):
    """A helper on the page: 被欠薪了打哪个电话 was answered with the sentence on the hotline platform's launch,
    the number inside it; a worker on a phone wants the number first.  It is copied from the cited text."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "安徽热线\n\n本报讯 去年12月,省总工会整合各市“12351”热线,建立的维权服务平台正式上线运行,受理欠薪求助。\n"})
    ans = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always()).ask(question)
    first, _, rest = ans.text.partition("\n")
    assert not ans.refused and (first == lead if lead else "电话" not in first and "[1]" in first), ans.text
    if lead:
        assert lead.split("：")[1] in ans.citations[0].text and "[1]" in rest


def test_every_detail_slot_has_a_refusal_saying_what_is_missing():
    """A detail refusal names what the bulletins lack (没有找到具体数字 / 电话号码 …): a slot added to
    DETAIL_SLOTS without its wording in qa/data/refusal_details.json would fall back to 没有找到能回答…"""
    from qa.answerability import DETAIL_SLOTS
    from qa.wordlists import table

    assert DETAIL_SLOTS <= set(table("refusal_details")) - {"_source"}


@pytest.mark.parametrize("text,held", [("拨打12351热线反映问题", True), ("服务热线“12351”", True), ("电话0515-88888888", True),
                                       ("目前共有货运从业人员14600多人。", False), ("覆盖职工146000人", False),
                                       ("帮助追回欠薪21000元", False), ("派发工单280件", False)])
def test_a_count_of_five_digits_is_no_phone_number(text, held):
    """司机之家电话多少 was answered with 货运从业人员14600多人 (seen by a helper trying the page): five digits
    followed by a measure word count something; a phone number stands alone."""
    from qa.details import holds

    assert holds("phone", text) is held


@pytest.mark.parametrize("q, remedy", [
    ("辞职了不给工资咋办", True),
    ("老板欠工资咋整", True),
    ("厂里要裁人 不跟工会商量 怎么办", True),
    ("我们服装厂要改制裁人 工会都没问过 这种能拦吗", True),  # fresh20: whether it can be stopped, and how it was
    ("工资被拖欠了找谁", False),  # whom to turn to: a hotline or centre answers it (slot service)
    ("劳模待遇落实这块,各地都是怎么弄的", False),  # a case list: one line per article instead
    ("职工书屋几点开门", False),
])
def test_what_to_do_questions_are_read_as_asking_for_a_remedy(q, remedy, words_only):
    assert analyse(q, words_only).remedy is remedy


def test_restructuring_is_one_word_in_a_workers_question():
    """jieba cut 我们服装厂要改制裁人 into 改/制裁/人 (sanctions): 改制 is a bulletin term (qa/data/domain_words.txt)."""
    from qa.tokens import tokenize

    toks = tokenize("我们服装厂要改制裁人")
    assert "改制" in toks and "制裁" not in toks, toks


_CASE = ("义乌帮职工讨回工资\n\n本报讯 近日,义乌市总工会工作人员走访时发现,某装饰公司职工何某离职后,公司一直没有发放他的工资。"
         "工作人员立即为公司负责人讲解了有关法律规定。公司负责人于当日发放了拖欠何某的工资。 本报通讯员 沈岳 摄\n\n"
         "义乌市总工会还走访企业120余家,帮助企业完善劳动用工制度。\n")


def test_a_what_to_do_question_gets_the_case_told_to_its_end(index_of, hash_embedder):
    """辞职了不给工资咋办 had been answered with the problem alone (何某离职后…没有发放他的工资): the
    rest of the case's paragraph says what the union did and how it ended; the photo credit after
    it and the next paragraph (other work) are not part of it."""
    from qa.answerability import AnswerabilityModel
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": _CASE, "b.txt": "滨海县总工会关爱职工\n\n本报讯 县总工会建立户外劳动者服务站76个,稳定就业岗位6800余个。"
                                                 "企业设立478个“妈妈班”,解决女职工就业后顾之忧。\n"})
    sid = {s.text.strip(): i for i, s in enumerate(index.sentences)}
    problem = next(i for t, i in sid.items() if t.endswith("没有发放他的工资。"))
    chooser = SentenceChooser(index)
    before, after = chooser.paragraph_around(problem)
    assert [index.sentences[i].text.strip()[:6] for i in after] == ["工作人员立即", "公司负责人于"]
    assert chooser.paragraph_around(after[-1]) == ([problem, after[0]], [])  # the credit ends the paragraph
    assert chooser.case_told(after[-1]) == [after[0]]  # the case's end answers: what was done comes with it
    mothers = next(i for t, i in sid.items() if "妈妈班" in t)
    assert chooser.paragraph_around(mothers)[0] and chooser.case_told(mothers) == []  # a list of work, no case
    ans = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always()).ask("辞职了公司一直没有发放工资咋办")
    assert "没有发放他的工资" in ans.text and "当日发放了拖欠何某的工资" in ans.text, ans.text
    assert "沈岳" not in ans.text and "120余家" not in ans.text
    plain = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always()).ask("辞职了公司一直没有发放工资")
    assert "当日发放了" not in plain.text  # the same question, not asking what to do: the sentence alone


def test_a_new_question_is_not_answered_with_the_earlier_subject(answerer):
    """A helper trying the page: 公积金咋取出来 after 工资被拖欠了找谁? was answered with the wage case,
    where the same question on a new page was refused.  A subject the bulletins never name (公积金) is
    read alone, unless the earlier subject's answer holds the question's own words (洗衣服 → 洗衣机)."""
    wages = [{"role": "user", "content": "江宁区农民工被拖欠工资找谁"}, {"role": "assistant", "content": "…"}]
    ans = answerer.ask("公积金咋取出来", wages)
    assert ans.standalone_question == "公积金咋取出来" and ans.refused, ans.standalone_question
    trucks = [{"role": "user", "content": "青山县货车司机之家有什么设施"}, {"role": "assistant", "content": "…"}]
    wash = answerer.ask("能洗衣服不", trucks)  # names no subject: asked of the drivers' home, which has a washer
    assert "货车司机之家" in wash.standalone_question and not wash.refused and "洗衣机" in wash.text


def test_an_answer_from_reports_on_two_places_names_each_unnamed_one(index_of, hash_embedder):
    """那电话多少 after a wage question got 安徽's 12351 line beside 义乌's visits, with nothing saying
    whose line it is: each part is led by its report's place unless it or the question names it."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": "安徽省总工会开通职工热线\n\n本报讯 “12351”工会服务职工热线采用了数字化手段,7×24小时接听职工来电。\n",
                      "b.txt": "义乌市总工会走访企业\n\n本报讯 截至目前,义乌市总走访企业120余家,现场解决劳动纠纷3起。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    sid = {s.text.strip(): i for i, s in enumerate(index.sentences)}
    line = next(i for t, i in sid.items() if "12351" in t)
    visits = next(i for t, i in sid.items() if "120余家" in t)
    q = answerer.analyse("电话多少")
    parts, cits = answerer.replies.cite_all([line, visits], q, 70)
    led = answerer.replies.with_places(parts, cits, "电话多少")
    assert led[0].startswith("安徽省") and led[0].endswith(parts[0]) and led[1] == parts[1]  # 义乌 names itself
    assert answerer.replies.with_places(parts, cits, "安徽的电话多少") == parts  # the question names 安徽


def test_an_english_word_is_known_in_any_letter_case(index_of):
    """要下啥app after a question about 义乌's platform: the bulletins write APP."""
    from qa.vocabulary import Vocabulary

    vocab = Vocabulary(index_of({"a.txt": "义乌维权平台\n\n本报讯 该平台依托“浙里办”APP打造了职工服务端。\n"}))
    assert vocab.known("app") and vocab.known("APP") and not vocab.known("wechat")


def test_the_asked_detail_joins_when_the_sentence_before_joined_for_the_subject(index_of, hash_embedder, words_only):
    """晚上能去吗 after 司机之家在哪 was refused as 没有找到开放时间: the sentence before the best one joined it
    for the subject (the rest rooms), and the nearby 24小时 sentence of the same report was never looked for."""
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": "司机之家设施齐全\n\n本报讯 青山县建成货车司机之家,建设了临时休息室和夜宿休息室。"
                               "夜宿休息室内床铺、空调一应俱全。司机之家为货车司机全天24小时提供服务。\n"})
    sid = {s.text.strip(): i for i, s in enumerate(index.sentences)}
    rooms = next(i for t, i in sid.items() if t.startswith("本报讯"))
    beds, hours = rooms + 1, rooms + 2
    chooser = SentenceChooser(index)
    q = analyse("货车司机之家夜宿休息室晚上能去吗", words_only)
    assert q.slot == "clock" and chooser.same_report(beds, hours)
    hit = Retriever(index, hash_embedder, fusion="bm25").search(q.text, k=1)[0]
    chosen = chooser.choose(q, [(1.0, beds, hit), (0.9, rooms, hit), (0.2, hours, hit)])
    assert rooms in chosen and beds in chosen and hours in chosen, [index.sentences[i].text for i in chosen]


def test_a_question_the_bulletin_asks_holds_no_detail(index_of, words_only):
    """跑长途的 司机之家在哪 was answered with the sub-heading 在何处建设“司机之家”? as the sentence giving the
    place: it names a place to build and tells none."""
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": "青山县建设司机之家\n\n本报讯 青山县总工会建设货车司机之家。\n\n在何处建设“司机之家”?\n\n"
                               "县总工会在国道线上的服务区建设司机之家。\n"})
    sid = {s.text.strip(): i for i, s in enumerate(index.sentences)}
    heading = sid["在何处建设“司机之家”?"]
    place = next(i for t, i in sid.items() if t.startswith("县总工会在国道"))
    q = analyse("司机之家在哪", words_only)
    chooser = SentenceChooser(index)
    assert q.slot == "location" and q.details_held(index.sentences[heading].text)  # its words alone would do
    assert not chooser.holds_detail(q, heading) and chooser.holds_detail(q, place)


def test_a_report_on_a_city_says_nothing_of_another_city_in_its_province(index_of, hash_embedder):
    """杭州亚运会期间工会给一线职工搞了哪些慰问 was answered with 浙江义乌's report: its title names 浙江 only
    as 义乌's province, so 杭州 (in 浙江 too) is still missing from it; 义乌 and 浙江 themselves are not."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"y.txt": "浙江义乌市总工会走访慰问一线职工\n\n本报讯 近日,义乌市总工会走访慰问一线职工300余人,送去慰问品。\n"})
    answerer = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("杭州亚运会期间工会给一线职工搞了哪些慰问")
    assert ans.refused and ans.support["missing"] == ["杭州"], ans.text
    assert answerer.ask("义乌工会给一线职工搞了哪些慰问").support["missing"] == []
    assert answerer.ask("浙江工会给一线职工搞了哪些慰问").support["missing"] == []


def test_which_county_is_answered_by_the_county_the_report_is_about(index_of, hash_embedder):
    """哪个县在新能源产业开展劳动和技能竞赛: the sentence says 全县 (no county's name), its report is 阜宁县's,
    and the answer names it; 全县 alone names none."""
    from qa.answerability import AnswerabilityModel

    text = "\n\n阜宁县总工会劳动和技能竞赛向新发力\n\n本刊讯 围绕全县产业特点,在风电、光伏等新能源产业举办劳动和技能竞赛。\n"
    answerer = Answerer(index_of({"f.txt": text}), hash_embedder, answerability=AnswerabilityModel.always())
    ans = answerer.ask("哪个县在新能源产业开展劳动和技能竞赛")
    assert not ans.refused and "阜宁县" in ans.text and ans.support["slot_found"], ans.text
    untitled = text.replace("阜宁县总工会劳动和技能竞赛向新发力", "劳动和技能竞赛向新发力")
    other = Answerer(index_of({"g.txt": untitled}), hash_embedder, answerability=AnswerabilityModel.always())
    assert other.ask("哪个县在新能源产业开展劳动和技能竞赛").support["why"] == "detail_missing"


def test_which_county_is_held_by_every_sentence_of_a_report_on_a_county(index_of, words_only):
    """Every sentence of 阜宁县's report answers 哪个县, so the one on the new-energy contests (全县) is
    chosen for what it says, not passed over for one that happens to print the county's name."""
    from qa.sentences import SentenceChooser

    text = "\n\n阜宁县总工会劳动和技能竞赛向新发力\n\n本刊讯 围绕全县产业特点,在风电、光伏等新能源产业举办劳动和技能竞赛。\n"
    index = index_of({"f.txt": text})
    sid = next(i for i, s in enumerate(index.sentences) if "风电" in s.text)
    q = analyse("哪个县在新能源产业开展劳动和技能竞赛,具体哪些产业", words_only)
    assert q.asks_division
    assert SentenceChooser(index, places_of=lambda i: ("阜宁县",)).holds_detail(q, sid)
    assert not SentenceChooser(index, places_of=lambda i: ("盐城市",)).holds_detail(q, sid)
    assert not SentenceChooser(index).holds_detail(q, sid)
    assert q.slot_bonus(index.sentences[sid].text, ("阜宁县",)) > q.slot_bonus(index.sentences[sid].text)
    province = analyse("哪个省在新能源产业开展劳动和技能竞赛", words_only)  # the province around the county
    assert SentenceChooser(index, places_of=lambda i: ("江苏省", "阜宁县")).holds_detail(province, sid)


class _WordsIndex:
    """An index as ``Vocabulary`` reads it: its BM25 words and its text."""

    def __init__(self, text: str, words: list[str]):
        self._text = text
        self.bm25 = SimpleNamespace(vocab=set(words), doc_freq=lambda w: 1)

    def corpus_text(self) -> str:
        return self._text


_TYPO_BULLETIN = "工会督促补发加班工资,基本信息在线办理,把握机遇,潜能,实在,工作室,工会会员"


@pytest.mark.parametrize("q", [
    "老板说年终奖不发了,工会管不管",  # 不发 is not 补发: the guide's own example
    "公司把我辞退了 赔偿咋算",  # 把我 is not 把握
    "能借几本书",  # 几本 is not 基本
    "借的书能在县图书馆还吗",  # 在县 is 在 + 县, not 在线
    "钱能退给家里不",  # 钱能 is 钱 + 能, not 潜能
    "比赛是在哪儿比的",  # 是在 is not 实在
])
def test_words_of_grammar_are_never_typos(q):
    from qa.vocabulary import Vocabulary

    words = ["工会", "补发", "加班", "工资", "基本", "信息", "在线", "办理", "把握", "机遇", "潜能", "实在", "工作室", "会员"]
    vocabulary = Vocabulary(_WordsIndex(_TYPO_BULLETIN, words))
    assert vocabulary.repair(q) == q
    assert vocabulary.repair("公会帮忙讨工姿吗") == "工会帮忙讨工资吗"  # a typo is still one


@pytest.mark.parametrize("q, text, held", [
    ("有义诊不", "积极开展义务植树、帮扶救助、义诊等志愿服务活动200余场", 3.0),
    ("不挂号能看专家不", "让我们不用挂号复诊就能直接找专家看病。", 3.0),  # 不 and 能 are words of grammar
    ("专家有公寓住吗", "促进公司投入1000多万元建“专家公寓”,已有23名专家入住", 3.0),  # 住 inside 入住
    ("專家有公寓住嗎", "促进公司投入1000多万元建“专家公寓”,已有23名专家入住", 3.0),  # traditional characters
    ("工会有活动吗", "工会开展活动", 1.3),  # only words most passages share: the rarest weighs little
    ("加班费咋算", "共补发职工法定节假日加班费3.6万元。", 0.0),  # 算 (of the made-up 咋算) is not held
    ("工伤能私了吗", "应获得工伤待遇保险金10万元。", 0.0),  # nor 私 (of 能私)
    ("专家有公寓住吗", "已有23名专家入住", 0.0),  # nor 公寓
    ("吗", "工会开展活动", 0.0),  # no word at all
])
def test_a_sentence_holds_a_question_word_for_word(q, text, held):
    assert analyse(q, _CommonWords()).rarest_held(text) == held


@pytest.mark.parametrize("held, slot_found, why", [
    (3.0, False, ""),  # weak subject evidence, but the answer holds the question word for word
    (1.3, False, "weak_evidence"),  # word for word, but in words most passages share
    (0.0, False, "weak_evidence"),
    (3.0, None, "detail_missing"),  # a veto still refuses it
])
def test_an_answer_holding_the_question_word_for_word_needs_no_strong_subject_evidence(held, slot_found, why):
    from qa.answerability import AnswerabilityModel, Evidence

    model = AnswerabilityModel((1.0,), -10.0, 0.5, ("z_passage",), held_min_idf=1.5)
    ev = Evidence(1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, "price" if slot_found is None else "", False, held=held)
    decision = model.decide(ev)
    assert decision["why"] == why and decision["supported"] is (why == "") and decision["held"] == held
    assert Evidence.from_json(decision) == ev  # the evidence an answer carries reads back whole
    assert dataclasses.replace(model, held_min_idf=None).decide(ev)["why"] != ""  # off: the subject evidence decides



@pytest.mark.parametrize("slot, found, coverage, bias, why", [
    ("price", True, 0.55, -2.5, ""),  # 学烘焙要钱不: 免费 in the answer, most of its words there, p above the floor
    ("duration", True, 0.8, -2.5, ""),  # 提意见多久能有回复: 在48小时内闭环回复
    ("price", True, 0.3, -2.5, "weak_evidence"),  # the detail, but too little of the question
    ("price", True, 0.9, -5.0, "weak_evidence"),  # p below the floor (0.007)
    ("figure", True, 0.9, -2.5, "weak_evidence"),  # a bare figure: many unrelated sentences hold one
    ("price", False, 0.9, -2.5, "detail_missing"),  # no price: the veto refuses it
])
def test_an_answer_showing_the_asked_detail_needs_less_subject_evidence(slot, found, coverage, bias, why):
    from qa.answerability import AnswerabilityModel, Evidence

    model = AnswerabilityModel((0.0,), bias, 0.5, ("z_passage",), shown_min_p=0.05, shown_min_coverage=0.5,
                               shown_slots=frozenset({"price", "duration"}))
    ev = Evidence(1.0, 1.0, 0.0, coverage, coverage, 0.0, 1.0, slot, found)
    assert model.decide(ev)["why"] == why
    assert dataclasses.replace(model, shown_min_p=None).decide(ev)["why"] != ""  # off: refused as before
    assert AnswerabilityModel.default().shown_min_p is not None  # the stored model uses it

# -- who-is questions: a person the bulletins name is looked up, in a sentence or a byline
_NAMES = "对韩文豪等16名高技能人才实行年薪制。成立由文艺骨干于瑜领衔的职工文化工作室。农民工王兆地在下班途中发生交通事故。区总工会主席汤云庆出席。"


@pytest.mark.parametrize("q, who", [
    ("韩文豪是谁", "韩文豪"), ("那个于瑜是干啥的", "于瑜"), ("王兆地咋回事", "王兆地"), ("我想问汤云庆是谁", "汤云庆"),
    ("于瑜这个人到底是做什么的", "于瑜"),
    ("主席是谁", ""), ("工会是干啥的", ""), ("司机之家是干啥的", ""), ("李雷是谁", ""), ("汤云庆出席了啥", "")])
def test_a_who_is_question_names_a_person_the_bulletins_hold(q, who):
    from qa.names import who_asked

    assert who_asked(q, _NAMES) == who


@pytest.mark.parametrize("role, byline, signed", [
    ("副主席", "滨海县总工会副主席 万月", True), ("主席", "滨海县总工会副主席 万月", False),
    ("主席", "扬州市江都区总工会党组书记、主席 邱永泉", True), ("主席", "区总工会主席汤云庆出席启动仪式", False), ("", "万月", False)])
def test_a_byline_signs_as_the_role_printed_before_the_name(role, byline, signed):
    from qa.names import signs_as

    assert signs_as(role, byline) is signed


@pytest.mark.parametrize("text, introduced", [
    ("成立由文艺骨干于瑜领衔的职工文化工作室", True), ("党组书记、副主席于瑜介绍", True), ("对于瑜等16名高技能人才", False), ("于瑜说。", False)])
def test_a_role_before_the_name_introduces_the_person(text, introduced):
    from qa.names import introduces

    assert introduces("于瑜", text) is introduced


_WHO = {
    "e_culture.txt": "\n\n文化工作室丰富职工生活\n\n本刊讯 南湖区总工会针对职工文化生活单调的问题,成立由文艺骨干孙小红领衔的职工文化工作室,"
                     "创作职工身边的文艺作品20余件。\n\n工作室每周开放3次,职工可免费参加排练。\n",
}


@pytest.fixture
def who_answerer(index_of, hash_embedder, hash_answerability):
    from tests.conftest import TINY

    return Answerer(index_of({**TINY, **_WHO}), hash_embedder, answerability=hash_answerability)


def test_a_who_is_question_is_answered_by_the_sentence_naming_the_person(who_answerer):
    ans = who_answerer.ask("孙小红是干啥的")
    assert not ans.refused and "文艺骨干孙小红" in ans.text
    assert ans.support["slot"] == "identity" and ans.support["slot_found"]
    assert verify_answer(ans, source_text) == []


def test_the_passages_naming_a_person_lead_the_retrieval(who_answerer):
    r = who_answerer.retriever.retrieve_many(["孙小红是干啥的"], k=3)[0]
    held = who_answerer.retriever.holding(r, "孙小红", 2)
    assert "孙小红" in held.hits[0].chunk.text and [h.rank for h in held.hits] == list(range(1, len(held.hits) + 1))
    assert who_answerer.retriever.holding(r, "钱多多", 2) is r  # nobody holds the name: unchanged


@pytest.mark.parametrize("q, byline", [("张三是干啥的", "江宁区总工会副主席 张三"), ("江宁区总工会副主席是谁", "江宁区总工会副主席 张三")])
def test_a_person_only_a_byline_names_is_answered_by_the_byline(who_answerer, q, byline):
    ans = who_answerer.ask(q)
    assert not ans.refused and byline in ans.text and "一文署名" in ans.text
    assert [c.text for c in ans.citations] == [byline]
    assert verify_answer(ans, source_text) == []  # the byline is cited where the bulletin prints it


@pytest.mark.parametrize("q", ["江宁区总工会主席是谁", "青山县总工会副主席是谁"])
def test_a_role_no_byline_signs_is_still_refused(who_answerer, q):
    ans = who_answerer.ask(q)  # 江宁's byline is a 副主席's; no byline names 青山县's
    assert ans.refused and "张三" not in ans.text.split("公报里最接近的内容")[0]


def test_a_second_sentence_keeps_the_detail_another_clause_asks(index_of, hash_embedder):
    from qa.answerability import AnswerabilityModel

    line = {"f_hotline.txt": "\n\n东湖热线帮职工维权\n\n本刊讯 东湖市总工会开通“12351”职工服务热线,职工遇到欠薪可以拨打。"
                             "“12351”工会服务职工热线,采用了数字化、智能化手段,面向全市职工提供法律咨询、心理疏导、困难帮扶和"
                             "劳动争议调解等多项服务,提供“7×24小时”服务。\n"}
    ans = Answerer(index_of(line), hash_embedder, answerability=AnswerabilityModel.always()).ask("东湖被欠薪了打啥电话？半夜打有人接不")
    assert not ans.refused and "12351" in ans.text
    # the second sentence is cut around what the second clause asks, not around the number it repeats
    assert "7×24小时" in ans.text
    assert verify_answer(ans, source_text) == []


@pytest.mark.parametrize("q, slot", [("寶雞文化宮的課要錢不", "price"), ("司機之家幾點開門", "clock"), ("欠薪打啥電話", "phone")])
def test_a_question_in_traditional_characters_is_read_as_in_simplified(q, slot, words_only):
    assert analyse(q, words_only).slot == slot


def test_how_a_case_ended_is_told_to_its_end(index_of, hash_embedder):
    from qa.answerability import AnswerabilityModel

    case = {"g_case.txt": "\n\n宁安县总工会维权见实效\n\n本刊讯 宁安县总工会职工服务中心在走访时发现,该县某服装公司职工李某离职后,"
                          "公司一直没有发放他在岗时的工资。工作人员立即为公司负责人讲解了有关法律规定。"
                          "公司负责人听取了意见,于当日补发了拖欠李某的工资。\n\n小编说:维权要抓前端。\n"}
    ans = Answerer(index_of(case), hash_embedder, answerability=AnswerabilityModel.always()).ask(
        "宁安那个服装公司不给离职的人发工资,后来要回来没")
    assert "于当日补发" in ans.text  # how it ended, though no 最后/最终 says so
    assert verify_answer(ans, source_text) == []


def test_a_byline_printed_above_its_body_is_its_own_articles(index_of, hash_embedder, hash_answerability):
    """A column's byline stands after the article before it: its citation's source line names its own article."""
    doc = {"h_column.txt": "\n\n货车司机之家开门迎客\n\n本刊讯 日前,青山县总工会在国道旁建成货车司机之家,配有淋浴间和洗衣机。\n\n李四\n\n"
                           "【主席之声】\n\n发挥劳模示范作用\n\n东湖区总工会主席 孙大海\n\n劳动模范是工人阶级的优秀代表。东湖区有劳模120人,"
                           "每年组织劳模疗休养。\n"}
    answerer = Answerer(index_of(doc), hash_embedder, answerability=hash_answerability)
    ans = answerer.ask("孙大海是干啥的")
    assert [c.text for c in ans.citations] == ["东湖区总工会主席 孙大海"]
    c = ans.citations[0]
    assert answerer.case_finder.origin(c.source, c.start).title == "发挥劳模示范作用"  # the page's source line for [1]


@pytest.mark.parametrize("spoken, written", [
    ("骑手有地方歇不", "骑手有地方休息不"), ("开大货的哪能歇脚", "开大货的哪能歇脚"),  # 歇脚 is a word of its own
    ("亚健康咋管", "亚健康怎么管"), ("俺们厂有啥福利", "我们厂有什么福利"), ("娃没人看", "孩子没人看")])
def test_a_question_is_searched_in_written_words(spoken, written, tiny_index):
    from qa.vocabulary import Vocabulary

    assert Vocabulary(tiny_index).written(spoken) == written


def test_a_sentence_naming_its_subject_as_this_one_brings_the_sentence_naming_it(index_of, hash_embedder):
    """该平台依托“浙里办”APP… quoted alone tells a worker of "this platform" without its name: the sentence
    before, naming the platform (“金地瓜”), comes with it; 该市某装饰公司 refers to nothing before."""
    from qa.answerability import AnswerabilityModel
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": "义乌维权上云端\n\n本报讯 近日,义乌市总工会走访企业120余家。\n\n"
                               "义乌市总成立数字化改革突击队,全力推进“金地瓜”维权服务平台建设。"
                               "该平台依托“浙里办”APP打造了职工服务端,是一个专门为职工提供法律服务的平台。\n\n"
                               "该市某装饰公司职工何某离职后,公司一直没有发放他的工资。\n"})
    sid = {s.text.strip()[:4]: i for i, s in enumerate(index.sentences)}
    chooser = SentenceChooser(index)
    assert chooser.refers_back(sid["该平台依"])
    assert not chooser.refers_back(sid["该市某装"])  # a new paragraph: nothing before it to name
    assert not chooser.refers_back(sid["义乌市总"])
    ans = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always()).ask("有没有维权的app能在手机上用 浙里办")
    assert "浙里办" in ans.text and "金地瓜" in ans.text, ans.text


def test_a_sentence_saying_only_who_spoke_brings_the_quote_before_it(index_of, hash_embedder):
    """…一名职工说。 quoted alone tells a worker who spoke, not what was said (老腰疼想找个好医生看看 got
    12月12日,…一名职工说。[1]): the quote before it comes with it, first; a speaker after no quote brings nothing."""
    from qa.answerability import AnswerabilityModel
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": "中铁市政环保公司请专家进企业\n\n"
                               "本报讯 “公司举办健康医疗问诊活动,让我们不用挂号复诊就能直接找专家看病。”"
                               "12月12日,中铁市政环保公司一名职工说。当天,两位医生为30余名职工提供健康咨询诊疗服务。\n\n"
                               "公司工会负责人介绍。职工篮球赛也已举办三届。\n"})
    sid = {s.text.strip()[:4]: i for i, s in enumerate(index.sentences)}
    chooser = SentenceChooser(index)
    assert chooser.names_the_speaker(sid["12月1"])
    assert not chooser.names_the_speaker(sid["公司工会"])  # nothing quoted before it
    assert not chooser.names_the_speaker(sid["当天,两"])
    ans = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always()).ask("中铁市政环保公司一名职工说什么")
    assert "一名职工说" in ans.text and "不用挂号" in ans.text, ans.text
    assert ans.text.index("不用挂号") < ans.text.index("一名职工说"), ans.text


def test_a_case_told_in_one_paragraph_is_read_in_order(index_of, words_only):
    """老板拖了两个月工资没发 公会能管不 was answered with 义乌's outcome (于当日发放了拖欠…的工资) before the problem
    it ends (a helper on the page): sentences of one paragraph telling a case about someone unnamed (某) are
    read in order; elsewhere the best sentence still leads."""
    from qa.sentences import SentenceChooser

    index = index_of({"a.txt": _CASE})
    sid = {s.text.strip()[:6]: i for i, s in enumerate(index.sentences)}
    problem, outcome = next(i for t, i in sid.items() if "近日" in t), sid["公司负责人于"]
    chooser = SentenceChooser(index)
    q = analyse("公司不发工资 工会能管不", words_only)
    chosen = chooser.choose(q, [(1.0, outcome, None), (0.99, problem, None)])
    assert chosen[0] == problem and outcome in chosen, [index.sentences[i].text for i in chosen]


def test_an_answer_telling_one_case_says_it_is_one(index_of, hash_embedder):
    """被裁了能赔多少 → 最终仅裁员11人,给予人均1.8万元经济补偿 read to a helper as what every laid-off worker gets:
    an answer whose lead tells one company's or person's case (某装饰公司, 何某, 促进该公司…) says it is a case;
    a report's own figures (北岸区…26支队伍) do not."""
    from qa.answerability import AnswerabilityModel

    index = index_of({"a.txt": _CASE, "b.txt": "北岸区焊工比武\n\n本刊讯 北岸区总工会举办焊工技能比武,共有26支队伍参赛,最终评出技术能手10名。\n"})
    a = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    case = a.ask("公司一直没有发放他的工资 工会能管不")
    assert "的一个案例：" in case.text and "某" in case.text, case.text
    plain = a.ask("北岸区焊工比武有多少支队伍参赛")
    assert "26支" in plain.text and "案例" not in plain.text, plain.text
