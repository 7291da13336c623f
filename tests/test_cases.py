"""Places for the case filters and the chat's source lines: only real administrative divisions, one
name per division (江都 and 扬州市江都区总工会 are both 江都区), and where a passage is from."""

import pytest

from qa.answer import Answerer
from qa.answerability import AnswerabilityModel
from qa.cases import CaseFinder, Origin, article_place, divisions_in, place_label, place_names

# the phone user-test's bulletins in small: a title naming 江都 above a byline naming 扬州市江都区总工会,
# a title whose 服务港湾 jieba reads as a place, a farm (琼港) that is no division
BULLETINS = {
    "j1.txt": "\n\n【主席之声】\n\n发挥劳模示范引领作用 助推江都高质量发展\n\n扬州市江都区总工会党组书记、主席 邱永泉\n\n"
              "今年以来,区总工会组织劳模工匠走进企业,帮助企业解决技术难题30多个。\n",
    "j2.txt": "\n\n【主席之声】\n\n建好“货车司机之家” 打造暖“新”服务港湾\n\n徐州市贾汪区总工会副主席 孙德振\n\n"
              "区总工会在物流园建成货车司机之家,配有淋浴间和休息室。\n",
    "j3.txt": "\n\n图说新闻\n\n琼港农场工会发挥组织优势凝聚职工力量\n\n本刊讯 农场工会组织职工开展技能比武,共有80名职工参加。\n",
    "j4.txt": "\n\n让全民阅读成为社会的主流风气\n\n扬州市江都区总工会 莫群\n\n区总工会开展职工读书活动,全年借出图书5000册。\n",
}


@pytest.fixture
def places_index(index_of):
    return index_of(BULLETINS)


def test_divisions_are_read_longest_first_in_full():
    assert divisions_in("扬州市江都区总工会") == [(0, 3, "扬州市"), (3, 6, "江都区")]
    assert divisions_in("江苏省连云港市连云区") == [(0, 3, "江苏省"), (3, 7, "连云港市"), (7, 10, "连云区")]


@pytest.mark.parametrize("raw, names", [
    ("江都", ("江都区",)), ("扬州市江都区总工会", ("扬州市", "江都区")), ("益阳", ("益阳市",)), ("益阳市", ("益阳市",)),
    ("广西", ("广西壮族自治区",)), ("由阜宁县总工会", ("阜宁县",)),
    ("港湾", ()), ("琼港", ()), ("盐南高新区总工会", ()), ("城区", ()), ("", ()),  # no division
])
def test_a_place_names_divisions_only(raw, names):
    assert place_names(raw) == names


@pytest.mark.parametrize("raw, label", [
    ("江都", "江都区"), ("盐城", "盐城市"), ("滨海县总工会", "滨海县总工会"), ("由阜宁县总工会", "阜宁县总工会"),
    ("江苏省连云港市连云区", "江苏省连云港市连云区"), ("港湾", ""), ("琼港", ""), ("", ""),
])
def test_a_place_is_labelled_from_its_first_division(raw, label):
    assert place_label(raw) == label


def test_a_title_word_that_is_no_division_gives_way_to_the_byline():
    info = {"title": "建好“货车司机之家” 打造暖“新”服务港湾", "byline": "徐州市贾汪区总工会副主席 孙德振", "text": ""}
    assert article_place(info) == "徐州市贾汪区总工会"


@pytest.mark.parametrize("info, place", [
    # a union in no division is still whose report it is: a development zone's, a farm's
    ({"title": "盐南高新区总工会“幸福驿站”持续升级", "byline": "郭敏", "text": "本刊讯 为将关爱服务户外劳动者工作落在实处"}, "盐南高新区总工会"),
    ({"title": "琼港农场工会发挥组织优势", "byline": "", "text": "农场工会组织职工。"}, "琼港农场工会"),
    ({"title": "发挥组织优势", "byline": "琼港农场工会 张三", "text": ""}, "琼港农场工会"),
    # a division inside a company's name: the company's report, not the city's
    ({"title": "产改赋能,让产业工人成才成匠", "byline": "",
      "text": "无锡华光环保能源集团股份有限公司装备事业部(以下简称“华光装备”),坚持党建引领"}, "无锡华光环保能源集团"),
    ({"title": "中铁上海工程局集团市政环保公司建设幸福企业", "byline": "", "text": ""}, "中铁上海工程局集团"),
    ({"title": "徐州举办公路施工养护职业技能竞赛", "byline": "", "text": "参赛的有徐州市12家公司"}, "徐州市"),
    ({"title": "劳模助企", "byline": "", "text": "亭湖区总工会组织劳模走进江苏圣泰阀门有限公司"}, "亭湖区总工会"),
    # a union named only inside the first passage, or a title that names none, gives no place
    ({"title": "幸福驿站持续升级", "byline": "", "text": "要求各级工会做好服务"}, ""),
    ({"title": "建好服务港湾", "byline": "", "text": ""}, ""),
])
def test_a_union_in_no_division_or_a_company_labels_its_report(info, place):
    assert place_label(article_place(info)) == place
    assert place_names(article_place(info)) == tuple(n for _, _, n in divisions_in(place))  # the filter lists divisions only


