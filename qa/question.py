"""Question analysis: what a question asks for, read once and shared by answerability, sentence
choice and case lists.

``analyse(text, vocabulary)`` gives a ``Question``: its content words (IDF-weighted, with the
bulletins' own words for everyday ones), its **slot** — the kind of thing the answer must contain —
and a few reading flags (wants a case list, asks for the outcome, excludes something with 除了).

Slots and what counts as holding one (``Question.has_slot``; the forms themselves, and ``holds``, are ``qa.details``):

| slot | asked as | a sentence holds it when it has |
| --- | --- | --- |
| figure | 多少/几 + unit, 比例, 规模 | a number with a unit (the asked unit, or one counting the same: 多少人 → 135名) |
| price | 要钱吗, 收费, 收多少, 价格, 多少钱一次, 住一晚要多少钱, 洗澡要多少钱 (not 建/花/发/补 … 要多少钱) | a price: an amount in 元/块 without 万/亿, or 免费 |
| money | 多少钱, 费用, 花多少, 奖金 | an amount in 元/块 (143万元, 2100余万元), or 免费 |
| phone | 电话, 号码, 热线是多少 | a 5+ digit number |
| clock | 几点, 开放时间, 营业时间 | a clock time, 全天, 24小时 |
| date | 什么时候, 哪年 | a date |
| date (next time) | 下回啥时候再来, 下次什么时候办 | a date still to come (计划, 将于 …) or how often it is held (每月一次), not the day it was |
| date (a day) | 哪天, 几号, 几月几号 | a day of the month (3月22日), not a year alone |
| which | 哪个县, 哪家公司, 哪些行业 | that noun after a name (泗洪县), not after 某 or 该 (县某餐饮公司 withholds the name) |
| name | 叫啥, 叫什么名字, 题目 | a quoted name (“…”, 《…》) or a person's name; asked of a kind (那个公司叫啥) a name of that kind (“金地瓜”维权服务平台), not 县某服装公司 |
| person | 谁, 哪位, 主席是谁, 主席叫啥 | a person's name (next to the role asked) |
| identity | 韩文豪是谁, 万月是干啥的, 王兆地咋回事 (a person the bulletins name) | that name (more when a role stands before it: 文艺骨干于瑜) |
| address | 地址, 位置, 具体在哪 | a street address (…路…号, 位于) |
| legal | 合法吗, 违法吗, 有必要吗 | what the law or a rule says |
| frequency | 几次, 频率, 多久一次 | 每月, 一季一次 … |
| duration | 多久, 多长时间, 几天 (not 十几个钟头, 三十几年: a rough number told; nor 断缴了几个月 before 咋办: told) | a number of days, months, hours …; asked in months or weeks (几个月) one in days, weeks, months or years, asked in hours one in hours or minutes |
| procedure | 怎么申请/报名/办理, 从哪报, 上哪报名, 什么条件, 手续 | how to: 扫码, 拨打, 到…报名 … |
| service | 找谁, 去哪, 投诉 (not 咋办/怎么办: "what happens / what is done" — a court enforcing a ruling, a treatment arranged — answers those as well as a hotline) | a hotline, centre, station, legal aid … |
| location | 在哪, 哪里 after the place's own name (司机之家在哪, 驿站在哪儿) | where it was built or set up (在国道、省道线上建设, 建设了…港口、…物流园等…“司机之家”), 位于 |
| focus | 什么/哪些 + noun | that noun (or its bulletin synonym) |

A category noun after 什么/哪些 (措施, 做法, 好处 …) is no slot: any concrete action answers it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from .details import (CLASSIFIERS, JI, JI_COUNT, PER_UNIT_FORMS, RE_ENUMERATION, RE_MEMBERS, RE_SERVICE, SYNONYMS,
                      WHICH_PLACES, figures, holds)
from .names import introduces, who_asked
from .wordlists import table

_WORDS = table("question_words")
GENERIC_FOCUS = frozenset(_WORDS["generic_focus"])
GENERIC_WEIGHT = float(_WORDS["generic_weight"])
OUTCOME_WORDS = tuple(_WORDS["outcome"])
REMEDY_WORDS = tuple(_WORDS["remedy"])
_RE_TOLD_COUNT = re.compile(r"了(?=几)")  # 断缴了几个月: a count or length told before 咋办
_IDENTITY_ROLE = float(table("scoring")["identity_role"])  # a who-is answer: more for the sentence printing a role before the name
_SLOT_BONUS = {k: float(v) for k, v in table("scoring")["slot_bonus"].items()}  # Question.slot_bonus's terms
# which-questions asking for a division (哪个县) that the place an answer's report is about answers
# (report places are divisions of qa/data/places.txt, which stops at counties: no 镇 or 乡)
DIVISION_LEVELS = frozenset("省市县区")
_TOPIC_MIN_IDF = float(table("answerability")["case_topic_min_idf"])

# 给我找几个 / 举几个 / 给我几个典型: a request for some cases (not a count), part of both patterns below
_ASK_FOR_SOME = r"(给我|帮我|帮忙)[找举列]几[个家]|[举列]几个|(给我|帮我)几个(?=典型|例子|案例|事例|$|[,，。;；!！?？\s])"
# which places or units did it (谁家搞过, 哪家做过, 哪几家办得好: not a person or one name; 都谁在搞), and
# other places (别的地方…: not 我在别的地方上班 unless asked how they did it): parts of both patterns below
_MANY_PLACES = (r"各地|谁家|(哪些|哪几个?)(地方|地区|工会|单位|企业|县|市|区)|哪几家|哪家(?=[做搞办弄干])|"
                r"谁在[做搞办弄干]")
_OTHER_PLACES = r"(别的|其他|其它|外地)(地方|地区|单位|工会|县|市)"
# who did it well (办得火的有哪些, 搞得好的单位, 做得规范的基层工会) and whether anyone did it (有没有地方在做,
# 有没有工会…办过, 哪里办过): asking for the places or units that did, not for one fact
_DONE_WELL = r"[做搞办干弄]得[^,，。?？\s]{0,3}的(?:基层工会|单位|地方|工会|企业|县|市|有哪些)"
_ANYONE_DID = (r"有没有(?:地方|工会|单位|企业|县|市)(?=[^,，。?？]{0,12}(?:[做搞办干]过|在[做搞办干]))|"
               # 谁搞过, 哪里在搞, 哪个工会办过, 有人办过吗, 谁这么干过, 哪里做得好: who did it, not whom to turn to
               r"(?:谁|有谁|有人|哪里|哪儿|哪有|哪个(?:工会|单位|地方|县|市|区|企业)|哪家)"
               r"(?=(?:这么|这样|也|都|已经)?(?:在(?:[做搞办弄干]|组织)|(?:[做搞办弄干]|组织|建)(?:过|得)))")
# asking for something to learn from (有先例吗, 有能参考的没, 有啥可学的, 说几个, 举个带数字的): a case request
_TO_LEARN = r"先例|[可能]参考|可学|[可能]借鉴|[说找给]几个(?![月小人工星礼钟天年])|有啥招|举个(?=[^,，。?？]{0,6}的)"
# case lists: examples, practices, experience, which places/units did it, how other places did it, joint work
CASE_PATTERN = re.compile(
    r"案例|例子|事例|典型|经验|好做法|做法|举措有哪些|(哪些|什么|有何)(举措|办法)|"
    r"(联手|联合|携手)[^?？]{0,12}(的|做了)|" + _MANY_PLACES + "|" + _DONE_WELL + "|" + _ANYONE_DID + "|" + _TO_LEARN + "|"
    + _OTHER_PLACES + r"[是都又还]{0,2}(怎么|咋|如何)|" + _ASK_FOR_SOME)
# a case request that asks for several places or units (各地, 哪些地方, 哪几家, 谁家, 都谁在搞, 给我找几个, 有哪些例子):
# a list of one does not answer it
# examples asked in the plural (有哪些例子, 例子有哪些, 找几个案例) ask for several as much
_SOME_EXAMPLES = r"哪些(?:例子|案例|事例|典型)|(?:例子|案例|事例)都?有哪些|几个(?:例子|案例|事例)"
SEVERAL_PATTERN = re.compile(_MANY_PLACES + r"|都谁|" + _OTHER_PLACES + "|" + _ASK_FOR_SOME + "|" + _SOME_EXAMPLES)
# intent words removed before searching, so "典型案例" in a passage does not outrank the topic
CASE_WORDS = re.compile(_ASK_FOR_SOME + r"|有没有|有哪些|哪些|的?(典型)?(案例|例子|事例)|可以参考|可供参考|经验做法|好做法|的?经验|的?做法|[?？]"
                        # …的典型 / 几个典型 asking for cases (not 选树先进典型的做法, whose 典型 is the subject)
                        r"|的典型(?=$|[,，。;；!！\s])|(?<=几个)典型")

_RE_UNIT = re.compile(rf"(?:多少|{JI_COUNT})\s*(人次|[{CLASSIFIERS}])")
# 交几个点 / 多少个百分点: a percentage (几点 asks the time; 有几个点 / 建了几个点位 count places)
_RE_POINTS = re.compile(r"(?<![有建设开办])(?:多少|几)个(?:百分)?点(?!位)|(?:多少|几)个?百分点|(?<![有建设开办])多少点|百分之(?:多少|几)")

# where a question asks a place to go (在哪, 从哪报, 什么地方): a service is asked as much by these as by 找谁
_RE_WHERE = re.compile(r"在哪|哪里|哪儿|去哪|从哪|上哪|什么地方|啥地方")

_SLOT_ASKED = (  # order matters: the first that matches decides
    ("phone", re.compile(r"电话(号码?)?(是)?(多少|几号|是啥)|(打|拨)(啥|什么|哪个)(电话|热线)|号码|手机号|联系方式|"
                         r"热线(电话)?(是)?(多少|是啥|是什么|几号)|(?:有没有|有啥|有什么|有无)[^,，。?？!！\s人]{0,4}(?:电话|热线)|"
                         # 有联系电话吗, 有电话没: whether there is a number to call (not 有人接电话吗)
                         r"有(?:联系|咨询|服务|报名)?电话(?:号码?)?(?:吗|没|不|么|嘛)|"
                         r"(?<![接打回拨通])(?<!免费)电话(?:号码?)?[?？!！。\s]*$")),  # 滨海县总工会电话, typed as a search (not 有人接电话, 是不是免费电话)
    # a price (what one use or one person pays) is not answered by a total spent (2800余万元); 要话费不 asks one as
    # 收话费吗 does (not 重要 / 主要)
    # 要自己掏钱不 / 自费吗: whether the worker pays (not 老板不给钱: an employer not paying)
    ("price", re.compile(r"要钱|收钱|掏钱|自费|(?:要|得|需要)自己(?:花|出|付)钱|(?:要|交|收|需要)押金|押金(?:多少|吗|不|没)|押多少|收不收钱|收[^,，。?？]{0,3}费|(?<![重主])要[^,，。?？多少]{0,2}费(?!用)|(?:要|得|需要|还要|用)交(?:[^,，。?？多少]{0,3}费|钱)|收多少|价格|价钱|会费|租金|门票|免费吗|多少钱一|[次晚天位个人][要得]?多少钱|"
                         # 洗澡要多少钱: what one pays to use something, unless a sum spent, paid out or in total is asked
                         r"^(?!.*(?:建|投|花|砸|拨|发|补|奖|赔|扣|退|领|一共|总共|累计)).*(?:要|得|需要)多少钱")),
    ("money", re.compile(r"多少钱|几块钱|多少块|费用|花多少|交多少|多少元|奖金|补贴多少")),
    # 半夜打有人接不 / 晚上能去吗: whether it is open at that hour
    # 还开着门吗 / 24小时都开着吗: whether it is open then
    ("clock", re.compile(r"几点|开放时间|营业时间|办公时间|开门|关门|几点钟|上班时间|开着门?(?:吗|不|没|么)|"
                         r"(?:半夜|夜里|晚上|深夜|凌晨|周末|节假日)(?:也|还|都)?(?:打|去|来)?(?:能|有人|开|营业|行)(?!住|睡|过夜|休息|歇|洗)[^,，。?？]{0,3}(?:吗|不|没|么)")),
    # 多久比一回, 多长时间去一趟: how often, as 多久一次 asks
    ("frequency", re.compile(r"几次|频率|每隔|(?:多久|多长时间)[^?？,，]{0,8}一[次回趟轮]")),
    ("duration", re.compile(r"多久|多长时间|多少时间|多长|" + JI + r"(?:天|个月|年|个?(?:工作日|小时|钟头|星期|礼拜|周))|"
                            r"多少个?(?:工作日|小时|钟头|星期|礼拜|周|天)")),
    ("address", re.compile(r"地址|位置|具体在哪|在哪条路|哪几条路|哪条路|哪些路|什么路|哪条街|哪些街|怎么过去|怎么走|门牌")),
    ("legal", re.compile(r"(?<!联)合法|违法|犯法|正常吗|有必要|符合规定|规定吗")),  # not 联合法院 (jointly with a court)
    # 从哪报 / 上哪报名: where to sign up, said with a bare 报 as often as with 报名 (not 报销, 报警, 报道)
    ("procedure", re.compile(r"(怎么|如何|怎样|咋|去哪|在哪|哪里|到哪|从哪|上哪)(申请|报名|办理|加入|参加|领取|申报|登记|下载|注册|报(?![销警道告纸社]))|"
                             r"(申请|报名|办理|登记)(找谁|找哪|去哪|在哪|到哪|从哪|上哪)|"  # 报名找谁: how to sign up, not whom to complain to
                             r"(什么|啥|哪些)(条件|材料|手续|流程)|手续|流程")),
    ("which", re.compile(r"(?:哪个|哪家|哪一个|哪一家|哪所|哪座|哪条)(?![做搞办弄干])(?P<which>[\u4e00-\u9fff]{1,2})")),
    # 有什么成效数据 / 要具体数字 / 带数字的: figures asked (not 数字化, 大数据)
    ("figure", re.compile(r"多少|" + JI_COUNT + r"[个名家件次人条场支项位所天年届批期节万岁倍回]|数量|规模|比例|金额|多大|多高|几成|"
                          r"(?<!大)数据|数字(?!化)")),
    ("date", re.compile(r"什么时候|啥时候|哪天|几号|何时|哪一年|哪年|几月|什么时间|啥时间")),
    ("name", re.compile(r"叫啥|叫什么|名字|名称|题目")),
    ("service", re.compile(r"找谁|找哪|向谁|问谁|谁管|谁负责|谁来管|求助|投诉|反映|" + _RE_WHERE.pattern)),
    ("person", re.compile(r"谁(?!家)|哪位|什么人")),
)
_RE_FOCUS = re.compile(r"(?:什么|哪些|啥|哪种|哪类)([\u4e00-\u9fff]{2,4}?)(?:了|呢|吗|啊|呀)?[?？。!！~]*$")
_RE_DAY_ASKED = re.compile(r"哪天|哪一天|几号|几月几[号日]|具体日期|哪一日")
_RE_ROLE = re.compile(r"(副?(?:主席|书记|负责人|局长|队长|经理|院长|站长|校长|组长|馆长|董事长|总经理))[^,，。?？]{0,3}(?:是谁|叫啥|叫什么|是哪位)")
# "每个月/一个人/每名 … 多少": a rate, answered only by a rate (每月, 人均, 月均 …)
# a price by the meal, night, time or lesson (吃一顿多少钱, 住一晚多少钱) too: a total spent (补发…3.6万元) is none;
# 一次性 (a lump sum) is no rate
_RE_PER_UNIT = re.compile(r"(?:每|一)(?:个)?(人|月|年|天|名|家|场|期|届|顿|餐|晚|夜|节|堂|次(?!性))|每(个)")
# "哪些/都查了啥/哪几项": a list, answered by an enumeration (A、B、C); 有哪些激励措施 had been answered by
# the heading 落实激励措施,打通职工发展通道。 alone, 联动了哪些职能部门 by a sentence naming none
_RE_LIST = re.compile(r"哪些|都[\u4e00-\u9fff]{0,3}(?:啥|什么)|有哪几|哪几[个项样种类]")
_RE_EXCEPT = re.compile(r"(?:除了|除去|不包括|不算)([^,，。?？]{1,12}?)(?:以外|之外|外)?(?:[,，]|还|$)")


@dataclass(frozen=True)
class Question:
    """What scoring needs to know about a question (see the module docstring)."""

    text: str
    tokens: dict  # content token → idf weight
    synonyms: dict  # content token → alternatives that also count as present
    unit: str = ""  # the measure word asked for (多少节课 → 节), or ""
    slot: str = ""  # "" or one of the slots in the module docstring
    focus: str = ""  # the noun after 什么/哪些
    outcome: str = ""  # 最后/最终 …: the question asks for the final figure or result
    wants_cases: bool = False
    search_text: str = ""  # what to search with (case-intent words removed)
    excluded: tuple[str, ...] = ()  # 除了 X: words of X, which the answer should not be about
    per_unit: str = ""  # 每个月/一个人 … 多少: the rate's unit (月, 人 …), answered only by a rate
    wants_list: bool = False  # 哪些/都有啥/哪几项: answered only by an enumeration
    # two figures asked in two clauses (有多少名党员,成立了几支先锋队): each clause's own words (those
    # the other clauses lack) and the unit it asks in; () when one figure is asked
    parts: tuple[tuple[tuple[str, ...], str], ...] = ()
    # a case list's subject, as its words (各地工会组织职工无偿献血的做法 → 无偿献血; 职业病防治、尘肺病职工
    # 帮扶 → 职业病, 防治, 尘肺病, 帮扶): the question's words without the request (各地, 做法, 哪些地方),
    # function words, category nouns and words most passages share (工会, 职工, 开展, 活动); () when no
    # case list is asked or nothing is left
    topic_words: tuple[str, ...] = ()
    # 咋办/怎么办: what to do about a situation; a case told in the bulletins answers it to its end
    # (the problem, what the union did, how it ended), not with its first sentence
    remedy: bool = False
    # a detail another clause asks besides ``slot`` (学跳舞要钱不 咋报名啊: a price, then how to sign up):
    # the answer adds a sentence giving it; only ``slot`` decides whether the question is answered
    also: tuple[str, ...] = ()
    # its one-character content words (私 of 工伤能私了吗, 住 of 专家有公寓住吗): no token weighs them, but a
    # sentence that answers the question word for word holds them too
    characters: tuple[str, ...] = ()
    # a case request asking for several places or units (各地…的做法, 哪些地方…, 谁家搞过): its list
    # names more than the one best report when others come close enough (qa.cases)
    several: bool = False
    # the person a who-is question asks about (韩文豪是谁 → 韩文豪): a name the bulletins hold, which
    # the answer is looked up by (``qa.retrieve.Retriever.holding``) rather than searched for; "" otherwise
    who: str = ""
    # the members of a group the question counts itself are asked (``RE_MEMBERS``): answered only by
    # their names, listed; no case list
    members: bool = False

    @property
    def follows_case(self) -> bool:
        """The question wants a case told to its end: what to do (咋办), or how it ended (后来…要回来没,
        最后咋样了) — not a case list."""
        return (self.remedy or bool(self.outcome)) and not self.wants_cases

    @property
    def topic(self) -> str:
        """The case list's subject as one text (``topic_words`` joined; "" when there is none)."""
        return "".join(self.topic_words)

    def covers(self, token: str, toks: set) -> bool:
        """The question's ``token`` (or one of its synonyms) is among ``toks``."""
        return token in toks or any(x in toks for x in self.synonyms.get(token, ()))

    def coverage(self, toks: set, *, beyond: set | None = None) -> float:
        """IDF-weighted share of the question's words found in ``toks``.  With ``beyond``, only the
        words ``beyond`` does not already hold count (what a sentence adds to its article's subject)."""
        words = {t: w for t, w in self.tokens.items() if not (beyond and self.covers(t, beyond))}
        total = sum(words.values())
        if not total:
            return 0.0
        return sum(w for t, w in words.items() if self.covers(t, toks)) / total

    def rarest_held(self, text: str) -> float:
        """The weight of the question's rarest word when ``text`` holds every one of its words as
        written — its content words (not a word jieba's cut made up around a word of grammar, 咋管)
        and its one-character ones (私, 算) —, else 0.  有义诊不 holds only 义诊, which one bulletin
        sentence holds; 加班费咋算 is not answered word for word by 补发加班费3.6万元 (no 算)."""
        from .tokens import normalise
        from .vocabulary import made_up

        words = [t for t in self.tokens if not made_up(t)]
        text = normalise(text)
        if not words or not all(w in text for w in (*words, *self.characters)):
            return 0.0
        return max(self.tokens[w] for w in words)

    def figures(self, text: str) -> list[str]:
        return figures(text)

    @property
    def asks_division(self) -> bool:
        """A which-question asking for a division (哪个县, 哪个市): the place a report is about answers it."""
        return self.slot == "which" and self.focus in DIVISION_LEVELS

    def has_slot(self, text: str, about=()) -> bool:
        """``text`` holds what is asked; ``about``: the divisions its report is about (阜宁县 answers
        哪个县 for every sentence of 阜宁's report, though most say only 全县)."""
        if self.asks_division and any(p.endswith(self.focus) for p in about):
            return True
        return holds(self.slot, text, unit=self.unit, focus=self.focus, asked=self.text)

    def slot_bonus(self, text: str, about=()) -> float:
        """Score adjustment for a sentence: the asked thing present (more for a figure in the asked
        unit), or absent when the question wants a figure; ``about`` as for ``has_slot``."""
        b = _SLOT_BONUS
        extra = 0.0
        if self.wants_list and RE_ENUMERATION.search(text):
            extra += b["enumeration"]
        if self.per_unit and any(f in text for f in PER_UNIT_FORMS.get(self.per_unit, ())):
            extra += b["rate"]
        if self.slot == "identity" and self.has_slot(text):
            # 文艺骨干于瑜 says who she is; 对韩文豪等16名… only names him among others
            return extra + b["held"] + (_IDENTITY_ROLE if introduces(self.who, text) else 0.0)
        if self.slot == "figure":
            if self.has_slot(text):
                return extra + (b["figure_in_unit"] if self.unit else b["figure"])
            return extra + (b["other_figure"] if self.figures(text) else -b["no_figure"])
        return extra + (b["held"] if self.slot and self.has_slot(text, about) else 0.0)

    @property
    def asks_detail(self) -> bool:
        return bool(self.slot or self.per_unit or self.wants_list)

    def details_held(self, text: str, about=()) -> bool:
        """The sentence(s) give what is asked in the form asked: the slot, a rate for a rate, an
        enumeration for a list (``about`` as for ``has_slot``)."""
        if self.slot and not self.has_slot(text, about):
            return False
        if self.per_unit and not any(f in text for f in PER_UNIT_FORMS.get(self.per_unit, ())):
            # 免费 elsewhere in a sentence is no answer either: 工会会费每月交多少 is not told by 免费为568名职工体检
            return False
        if self.wants_list and not RE_ENUMERATION.search(text):
            return False
        return True

    def is_excluded(self, toks) -> bool:
        """``toks`` (a sentence's words, or a text, searched as written) names what 除了 X leaves out."""
        return any(t in toks for t in self.excluded)

    def asking_as(self, follow_up: "Question") -> "Question":
        """This question (a follow-up made standalone) asking what the ``follow_up`` itself asks when
        it asks something (收费不 → a price; 几个人参加的 → a count), not what the earlier question that
        lent it a subject asked; otherwise unchanged (那江都呢? asks the earlier question again)."""
        f = follow_up
        if not (f.slot or f.unit or f.per_unit or f.wants_list):
            return self
        return dataclasses.replace(self, slot=f.slot, unit=f.unit, focus=f.focus, per_unit=f.per_unit,
                                   wants_list=f.wants_list, outcome=f.outcome or self.outcome)




