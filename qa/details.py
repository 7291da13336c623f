"""Details: the forms an asked detail takes in a bulletin sentence, and whether a text holds one.

A question asks for a kind of thing (``qa.question`` reads which: a figure in a unit, a price, a phone
number, a clock time, a length of time, a date, a person, a name, a place to turn to …); this module
knows what each looks like where the bulletins give it — 143万多元 and 135名 are figures (and 135名
counts people as 多少人 asks), 免费 is a price, 12351 a phone number, 24小时 a clock time, 一季一次 a
frequency, 位于… an address, 在国道、省道线上建设 where a place is — and ``holds(slot, text)`` says
whether a sentence gives the thing asked.  Its tables (``qa/data/question_words.json``,
``qa/data/synonyms.json``) are shared with question reading; nothing here reads a question's intent
beyond the words ``holds`` is given (``asked``: which figures it quotes, whether it asks the next time).
"""

from __future__ import annotations

import re

from .wordlists import table

_WORDS = table("question_words")
SYNONYMS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in table("synonyms").items()}
WHICH_NOUNS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["which_nouns"].items()}
WHICH_PLACES = frozenset(_WORDS["which_places"])
SAME_UNITS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["same_units"].items()}

CLASSIFIERS = "个名家件次人条场支项位所天年届批期节元台辆套本户座处间份册篇张块栋层岁倍回"  # measure words after a count
# a 几 that asks: not 好几 / 那几 / 这几 (telling or pointing: 好几个月, 那几个月的工钱), nor 十几 (a rough number
# told: 十几个钟头, 三十几年); a count's 几 is also not 哪几 (which ones)
JI = r"(?<![好那这十])几"
JI_COUNT = r"(?<![好哪那这十])几"

# a figure is a number with a unit (not a date, a brand like "1958" or "1+N");
# the magnitude and 余/多 come in either order: 143万多元, 2100余万元
_MAGNITUDE = r"(?:[万亿千百]?[余多]?|[余多][万亿千百])"
# what follows a number that makes it a figure: the magnitude and the unit (万余元, 名, 人次, %)
_FIGURE_TAIL = rf"\s*{_MAGNITUDE}\s*(?:人次|万元|亿元|小时|分钟|公里|平方米|[{CLASSIFIERS}%％])"
RE_FIGURE = re.compile(
    rf"[\d一二三四五六七八九十两百千万]+[\d.,]*{_FIGURE_TAIL}")
RE_DIGIT_FIGURE = re.compile(rf"\d[\d.,]*{_FIGURE_TAIL}")
_RE_NUMBER = re.compile(r"[\d一二三四五六七八九十两百千万][\d.,一二三四五六七八九十两百千万]*")
RE_DATE = re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|\d{1,2}月(?:份|初|底|中旬)?|\d{1,2}日")

_RE_FREQUENCY = re.compile(r"每(?:半|[两三四五六\d]个?)?[天日周月季年]|[一每][天日周月季年][一两三四\d]?次|按[天日周月季年]|\d+[天日周月年]一次|一[季月年]一")
RE_SERVICE = re.compile(r"热线|服务中心|服务站|驿站|之家|窗口|法律援助|律师|服务平台|\d{5}|服务点")
_RE_MONEY = re.compile(rf"\d[\d.,]*\s*{_MAGNITUDE}\s*(?:元|块)|免费|不收费|零收费")
_RE_FREE = re.compile(r"免费|不收费|零收费|不要钱")
_RE_PRICE = re.compile(r"\d[\d.,]*\s*(?:元|块)|" + _RE_FREE.pattern)
# a number of five digits or more, but not a count (货运从业人员14600多人)
_RE_PHONE = re.compile(rf"\d{{5,}}(?![\d.,]|{_FIGURE_TAIL})|\d{{3,4}}-\d{{7,8}}")
# a length of time, not a date: 5月 of 5月27日 is May and 2023年 a year (1个月, 三个月 and 15日内 are lengths)
_RE_DURATION = re.compile(r"(?:(?<![\d月])\d{1,3}(?:\.\d+)?|[一二两三四五六七八九十半]+)\s*"
                          r"(?:个月|个?(?:工作日|天|日|周(?!年)|星期|年|小时|分钟|课时|学时))|当天|当场|半年")
