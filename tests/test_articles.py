"""Article splitting and paragraph repair, on snippets of the real seed bulletins."""

import re

import pytest

from qa.articles import classify, split_articles
from qa.sources import read_text

from .conftest import SEEDS


def seed(name_prefix):
    (path,) = SEEDS.glob(f"{name_prefix}_*.txt")
    return str(path), read_text(path)


@pytest.fixture(scope="module")
def all_articles():
    out = {}
    for p in sorted(SEEDS.glob("*.txt")):
        out[p.name] = (read_text(p), split_articles(read_text(p), p.name))
    return out


def test_paragraph_cut_by_layout_is_joined():
    src, text = seed("000")
    arts = split_articles(text, src)
    joined = [p for a in arts for p in a.paragraphs if "县人民医院签订合作协议" in p.text]
    assert joined, "the sentence cut after 县人民 should be whole again"
    p = joined[0]
    assert len(p.spans) == 2 and "".join(text[s:e] for s, e in p.spans) == p.text
    assert any("江苏苏盐门机械公司坚持集体协商制度化" in p.text for a in arts for p in a.paragraphs)


def test_caption_after_page_break_is_not_glued_to_previous_article():
    src, text = seed("003")
    arts = split_articles(text, src)
    for a in arts:
        for p in a.paragraphs:
            assert "大力宣传3月20日" not in p.text
    captions = [a for a in arts if a.paragraphs and a.paragraphs[0].text.startswith("3月20日至21日")]
    assert captions and captions[0].byline.endswith("摄")


def test_columns_titles_bylines_leads():
    _, text = seed("000")
    arts = split_articles(text)
    first = arts[0]
    assert first.column == "【主席之声】"
    assert first.title == "塑造“工”字品牌为服务职工赋能"
    assert first.byline == "滨海县总工会副主席 万月"
    assert first.paragraphs[-1].role == "editor"  # 小编说 closes the column
    assert any(a.title.startswith("天津深入推进") and a.column == "" for a in arts)
    _, text3 = seed("003")
    briefs = split_articles(text3)
    assert briefs[0].column == "新闻速递" and briefs[0].lead == "本刊讯"
    _, text2 = seed("002")
    leads = [a for a in split_articles(text2) if a.lead == "本报讯"]
    assert any(a.title == "广西工会计划3年投入逾2亿元“强基层”" for a in leads)


def test_every_paragraph_maps_back_to_the_source(all_articles):
    for name, (text, arts) in all_articles.items():
        seen = 0
        for a in arts:
            for p in a.paragraphs:
                assert "".join(text[s:e] for s, e in p.spans) == p.text, (name, p.text[:20])
                seen += len(re.sub(r"\s", "", p.text))
            if not any(p.role == "heading" and p.start in {s for s, _ in a.title_spans} for p in a.paragraphs):
                seen += sum(len(re.sub(r"\s", "", text[s:e])) for s, e in a.title_spans)
        # nothing readable is dropped except column markers, labels and bylines
        assert seen >= 0.95 * len(re.sub(r"\s", "", text)), name


@pytest.mark.parametrize("line,kind", [
    ("【履职手记】", "column"),
    ("新闻速递", "section"),
    ("本刊讯 日前,阜宁县总工会印发意见。", "lead"),
    ("小编说:劳模精神始终是一面旗帜。", "editor"),
    ("扬州市江都区总工会党组书记、主席 邱永泉", "credit"),
    ("姜卫明 徐嘉薇 摄", "credit"),
    ("本报记者 王鑫 方大丰 本报通讯员 钟晓敏", "credit"),
    ("本报通讯员 沈岳 摄", "credit"),  # a reporter's photo credit
    ("劳模住进廉租房", "title"),
    ("开展阅读活动 打造书香工会", "title"),
    ("今年以来,县总向企业发放《监督提示函》153份。", "body"),
])
def test_classify(line, kind):
    assert classify(line) == kind


def test_traditional_and_empty_inputs_do_not_crash():
    assert split_articles("") == []
    arts = split_articles("\n\n貨車司機之家\n\n本刊訊 日前,青山縣總工會建成貨車司機之家。\n")
    assert arts and arts[0].paragraphs


def test_report_continued_after_other_items_is_reattached(all_articles):
    text, arts = all_articles[next(n for n in all_articles if n.startswith("003"))]
    (binhai,) = [a for a in arts if a.title.startswith("滨海县总工会深化产改")]
    body = binhai.body
    assert "一肩挑" in body and "1+N”职工健康服务体系" in body and "线上培训17000余人次" in body
    assert binhai.byline == "李红旗"
    assert not any(not a.title and "1+N”职工健康" in a.body for a in arts)
    for p in binhai.paragraphs:  # every paragraph still maps to its own place in the file
        assert "".join(text[s:e] for s, e in p.spans) == p.text