# the details a second clause may ask that a sentence shows by its form alone (a figure asked twice is
# ``parts``; which, name and person need the noun asked)
ALSO_SLOTS = frozenset({"money", "price", "phone", "clock", "date", "duration", "procedure", "frequency"})



def asks_members(question: str) -> bool:
    """The question asks for the members of a group it counts itself (``RE_MEMBERS``), not for what
    they did (那3家企业有哪些做法: a category noun, ``GENERIC_FOCUS``, follows the 哪些)."""
    m = RE_MEMBERS.search(question)
    if not m:
        return False
    after = re.sub(rf"^[个些{CLASSIFIERS}]", "", question[m.end():])
    return not any(after.startswith(w) for w in GENERIC_FOCUS)



def slot_of(text: str) -> tuple[str, str]:
    """(slot, noun) of a question: the noun is what a which-question asks for (哪个县 → 县)."""
    for name, pattern in _SLOT_ASKED:
        m = pattern.search(text)
        if m:
            return name, (_which_noun(m.group("which")) if name == "which" else "")
    return "", ""


def _which_noun(two: str) -> str:
    """The noun a which-question asks for, from the two characters after 哪个: both when they make a
    word (部门, 单位, 阀门), else the first (哪个省以地方立法… → 省, 哪个队拿了冠军 → 队, 哪家厂有 → 厂)."""
    from .tokens import dictionary_frequency

    noun = two.rstrip("的了呢吗啊是在有")
    return noun if len(noun) < 2 or dictionary_frequency(noun) > 0 else noun[0]