def test_the_place_filter_lists_each_division_once_and_no_junk(places_index):
    facets = CaseFinder(places_index, None, None, None).facets()
    assert facets["places"] == ["徐州市", "扬州市", "江都区", "贾汪区"]  # not 江都 beside 江都区; no 港湾, 琼港
    assert facets["sources"] == sorted(facets["sources"]) and len(facets["sources"]) == 4


def test_a_place_filter_matches_every_way_an_article_names_it(places_index, hash_embedder):
    a = Answerer(places_index, hash_embedder, answerability=AnswerabilityModel.always())
    everything = {c.source for c in a.find_cases("总工会 职工", k=10, margin=10)}
    assert len(everything) >= 3
    for wanted in (["江都区"], ["江都"], ["扬州市江都区总工会"]):  # the listed name, and the names as found
        found = {c.source.rsplit("/", 1)[-1] for c in a.find_cases("总工会 职工", k=10, margin=10, places=wanted)}
        assert found and found <= {"j1.txt", "j4.txt"}, wanted
    found = {c.source.rsplit("/", 1)[-1] for c in a.find_cases("总工会 职工", k=10, margin=10, places=["扬州市"])}
    assert found <= {"j4.txt"}  # j1 names only 江都 (its title wins over its byline)
    assert a.find_cases("总工会 职工", k=10, margin=10, places=["西宁市"]) == []  # a place no article names
    # a place as it was listed before the list was cleaned still finds its article (API callers)
    assert [c.title for c in a.find_cases("总工会 职工", k=10, margin=10, places=["港湾"])] == [
        "建好“货车司机之家” 打造暖“新”服务港湾"]


@pytest.mark.parametrize("question, left_out", [
    ("除了江都，还有哪些地方的总工会组织职工", {"j1.txt", "j4.txt"}),  # j4 is 江都's too (its byline)
    ("除了贾汪区以外，总工会 职工的做法有哪些", {"j2.txt"}),
    ("除了琼港农场，总工会 职工的案例", {"j3.txt"}),  # no division, named in its title
])
def test_a_case_list_leaves_out_the_articles_on_what_the_question_excludes(places_index, hash_embedder, question, left_out):
    a = Answerer(places_index, hash_embedder, answerability=AnswerabilityModel.always())
    found = {c.source.rsplit("/", 1)[-1] for c in a.find_cases(question, k=10, margin=10)}
    assert found and not found & left_out


def test_where_a_passage_is_from(places_index):
    finder = CaseFinder(places_index, None, None, None)
    source = next(s for s in places_index.texts if s.endswith("j2.txt"))
    offset = places_index.texts[source].index("物流园")
    assert places_index.article_at(source, offset) == 0
    assert finder.origin(source, offset) == Origin("建好“货车司机之家” 打造暖“新”服务港湾", "徐州市贾汪区总工会",
                                                   "【主席之声】")
    assert places_index.article_at("nowhere.txt", 3) is None and finder.origin("nowhere.txt", 3) == Origin("", "", "")


def test_article_at_follows_article_boundaries(tiny_index):
    source = next(s for s in tiny_index.texts if s.endswith("b_trucks.txt"))
    text = tiny_index.texts[source]
    first, second = text.index("青山县总工会"), text.index("滨江市总工会职工服务中心")
    assert tiny_index.article_at(source, first) != tiny_index.article_at(source, second)
    assert tiny_index.article_title(source, tiny_index.article_at(source, second)) == "滨江市总工会追回欠薪"
    assert tiny_index.article_at(source, 0) == tiny_index.article_at(source, first)  # before the first passage