_RE_PROCEDURE = re.compile(r"扫码|拨打|登录|关注|公众号|小程序|填写|提交|携带|凭[^,，。]{1,8}(?:即可|可)|"
                           r"到[^,，。]{1,12}(?:报名|申请|办理)|报名方式|申请条件|须|需提供")
# an address, not any word ending in 路 (思路, 复兴路): a number, 位于, a crossing or "on/along the road"
_RE_ADDRESS = re.compile(r"位于|坐落|地址[:：为是]|\d+号|[\u4e00-\u9fff]{1,8}(?:路|街|大道|巷|大街)(?:\d|[与和、][\u4e00-\u9fff]{1,8}(?:路|街|大道)|"
                         r"交叉口|路口|沿线|两侧|旁|边)")
# where a place is (司机之家在哪): built or set up somewhere (在国道、省道线上建设, 建设了徐州云集港口、大吴物流园等…“司机之家”,
# 在主城区药店设立), or located (位于); building a 驿站 or 服务站 says what was built, not where (建立工会户外劳动者服务站点)
_RE_LOCATION = re.compile(r"位于|坐落|(?:在|于)[^,，。;；]{2,16}?(?:建设|建成|设立|设置|打造|建立|开设|落户)|"
                          r"(?:建设|建成|设立|打造|建立)了?[^,，。;；]{2,20}?(?:港口|物流园|基地|集散地|园区|服务区|社区|广场|沿线|(?<!驿)(?<!服务)站)")
_RE_LEGAL = re.compile(r"违法|合法|依法|法律|规定|违反")

# when it is held next (下回啥时候再来, 下次什么时候办): answered by a date still to come or by how often it is held
_RE_NEXT_TIME = re.compile(r"下回|下次|下一次|下一回|下一期|下一场|下一届|(?:啥|什么)时候再")
_RE_FUTURE = re.compile(r"将于|将在|计划|拟于|下一步|明年|下半年|下个月|每年|定期")
_RE_DAY = re.compile(r"\d{1,2}月\d{1,2}[日号]|\d{1,2}[日号]|当天|同日")

_RE_CLOCK = re.compile(r"\d{1,2}[:：]\d{2}|\d{1,2}点|全天|24小时")

PER_UNIT_FORMS = {"人": ("每人", "人均", "每名", "一人"), "名": ("每名", "人均", "每人"), "月": ("每月", "月均", "按月", "一个月", "月薪"),
                  "年": ("每年", "年均", "年培训", "一年", "年度"), "天": ("每天", "日均", "一天"), "次": ("每次", "一次"),
                  "家": ("每家", "家均"), "场": ("每场",), "期": ("每期", "一期"), "届": ("每届",),
                  "顿": ("每顿", "一顿", "每餐", "一餐"), "餐": ("每餐", "一餐", "每顿", "一顿"), "晚": ("每晚", "一晚", "每夜", "一夜"),
                  "夜": ("每夜", "一夜", "每晚", "一晚"), "节": ("每节", "一节", "每课时", "每堂"), "堂": ("每堂", "一堂", "每节", "一节"),
                  "个": ("每个", "每项", "平均", "人均")}

RE_ENUMERATION = re.compile(r"、|[;；]|和[^,，。]{1,10}等")

# the members of a group the question itself counts (江都那12个全国劳模分别是哪些人, 那30家金牌单位都是哪些企业,
# “十大工种”具体是哪十个): the bulletin's count is known to the asker; only their names answer
RE_MEMBERS = re.compile(rf"(?:(?:(\d+)|那([二两三四五六七八九十百]+))[{CLASSIFIERS}种]|([二三四五六七八九十]大))"
                        r"[^,，。?？!！]{0,16}?(?:哪些|哪几|分别是|具体是[哪啥什]|叫[啥什]|名字|名单)")
# a counted group of people (4名, 12个全国劳模, 几位师傅)
_RE_PEOPLE = re.compile(r"^(?:\d+|那[二两三四五六七八九十百]+)[名位人]|劳模|工匠|职工|师傅|选手|干部|司机|骑手|志愿者|人员")
# an item of a list of names: short and without a figure (王德胜, 焊工, 书香江都), or a body's full name
_RE_NAME_ITEM = re.compile(r"[^\d]{2,9}|[^\d]{2,20}(?:公司|集团|厂|店|医院|学校|工会|中心)")
# a name asked of a kind of thing (那个服装公司叫啥名, 这个平台叫什么): the kind
_RE_NAME_OF = re.compile(r"(公司|厂|企业|单位|工地|饭店|酒店|餐馆|医院|学校|平台|活动|项目|比赛)[的]?(?:叫啥|叫什么|名字|名称|是哪)")
_NOT_A_NAME = re.compile(r"[某该此这那本其各每]")