SYNTHETIC = """
甲县总工会开展送温暖活动

本刊讯 近日,甲县总工会走访慰问困难职工120户。

乙区职工书屋开放

本刊讯 乙区职工书屋正式开放,藏书5000册。

张三 李四

《帮扶办法》,为困难职工建立档案。

王五
"""


@pytest.mark.parametrize("fragment,joins", [
    ("《帮扶办法》,为困难职工建立档案。", False),  # balanced: could open a report
    ("帮扶办法》,为困难职工建立档案。", True),  # closes a title it never opened
    ("，并为困难职工建立档案。", True),
    ("”活动,为困难职工建立档案。", True),
    ("近日,丙镇工会为困难职工建立档案。", False),
])
def test_mid_sentence_fragment_joins_the_open_report(fragment, joins):
    arts = split_articles(SYNTHETIC.replace("《帮扶办法》,为困难职工建立档案。", fragment), "x.txt")
    first = arts[0]
    assert first.title == "甲县总工会开展送温暖活动"
    assert (fragment in first.body) is joins
    assert arts[1].title == "乙区职工书屋开放" and fragment not in arts[1].body  # closed by its byline
    assert len(arts) == (2 if joins else 3)


# the rest of a report printed on an earlier page: 兴化's "…加强与兴化" goes on in a block before it
EARLIER_REST = """
甲县总工会开展送温暖活动

本刊讯 近日,甲县总工会走访慰问困难职工120户。

小编说:送温暖要送到心坎上。

{rest}

以深化产改促进发展

乙市总工会办公室 张三

乙市总工会打好深化产改“组合拳”,推动全市产业工人素质全面提升。

下一步,乙市总将紧盯市场需求,拓宽人才供给“蓄水池”,聚焦培育新质生产力的前景产业,加强与乙市
"""


@pytest.mark.parametrize("rest, joins", [
    ("职业中专的沟通协作,提供免费就业岗位信息,促进职工平稳就业。", True),
    ("后,工作组主动与交通运输、公安等职能部门沟通解决。", True),
    ("近日,丙镇工会为困难职工建立档案。", False),  # opens a report of its own
    ("20余名网约车驾驶员比理论、比技术……日前,丙镇工会开展比赛。", False),  # a feature's opening
    ("“我们立足本地优势企业发展。”张三说。", False),
])
def test_rest_printed_before_its_report_joins_the_report_it_ends(rest, joins):
    from qa.chunks import chunk_article, make_splitter

    text = EARLIER_REST.format(rest=rest)
    arts = split_articles(text, "x.txt")
    (report,) = [a for a in arts if a.title == "以深化产改促进发展"]
    assert (rest in report.body) is joins
    assert arts[0].title == "甲县总工会开展送温暖活动" and rest not in arts[0].body  # ended by 小编说
    if joins:
        assert report.body.endswith(rest) and report.paragraphs[-1].start < report.paragraphs[0].start
        for c in chunk_article(report, make_splitter(60, 10)):  # each passage runs forward in the file
            assert c.start <= c.end and all(a[1] <= b[0] for a, b in zip(c.spans, c.spans[1:]))
            assert "".join(text[s:e] for s, e in c.spans) == c.text
    else:
        assert any(a.title == "" and rest in a.body for a in arts)


# a column's rest printed on a later page under its subheadings, after another report (徐州贾汪's
# 货车司机之家 column in the fourth seed bulletin: 暖心开展高品质服务 / 区总工会为了能让更多的司机…)
CONTINUED = """
【主席之声】

建好货车司机之家

甲市乙区总工会副主席 张三

区总工会在国道旁建成司机之家,配有淋浴间和休息室。

丙省:职工热线

已帮职工追回欠薪2100余万元

日前,丙省总工会热线帮助职工追回欠薪2100余万元。

【履职手记】

日前,一个题为“劳模邀你阅见美好”的小视频走红网络,几位劳模分享了自己的读书体会。一场超大规模的职工诗文朗诵会隆重举办,来自全区各镇工会、各系统工会以及直属基层工会近60个代表

暖心开展高品质服务

{opening}为了能让更多的司机来到司机之家,吸纳新会员862人。
"""


@pytest.mark.parametrize("opening, joins", [
    ("区总工会", True),  # names its union by level only: the 乙区总工会 of the column before
    ("区总", True),
    ("丁市戊区总工会", False),  # says whose union it is: a report of its own
    ("市总工会", False),  # no report before it names a 市总工会
])
def test_a_subheaded_rest_joins_the_report_that_named_its_union(opening, joins):
    text = CONTINUED.replace("{opening}", opening)
    arts = split_articles(text, "x.txt")
    column = arts[0]
    assert column.title == "建好货车司机之家"
    assert ("862人" in column.body) is joins
    assert len(arts) == (3 if joins else 4)
    if joins:
        heading = next(p for p in column.paragraphs if p.text == "暖心开展高品质服务")
        assert heading.role == "heading"
        for p in column.paragraphs:  # every paragraph still maps to its own place in the file
            assert "".join(text[s:e] for s, e in p.spans) == p.text