def test_case_results_name_the_place_as_the_source_lines_do(places_index, hash_embedder):
    """A case line (chat, 案例查找, exports) shows the same place as the chat's source line: a division in
    full or the union that names it (or a union in no division: 琼港农场工会), never a word tagged as a
    place that is none (港湾)."""
    a = Answerer(places_index, hash_embedder, answerability=AnswerabilityModel.always())
    finder = CaseFinder(places_index, None, None, None)
    found = a.find_cases("总工会 职工", k=10, margin=10)
    assert len(found) >= 3
    for c in found:
        assert c.place == finder.origin(c.source, c.start).place
        assert c.place != "港湾" and (not c.place or divisions_in(c.place) or c.place.endswith("工会"))


def test_a_jsonl_file_is_one_file_filter_value(index_of, hash_embedder):
    """The file filter lists a JSONL archive once (not each record, file.jsonl#id: 78k records were 78k
    choices and a minute of page start), and choosing it finds its records' cases."""
    import json

    from qa.page_html import file_choices

    recs = [{"id": f"r{i}", "title": f"{place}总工会开展职工技能竞赛", "text": f"{place}总工会组织职工技能竞赛{i + 2}场。"}
            for i, place in enumerate(["滨海县", "江都区", "贾汪区"])]
    index = index_of({"archive.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs),
                      "other.txt": "建湖县总工会\n\n建湖县总工会举办劳模工匠助企行活动。\n"})
    a = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    files = a.facets()["sources"]
    assert len(files) == 2 and not any("#" in f for f in files)
    archive = next(f for f in files if f.endswith("archive.jsonl"))
    assert [label for label, _ in file_choices(files)] == ["archive.jsonl", "other.txt"]
    found = a.find_cases("职工技能竞赛", k=10, margin=10, sources=[archive])
    assert len(found) == 3 and all(c.source.startswith(archive + "#") for c in found)


@pytest.mark.parametrize("sources, labels", [
    (["a/x.txt", "b/x.txt", "b/y.txt"], ["a/x.txt", "b/x.txt", "y.txt"]),  # the same name in two folders: in full
    ([], []),
])
def test_file_filter_labels(sources, labels):
    from qa.page_html import file_choices

    assert [label for label, _ in file_choices(sources)] == labels


CASE_WITH_FIGURE = ("\n\n东湖县总工会督促企业整改\n\n本刊讯 东湖县总工会向违法用工企业发出监督提示函,督促企业整改用工问题。"
                    "企业整改后补发职工加班工资143万元。职工们纷纷点赞。\n")


def test_the_only_case_found_gives_its_figures_too(index_of, hash_embedder):
    """A staff member asking for a case wants what it achieved: when one article matches, its line adds
    the article's next sentence holding a figure (cited after the first, verified); in a list of three,
    a line adds at most one more (西山's 20万元), even a line whose sentence gives a figure of its own
    (南湖's 发出监督提示函3份 adds 添置设备30台)."""
    from qa.citations import verify_answer
    from qa.sources import source_text

    index = index_of({
        "k1.txt": CASE_WITH_FIGURE,
        "k2.txt": "\n\n西山市总工会举办读书节\n\n本刊讯 西山市总工会举办职工读书节,全市职工踊跃参加。\n",
    })
    a = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = a.ask("有没有工会发监督提示函督促企业整改的案例")
    assert ans.kind == "cases" and len(ans.cases) == 1
    assert "143万元" in ans.text and [c.n for c in ans.citations] == [1, 2]
    assert ans.cases[0].citation == 1 and verify_answer(ans, source_text) == []
    assert "143万元" not in ans.citations[0].text and "143万元" in ans.citations[1].text
    two = index_of({"k1.txt": CASE_WITH_FIGURE,
                    "k3.txt": "\n\n西山市总工会督促企业整改\n\n本刊讯 西山市总工会向欠薪企业发出监督提示函,督促企业整改欠薪问题。"
                              "企业整改后补发职工工资20万元。\n",
                    "k4.txt": "\n\n南湖区总工会督促企业整改\n\n本刊讯 南湖区总工会向企业发出监督提示函3份,督促企业整改安全问题。"
                              "工会督促企业整改后,企业添置设备30台。\n"})
    listed = Answerer(two, hash_embedder, answerability=AnswerabilityModel.always()).ask(
        "有没有工会发监督提示函督促企业整改的案例")
    assert len(listed.cases) == 3 and 3 < len(listed.citations) <= 6 and verify_answer(listed, source_text) == []
    line = next(x for x in listed.text.splitlines() if "西山市" in x)
    assert "20万元" in line and line.count("[") == 2
    line = next(x for x in listed.text.splitlines() if "南湖区" in x)
    assert "3份" in line and "30台" in line and line.count("[") == 2
    # 东湖's 143万元 sits at the offsets of 西山's 20万元 in another file: a span of its own, not one cited already
    line = next(x for x in listed.text.splitlines() if "东湖县" in x)
    assert "143万元" in line and line.count("[") == 2


