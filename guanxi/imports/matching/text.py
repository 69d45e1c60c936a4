"""Text normalisation for matching: name parts in pinyin, company cores, places, streets.

Pure functions, memoised per distinct string: an import of a million rows sees far fewer
distinct names, companies and streets than rows, and pinyin is the expensive part.
"""

import re
import unicodedata
from functools import lru_cache

from guanxi.customers.cleaning import fold, name_keys

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_ALL_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]{1,8}")
_WORD = re.compile(r"[0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _words(text: str) -> list[str]:
    return text.split()


# Two-character surnames: 欧阳娜娜 is 欧阳 + 娜娜, not 欧 + 阳娜娜.
COMPOUND_SURNAMES = frozenset(
    _words(
        "欧阳 上官 司马 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 端木 轩辕 "
        "独孤 南宫 西门 百里 呼延 万俟 申屠 钟离 澹台 闻人 东郭 公冶 太史 濮阳 淳于 单于 "
        "赫连 拓跋"
    )
)
# Forms of address that are not part of the name: 张先生, 王女士, Mr Smith.
_HONORIFICS_ZH = ("先生", "女士", "小姐", "太太", "夫人")
_HONORIFICS_EN = frozenset(_words("mr mrs ms miss dr prof sir madam"))
_HONORIFIC_GENDER = {"先生": "m", "女士": "f", "小姐": "f", "太太": "f", "夫人": "f"}
_EN_TITLE_GENDER = {"mr": "m", "sir": "m", "mrs": "f", "ms": "f", "miss": "f", "madam": "f"}


def honorific_gender(name: str) -> str:
    """The gender a form of address gives away: 张先生 → "m", "Mrs Smith" → "f"."""
    if name[-1:] in _HONORIFIC_LAST:
        text = fold(name).lower()
        for honorific, gender in _HONORIFIC_GENDER.items():
            if text.endswith(honorific) and len(text) > len(honorific):
                return gender
    if " " not in name and "." not in name:
        return ""
    text = fold(name).lower()
    first = text.split(" ", 1)[0].rstrip(".")
    return _EN_TITLE_GENDER.get(first, "") if " " in text else ""


_HONORIFIC_LAST = frozenset(h[-1] for h in _HONORIFIC_GENDER)


def is_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=20_000)
def char_pinyin(char: str) -> str:
    """Tone-less pinyin of one character, with the project's surname readings (单 → shan)."""
    return name_keys(char)[0] or char


def _cjk_parts(run: str) -> list[str]:
    """张小明 → ["zhang", "xiaoming"]: surname, then the given name as one word."""
    syllables = [char_pinyin(c) for c in run]
    if len(run) < 2:
        return ["".join(syllables)]
    cut = 2 if run[:2] in COMPOUND_SURNAMES and len(run) > 2 else 1
    return ["".join(syllables[:cut]), "".join(syllables[cut:])]


@lru_cache(maxsize=100_000)
def name_parts(name: str) -> tuple[str, tuple[str, ...]]:
    """(folded lower-case name, name parts in pinyin / latin words).

    A Chinese name gives its surname and given name in pinyin, so that 张小明, "Zhang Xiaoming",
    "XiaoMing Zhang" and 章小明 (a homophone) all give the parts zhang + xiaoming.
    """
    if _ALL_CJK.fullmatch(name) and not name.endswith(_HONORIFICS_ZH):
        return name, tuple(_cjk_parts(name))  # the common case, 张小明: nothing to fold
    return _name_parts_slow(name)


def _name_parts_slow(name: str) -> tuple[str, tuple[str, ...]]:
    text = fold(_CAMEL.sub(" ", fold(name)))
    for honorific in _HONORIFICS_ZH:
        if text.endswith(honorific) and len(text) > len(honorific):
            text = text[: -len(honorific)]
    low = text.lower()
    parts: list[str] = []
    pos = 0
    for match in _CJK_RUN.finditer(low):
        parts += _latin_words(low[pos : match.start()])
        parts += _cjk_parts(match.group())
        pos = match.end()
    parts += _latin_words(low[pos:])
    if len(parts) > 1 and parts[0] in _HONORIFICS_EN:
        parts = parts[1:]
    return " ".join(low.split()), tuple(parts)


def _latin_words(text: str) -> list[str]:
    if not text.strip():
        return []
    return _WORD.findall(strip_accents(text))


# Places that qualify a company name (北京阿里巴巴…, 阿里巴巴（上海）…): provinces and the
# larger cities. A place inside a name is dropped only at the start or in brackets.
PROVINCES = _words(
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 "
    "湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 "
    "香港 澳门"
)
CITIES = _words(
    "石家庄 唐山 保定 太原 大同 沈阳 大连 鞍山 长春 哈尔滨 大庆 南京 无锡 徐州 常州 苏州 "
    "南通 扬州 镇江 泰州 盐城 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 台州 义乌 合肥 芜湖 "
    "蚌埠 福州 厦门 泉州 漳州 南昌 赣州 济南 青岛 淄博 烟台 潍坊 济宁 临沂 威海 郑州 "
    "洛阳 开封 武汉 宜昌 襄阳 长沙 株洲 湘潭 岳阳 广州 深圳 珠海 汕头 佛山 东莞 中山 "
    "惠州 江门 湛江 南宁 柳州 桂林 海口 三亚 成都 绵阳 贵阳 遵义 昆明 西安 咸阳 兰州 "
    "西宁 银川 乌鲁木齐 呼和浩特 包头 拉萨 昆山 常熟 张家港 江阴"
)
_PLACE_NAMES = sorted({*PROVINCES, *CITIES, "中国", "中华"}, key=len, reverse=True)
_PLACE_PREFIX = re.compile(
    "^(?:" + "|".join(_PLACE_NAMES) + ")(?:省|市|自治区|特别行政区|壮族自治区|回族自治区)?"
)
# 广州市白云区明远厂: a district right after a stripped city is a place qualifier too.
_DISTRICT_PREFIX = re.compile(f"^[{_CJK}]{{1,3}}?(?:新区|区|县)")
_BRACKETS = re.compile(r"[(\[（【〔][^)\]）】〕]*[)\]）】〕]")
# Longest first, so that 股份有限公司 goes in one piece rather than leaving 股份.
_ZH_SUFFIXES = sorted(
    _words(
        "有限责任公司 股份有限公司 有限公司 股份公司 集团公司 控股公司 总公司 分公司 公司 "
        "集团 控股 股份 有限 分店 总店 门店 分厂 总厂 厂 商行 经营部 营业部 办事处"
    ),
    key=len,
    reverse=True,
)
_EN_SUFFIXES = frozenset(
    _words(
        "co company corp corporation inc incorporated ltd limited llc llp lp plc gmbh ag sa "
        "sas sarl bv nv pte pty kk group holdings holding intl international"
    )
)
_PUNCT = re.compile(r"[\s.,，。、·&+\-_/\\'\"“”‘’:：;；!！?？*#@]+")