def analyse(question: str, vocabulary) -> Question:
    """Read a question; ``vocabulary`` gives ``idf(tokens) -> {token: weight}``,
    ``words_of(text) -> [token]`` (the question's words mapped onto the bulletins' vocabulary),
    ``related(tokens) -> {token: (bulletin words…)}`` for the words the bulletins never use and
    ``corpus_text`` (the bulletins' text, for the names a who-is question may ask about)."""
    from .tokens import simplified
    from .vocabulary import content_characters

    question = simplified(question)  # 寶雞文化宮的課要錢不 asks a price as 要钱不 does
    members = asks_members(question)
    wants_cases = bool(CASE_PATTERN.search(question)) and not members
    search = (CASE_WORDS.sub(" ", question).strip() or question) if wants_cases else question
    toks = [t for t in dict.fromkeys(vocabulary.words_of(search)) if len(t) >= 2 or t.isdigit()]
    syn = {t: SYNONYMS[t] for t in toks if t in SYNONYMS}
    for t in [t for t in SYNONYMS if t in search and t not in toks]:  # phrases jieba did not cut out
        toks.append(t)
        syn[t] = SYNONYMS[t]
    syn.update(vocabulary.related([t for t in toks if t not in syn]))  # 喂奶 → 母婴 (qa.related)
    if any(w in search for w in REMEDY_WORDS):
        # 社保断缴了几个月 咋办: a question asking what to do tells how long with 了几, as 好几 does
        search = _RE_TOLD_COUNT.sub("了好", search)
    unit = _RE_UNIT.search(search)
    unit = "%" if _RE_POINTS.search(search) else unit.group(1) if unit else ""
    focus = _RE_FOCUS.search(search.strip())
    focus_word = focus.group(1) if focus else ""
    generic = bool(focus_word) and (focus_word in GENERIC_FOCUS or focus_word[-2:] in GENERIC_FOCUS)
    slot, which = slot_of(search)
    if slot == "service" and _RE_WHERE.search(search) and RE_SERVICE.search(search):
        slot = "location"  # 司机之家在哪: the question names the place; where it is is asked, not whom to turn to
    if not slot and focus_word and not generic:
        slot = "focus"
    role = _RE_ROLE.search(search)
    if role and slot in ("name", "person", ""):  # 主席叫啥 asks a person, not a title
        slot = "person"
    if slot == "person":
        focus_word = role.group(1) if role else ""
    who = who_asked(search, vocabulary.corpus_text)
    if who:
        slot, focus_word, generic = "identity", who, False
    if members:
        slot, focus_word, generic = "members", "", False
    if slot == "date" and _RE_DAY_ASKED.search(search):
        focus_word = "日"
    if slot == "which":
        if which in GENERIC_FOCUS or which[-2:] in GENERIC_FOCUS:  # 哪些打算/哪几个环节: a category
            slot, focus_word, generic = "", which, True
        else:
            focus_word, generic = which, False
    excluded: tuple[str, ...] = ()
    m = _RE_EXCEPT.search(search)
    if m:
        excluded = tuple(t for t in vocabulary.words_of(m.group(1)) if len(t) >= 2)
        toks = [t for t in toks if t not in excluded]
    weights = vocabulary.idf(toks) if toks else {}
    topic_words = case_topic_words(search, vocabulary) if wants_cases else ()
    if generic:
        weights = {t: w * GENERIC_WEIGHT if t in GENERIC_FOCUS else w for t, w in weights.items()}
    # the rate's 每X must be in the clause that asks the figure (每年能体检不?检了多少人次: a total)
    clauses = [c for c in re.split(r"[?？,，。!！;；\s]+", search) if c]
    asked = [c for c in clauses if re.search(r"多少|几|百分之", c)]
    per_unit = next((m for m in map(_RE_PER_UNIT.search, asked) if m), None)
    parts = _figure_parts(asked, weights)
    also = tuple(dict.fromkeys(x for x in (slot_of(c)[0] for c in clauses)
                               if x in ALSO_SLOTS and x != slot and not (slot == "money" and x == "price")))
    return Question(question, weights, syn, unit, slot,
                    "" if generic else focus_word,
                    next((w for w in OUTCOME_WORDS if w in question), ""), wants_cases, search, excluded,
                    (per_unit.group(1) or per_unit.group(2)) if per_unit and slot in ("figure", "money", "price") else "",
                    (members or bool(_RE_LIST.search(search))) and not wants_cases, parts,
                    topic_words,
                    any(w in search for w in REMEDY_WORDS) and not wants_cases, also,
                    tuple(dict.fromkeys(content_characters(search))),
                    wants_cases and bool(SEVERAL_PATTERN.search(question)), who, members)