# slots held when one pattern matches
# a duration asked in days or years (几天, 多少年) is held by one in that unit (当天 and 当场 are days)
_DURATION_UNITS = {"天": "天|日|当场", "年": "年"}
# a length asked in months or weeks (几个月, 多少周) is not held by one in hours or minutes (1小时内 says how
# fast a course filled, not how long it runs; 当天 is the day something happened), nor one asked in hours (几个小时) by one in days or years
_DURATION_SCALES = ((re.compile(rf"(?:{JI}|多少)个?(?:月|周|星期|礼拜)"), re.compile(r"^(?!当).*(?:月|天|日|周|星期|年|工作日)")),
                    (re.compile(rf"(?:{JI}|多少)个?(?:小时|钟头)"), re.compile(r"小时|分钟|当场")))
_HELD_BY = {"money": _RE_MONEY, "price": _RE_PRICE, "phone": _RE_PHONE, "clock": _RE_CLOCK, "address": _RE_ADDRESS, "legal": _RE_LEGAL,
            "duration": _RE_DURATION, "procedure": _RE_PROCEDURE, "frequency": _RE_FREQUENCY, "service": RE_SERVICE,
            "location": _RE_LOCATION}


def phone_numbers(text: str) -> list[str]:
    """The phone numbers in ``text`` (five digits or more that count nothing: 12351, 0515-88888888), in order, once each."""
    return list(dict.fromkeys(_RE_PHONE.findall(text)))


def figures(text: str) -> list[str]:
    """Numbers with a unit in ``text`` (digits first; dates are not figures)."""
    plain = RE_DATE.sub(" ", text)
    return RE_DIGIT_FIGURE.findall(plain) or RE_FIGURE.findall(plain)


def names_listed(text: str) -> bool:
    """``text`` lists two names or more, one after the other (张三、李四; 江苏恒升物业公司、巨港汽车零部件公司),
    not figures (全国劳模12人、省劳模165人) or actions (改善一线职工生产环境、加强高技能人才薪酬激励)."""
    for clause in re.split(r"[,，。;；:：!！?？]", text):
        items = [i.strip("“”\"《》「」 等") for i in clause.split("、")]
        # the first item runs from the clause's start (开展了电工、焊工: its name is its end), the last to its end
        items[0] = items[0][-9:] if len(items) > 1 else items[0]
        items[-1] = re.split(r"等|和|及", items[-1])[0] if len(items) > 1 else items[-1]
        if any(_RE_NAME_ITEM.fullmatch(a) and _RE_NAME_ITEM.fullmatch(b) for a, b in zip(items, items[1:])):
            return True
    return False