def test_a_case_list_answers_the_asked_figure_from_any_of_its_lines(index_of, hash_embedder):
    """吸纳了多少人 asked of a case list is answered when one of its lines holds the figure (徐州's 862人),
    though the sentences of the best-matching report (益阳's, with no such figure) do not."""
    index = index_of({
        "y.txt": "\n\n益阳工会推动新业态群体入会\n\n本报讯 益阳市总工会推动网约车司机、快递员等新业态群体加入工会。"
                 "益阳市网约车行业工会联合会成立,网约车司机加入工会。益阳市快递行业工会成立,快递员加入工会。"
                 "益阳市总工会为新业态群体加入工会开辟绿色通道。\n",
        "x.txt": "\n\n徐州货车司机之家\n\n本报讯 贾汪区总工会鼓励引导货车司机加入工会,吸纳新会员862人。\n",
    })
    a = Answerer(index, hash_embedder, answerability=AnswerabilityModel.always())
    ans = a.ask("网约车司机、快递员这些新业态群体加入工会，哪几个地方有成效，吸纳了多少人")
    assert not ans.refused and ans.kind == "cases"
    assert "862人" in ans.text and ans.support["slot_found"]
    none = index_of({"y.txt": "\n\n益阳工会推动新业态群体入会\n\n本报讯 益阳市总工会推动网约车司机加入工会。\n"})
    refused = Answerer(none, hash_embedder, answerability=AnswerabilityModel.always()).ask(
        "网约车司机、快递员这些新业态群体加入工会，哪几个地方有成效，吸纳了多少人")
    assert refused.refused and refused.support["why"] == "detail_missing"


TALKS = {
    "a.txt": "\n\n东湖县总工会开展劳模进校园宣讲\n\n本报讯 东湖县总工会组织劳模工匠进校园、思政教师进企业宣讲活动,"
             "全年开展宣讲120场次,覆盖师生3万人。\n",
    "b.txt": "\n\n西山区总工会双进宣讲\n\n本报讯 西山区总工会开展劳模工匠进校园宣讲,今年计划宣讲15场次。\n",
    "c.txt": "\n\n南湖市总工会举办职工读书节\n\n本报讯 南湖市总工会举办职工读书节,全市职工踊跃参加。\n",
}


def test_a_request_for_several_places_lists_the_runner_up_too(index_of, hash_embedder):
    """各地搞了多少场 asks what several places did: a report far ahead of the next does not make a list of
    one when the next scores within case_several_margin of it (西山's 15场次 had been left off, 大丰's
    宣讲 behind 江都's on the seeds); asked for 案例 alone, the list keeps to case_margin."""
    from qa.wordlists import table

    scoring = table("scoring")
    a = Answerer(index_of(TALKS), hash_embedder, answerability=AnswerabilityModel.always())
    several = "劳模工匠进校园、思政教师进企业的宣讲，各地搞了多少场"
    assert a.analyse(several).several and not a.analyse("劳模工匠进校园、思政教师进企业宣讲的案例").several
    first, second, *_ = a.find_cases(several, margin=1.0)
    # the case this test is about: the runner-up beyond case_margin, within case_several_margin
    assert scoring["case_margin"] < first.score - second.score <= scoring["case_several_margin"]
    listed = a.find_cases(several)
    assert [c.place for c in listed] == [first.place, second.place] and "15场次" in listed[1].sentence
    assert "读书节" not in "".join(c.sentence for c in listed)
    one = a.find_cases("劳模工匠进校园、思政教师进企业宣讲的案例")
    assert len(one) == 1 and one[0].place == first.place