def case_topic_words(search: str, vocabulary) -> tuple[str, ...]:
    """What a case question is about, in its own words and order: the words of ``search`` (the
    question without 案例/做法/有哪些) that are not a case request (各地, 谁家, 哪些地方), a function
    word, a category noun (措施, 活动) or a word in more of the bulletins' passages than
    ``case_topic_min_idf`` allows (工会, 职工, 开展 …).  Its evidence is read on its own
    (``qa.answerability``): the request's union frame comes close to every report."""
    from .tokens import STOPWORDS, cut

    text = CASE_PATTERN.sub(" ", search)
    words = [w for w in cut(text) if len(w) >= 2 or w.isdigit()]
    words = [w for w in words if w not in STOPWORDS and w not in GENERIC_FOCUS and w not in WHICH_PLACES]
    idf = vocabulary.idf(words) if words else {}
    return tuple(w for w in words if idf.get(w, 0.0) >= _TOPIC_MIN_IDF)


def _figure_parts(clauses: list[str], tokens) -> tuple[tuple[tuple[str, ...], str], ...]:
    """For two or more clauses that each ask a figure: (the clause's words that no other asking
    clause has, the unit it asks in) per clause; () otherwise."""
    if len(clauses) < 2:
        return ()
    words = [[t for t in tokens if t in c] for c in clauses]
    out = []
    for i, c in enumerate(clauses):
        others = {t for j, w in enumerate(words) if j != i for t in w}
        unit = _RE_UNIT.search(c)
        out.append((tuple(t for t in words[i] if t not in others), unit.group(1) if unit else ""))
    return tuple(out)