def holds(slot: str, text: str, *, unit: str = "", focus: str = "", asked: str = "") -> bool:
    """Does ``text`` hold the thing a question with this ``slot`` asks for?  (``focus``: the noun
    of a focus or which question: 哪个县 → 县, held by 泗洪县; ``asked``: the question, whose own
    places do not answer 哪个地方.)"""
    if slot == "which":
        if focus in WHICH_PLACES:  # 哪个地方: a place's name (北京), not a word ending in 方
            from .names import places_in

            return bool(places_in(text, besides=asked))
        ends = WHICH_NOUNS.get(focus, (focus[-1],)) if focus else ()
        return any(_named(e, text, asked=e == focus) for e in ends)
    if slot == "figure":
        # a figure the question quotes answers nothing (那280件工单里欠薪的占多少件, 江都那12个全国劳模)
        quoted = set(_RE_NUMBER.findall(asked))
        figs = [f for f in figures(text) if _RE_NUMBER.match(f).group() not in quoted]
        if not unit or unit == "个":  # 几个 is answered by 5家, 8支 …
            return bool(figs)
        units = (unit, *SAME_UNITS.get(unit, ()))
        return any(u in f.replace("％", "%") for f in figs for u in units)
    if slot == "date":
        if _RE_NEXT_TIME.search(asked):  # 下回啥时候再来: a date to come, or how often it is held; not the day it was
            return bool(_RE_FREQUENCY.search(text) or (_RE_FUTURE.search(text) and RE_DATE.search(text)))
        if focus == "日":  # 哪天/几号: a day, not a year
            return bool(_RE_DAY.search(text))
        return bool(RE_DATE.search(text) or re.search(r"今年|去年|前年", text))
    if slot == "person":
        names = _person_names(text)
        if focus:  # 主席是谁: the name stands next to the role (主席汤云庆, 党组书记、主席邱永泉, 张友良…主席); a 副主席 is no 主席
            role = rf"(?<!副){re.escape(focus)}" if not focus.startswith("副") else re.escape(focus)  # 副主席 is no 主席
            return any(re.search(rf"{role}[^。,，;；]{{0,6}}?{re.escape(n)}|{re.escape(n)}[^。,，]{{0,12}}{role}", text)
                       for n in names)
        return bool(names)
    if slot == "identity":
        return bool(focus) and focus in re.sub(r"\s+", "", text)
    if slot == "members":  # the names, listed where the group the question counts is (那30家…: a sentence with 30家)
        found = list(RE_MEMBERS.finditer(asked))
        counts = [next(g for g in m.groups() if g) for m in found]
        # people counted (那四个劳模都叫啥名字) are named by people's names, not by 质量预防、质量控制 in their sentence
        people = any(_RE_PEOPLE.search(m.group()) for m in found)
        return any(names_listed(s) and any(c in s for c in counts) and (not people or _person_names(s))
                   for s in re.split(r"(?<=[。!！?？;；])", text))
    if slot == "name":
        noun = _RE_NAME_OF.search(asked)
        if noun:  # 那个服装公司叫啥名: a named 公司 (“金地瓜”维权服务平台), not 县某服装公司 (withheld), a person or a document
            kind = re.escape(noun.group(1))
            return bool(re.search(rf"[”》」][\u4e00-\u9fff]{{0,6}}{kind}", text)) or _named(noun.group(1), text)
        return bool(re.search(r"[“《「]", text) or _person_names(text))
    if slot == "duration" and unit in _DURATION_UNITS:  # 多少天 is not answered by 近三年
        return any(re.search(_DURATION_UNITS[unit], m.group()) for m in _RE_DURATION.finditer(text))
    if slot == "duration" and (scale := next((held for ask, held in _DURATION_SCALES if ask.search(asked)), None)):
        return any(scale.search(m.group()) for m in _RE_DURATION.finditer(text))
    if slot in _HELD_BY:
        return bool(_HELD_BY[slot].search(text))
    if slot == "focus":
        words = (focus, focus[-2:], *SYNONYMS.get(focus, ()), *SYNONYMS.get(focus[-2:], ()))
        return any(w in text for w in words) or (focus in ("名字", "名称") and "“" in text)
    return False


_NAME_TAGS = ("ns", "nr", "nt", "nz")  # jieba's tags of places, people, organisations and other names


def _named(noun: str, text: str, asked: bool = False) -> bool:
    """``text`` names a ``noun``: a name-like word right before it (泗洪县, 恒升物业公司), without 某
    (县某服装公司 and 泗洪县某建设工地 withhold the name) or 该/这/其 … (该公司 refers back) in the words
    before it, and not a word of another kind (为公司负责人讲解: 为 is no name).  ``asked``: the noun
    is the one-character noun the question asks for (哪个队), not the last character of a longer one
    (公司's 司, which ends 有限公司)."""
    from .tokens import dictionary_frequency, tag

    for m in re.finditer(rf"([\u4e00-\u9fff]{{1,6}}){re.escape(noun)}", text):
        if _NOT_A_NAME.search(m.group(1)):
            continue
        if len(noun) == 1:  # 泗洪县: 县 ends the name
            if asked:  # 哪个队/哪个县: not when it ends a common word no name comes before (8支球队, 对全县)
                words = tag(m.group(1) + noun)
                last, before = words[-1], words[-2] if len(words) > 1 else ("", "")
                if (len(last[0]) > 1 and last[1] not in _NAME_TAGS and dictionary_frequency(last[0]) > 0
                        and before[1] not in _NAME_TAGS):
                    continue
            return True
        words = tag(m.group(1))
        if words and words[-1][1][:1] in ("n", "j"):
            return True
    return False


def _person_names(text: str) -> list[str]:
    from .tokens import tag

    return [w for w, f in tag(text) if f == "nr" and 2 <= len(w) <= 4]