_ZH_SUFFIX = re.compile("(?:" + "|".join(_ZH_SUFFIXES) + ")$")
_PLACE_SUFFIX = re.compile("(?:" + "|".join(_PLACE_NAMES) + ")$")


@lru_cache(maxsize=200_000)
def company_core(name: str) -> str:
    """The distinctive part of a company name, without legal form or place qualifiers.

    北京阿里巴巴科技有限公司, 阿里巴巴（北京）科技有限公司 and 阿里巴巴科技 all give 阿里巴巴科技;
    "Pacific Rim Trading Co., Ltd." gives "pacific rim trading".
    """
    text = _BRACKETS.sub(" ", fold(name).lower())
    if is_cjk(text):
        text = _PUNCT.sub("", text)
        while text:
            before = text
            stripped = _PLACE_PREFIX.sub("", text)
            if stripped and stripped != text:
                text = stripped
                stripped = _DISTRICT_PREFIX.sub("", text)
                if len(stripped) >= 2:
                    text = stripped
            stripped = _ZH_SUFFIX.sub("", text)
            if stripped and stripped != text:
                text = stripped
                # 阿里巴巴有限公司北京分公司: once 分公司 goes, a trailing place is a branch.
                stripped = _PLACE_SUFFIX.sub("", text)
                if len(stripped) >= 2:
                    text = stripped
            if text == before:
                break
        return text
    words = _WORD.findall(strip_accents(text))
    while len(words) > 1 and words[-1] in _EN_SUFFIXES:
        words.pop()
    return " ".join(words)


_PROVINCE_SUFFIX = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|自治州|盟)$")


@lru_cache(maxsize=50_000)
def province_key(text: str) -> str:
    text = fold(text).lower()
    stripped = _PROVINCE_SUFFIX.sub("", text)
    return stripped or text


@lru_cache(maxsize=50_000)
def city_key(text: str) -> str:
    text = fold(text).lower()
    stripped = _CITY_SUFFIX.sub("", text)
    return stripped or text


@lru_cache(maxsize=50_000)
def district_key(text: str) -> str:
    return fold(text).lower().replace(" ", "")


_STREET_TOKEN = re.compile(f"[0-9]+|[a-z]+|[{_CJK}]+")
# 朝阳区建国路: a district before the road (浦东新区, 江北区, 昆山县…).
_STREET_DISTRICT = re.compile(f"^[{_CJK}]{{1,3}}(?:新区|区|县)(?=[{_CJK}]{{2}})")


@lru_cache(maxsize=20_000)
def street_key(street: str, places: tuple[str, ...] = ()) -> str:
    """Street as space-separated tokens: 朝阳区建国路88号3单元 → "建国路 88 号 3 单元".

    A leading province, city or district (those of the record, the larger cities, or a
    district name ending in 区 / 县) is dropped: the other address fields say it.
    """
    text = fold(street).lower()
    if text[:1] in _CJK_FIRST:
        forms = _place_forms(places)
        changed = True
        while changed:
            changed = False
            for form in forms:
                if text.startswith(form) and len(text) > len(form):
                    text, changed = text[len(form) :], True
            if text[:1] in _PLACE_FIRST:
                stripped = _PLACE_PREFIX.sub("", text)
                if stripped and stripped != text:
                    text, changed = stripped, True
        if "区" in text[:5] or "县" in text[:5]:
            stripped = _STREET_DISTRICT.sub("", text)
            if len(stripped) >= 2:
                text = stripped
    return " ".join(_STREET_TOKEN.findall(text))


@lru_cache(maxsize=10_000)
def _place_forms(places: tuple[str, ...]) -> tuple[str, ...]:
    """The ways a street may start with the record's own places: 北京, 北京市, 北京省…
    Only Chinese place names: "sa" (South Australia) must not eat "sandy road"."""
    forms = {p + s for p in places if p and is_cjk(p) for s in ("", "省", "市")}
    return tuple(sorted(forms, key=len, reverse=True))


class _CjkStart:
    """`text[:1] in _CJK_FIRST`: does the text start with a Chinese character?"""

    def __contains__(self, char: str) -> bool:
        return bool(char) and "\u3400" <= char <= "\u9fff"


_CJK_FIRST = _CjkStart()
_PLACE_FIRST = frozenset(name[0] for name in _PLACE_NAMES)


_ID_NOISE = re.compile(r"[\s\-_.]+")


def id_key(text: str) -> str:
    return _ID_NOISE.sub("", fold(str(text))).upper()