def test_passages_carry_their_section_subheading():
    from qa.chunks import chunk_document, make_splitter
    from qa.sources import Document

    text = CONTINUED.replace("{opening}", "区总工会")
    chunks = chunk_document(Document("x.txt", "", text, "bulletin"), make_splitter(200, 40))
    by_text = {c.text[:6]: c for c in chunks}
    rest = next(c for c in chunks if "862人" in c.text)
    assert rest.heading == "暖心开展高品质服务" and "暖心开展高品质服务" in rest.context
    assert rest.start >= text.index("暖心开展高品质服务")  # not glued to the end of the column's first page
    first = next(c for c in chunks if "淋浴间" in c.text)
    assert first.heading == "" and first.context == "建好货车司机之家 甲市乙区总工会副主席 张三"
    assert len(by_text) == len(chunks)


# a feature whose title (and 阅读提示 summary) is printed on one page and its body, under a byline
# printed above it, on another (the seed's 益阳 and 铁岭 features): the body is the title's report
FEATURE_APART = """
甲市总深化职工书屋建设——

职工身边有了精神家园

阅读提示

甲市总工会创新职工书屋管理模式,成为提升职工素质的重要平台。

市总打造的流动书屋,送电子书进企业、入工地,10余万名职工从中受益。

{between}

乙县总工会表彰先进

本报讯 近日,乙县总工会表彰先进集体10个。

本报记者 王五 本报通讯员 赵六

日前,丙煤矿高级技师李四走出职工书屋,这已成为他的习惯。

2018年以来,甲市总工会大力推进职工书屋建设。这些电子阅读器来自甲
"""


@pytest.mark.parametrize("between", ["", "丁县总工会召开全会\n\n本报讯 近日,丁县总工会召开全会。"])
def test_feature_body_printed_apart_joins_its_title_after_the_summary(between):
    text = FEATURE_APART.format(between=between)
    arts = split_articles(text, "x.txt")
    (feature,) = [a for a in arts if a.title.startswith("甲市总深化职工书屋建设")]
    texts = [p.text for p in feature.paragraphs]
    assert texts[0].startswith("甲市总工会创新职工书屋管理模式")  # the summary first
    assert texts[1].startswith("日前,丙煤矿高级技师李四") and texts[2].startswith("2018年以来")  # then the body
    assert texts[3].startswith("市总打造的流动书屋")  # the rest of its cut last sentence after it
    assert feature.byline == "本报记者 王五 本报通讯员 赵六"  # the body's byline, printed above it
    (other,) = [a for a in arts if a.title == "乙县总工会表彰先进"]
    assert other.byline == "" and "李四" not in other.body  # the byline does not close the report before it
    assert not any(not a.title for a in arts)
    for p in feature.paragraphs:
        assert "".join(text[s:e] for s, e in p.spans) == p.text


def test_title_printed_alone_adopts_its_feature_body_and_byline():
    text = ("丙市工会探索先服务后入会模式——\n\n持续为基层工会注入活力\n\n"
            "乙县总工会表彰先进\n\n本报讯 近日,乙县总工会表彰先进集体10个。\n\n"
            "本报记者 王五 本报通讯员 赵六\n\n"
            "20余名网约车驾驶员比理论、比技术……日前,丙市网约车公司工会组织了一次技能比赛。\n\n"
            "由点到面促破局\n\n建立丙市网约车行业工会的探索,让丙市总摸到了组建行业工会的路径。\n\n"
            "丁县总工会召开全会\n\n本报讯 近日,丁县总工会召开全会。\n")
    arts = split_articles(text, "x.txt")
    (head,) = [a for a in arts if a.title.startswith("丙市工会探索")]
    assert [p.role for p in head.paragraphs] == ["body", "heading", "body"] and "技能比赛" in head.body
    assert head.paragraphs[1].text == "由点到面促破局" and "组建行业工会的路径" in head.body  # its section
    assert head.byline == "本报记者 王五 本报通讯员 赵六"
    assert [a.title for a in arts if not a.title.startswith("丙市")] == ["乙县总工会表彰先进", "丁县总工会召开全会"]


def test_a_byline_above_an_unrelated_body_does_not_join_a_title():
    """The body joins only a title whose place it names: here the title names 戊市, the body 丙市."""
    text = ("戊市工会探索先服务后入会模式——\n\n持续为基层工会注入活力\n\n"
            "乙县总工会表彰先进\n\n本报讯 近日,乙县总工会表彰先进集体10个。\n\n"
            "本报记者 王五 本报通讯员 赵六\n\n"
            "日前,丙市网约车公司工会组织了一次技能比赛。\n")
    arts = split_articles(text, "x.txt")
    assert [a.title for a in arts][0].startswith("戊市") and "技能比赛" not in arts[0].body
    assert any(not a.title and "技能比赛" in a.body and a.byline.startswith("本报记者") for a in arts)
