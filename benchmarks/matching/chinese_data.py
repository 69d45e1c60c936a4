"""A generated Chinese customer file with known duplicates and hard negatives.

Deterministic for a seed. Customers are people (most) and companies, drawn from the demo
data pools (surnames, places, roads, company brands) with a skewed given-name distribution,
so that common names (张伟, 王芳) recur as they do in real files. Then:

- duplicates (about `duplicate_rate` of the records): copies of a customer with typos,
  homophone characters (same pinyin, another character), the name in pinyin ("Zhang Wei",
  "Wei Zhang", "ZHANG wei"), 张先生 for 张伟, phones missing / a second number / one digit
  changed (phones are E.164, as the importer normalises them first), company suffixes
  (有限公司 / 股份有限公司 / （北京） / none), address written with or without city and district,
  a new address or a new phone number, missing fields;
- hard negatives, as customers of their own: namesakes (another person with the same
  common name such as 张伟, often in the same city), the same company name in another city, family
  members sharing a phone or an address (same surname, other given name and birthday).

`generate(n, seed=…)` returns (records, entity ids): records i and j are the same customer
exactly when entity[i] == entity[j].
"""

import importlib.util
import random
from datetime import date, timedelta
from pathlib import Path

import guanxi
from guanxi.imports.matching.text import char_pinyin


def _demo_pools():
    """guanxi/demo/pools.py, plain data, loaded without the demo package (which needs Django
    models, and so a configured project)."""
    path = Path(guanxi.__file__).parent / "demo" / "pools.py"
    spec = importlib.util.spec_from_file_location("guanxi_demo_pools", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_pools = _demo_pools()
BRANDS = _pools.BRANDS
COMPANY_TRADES = _pools.COMPANY_TRADES
EMAIL_DOMAINS = _pools.EMAIL_DOMAINS
FEMALE_CHARS = _pools.FEMALE_CHARS
MALE_CHARS = _pools.MALE_CHARS
MOBILE_PREFIXES = _pools.MOBILE_PREFIXES
PLACES = _pools.PLACES
ROADS = _pools.ROADS
SURNAME_POOL = _pools.SURNAME_POOL


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The most common given names, most common first (a Zipf-like weight is applied below).
COMMON_GIVEN_MALE = _names(
    "伟 强 磊 军 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 波 斌 建华 建国 志强 海 鑫 浩 宇 俊"
)
COMMON_GIVEN_FEMALE = _names(
    "芳 娜 敏 静 丽 艳 娟 霞 秀英 桂英 秀兰 玲 燕 婷 雪 慧 红 梅 琳 颖 倩 丹 萍 洁"
)
AREA_CODES = {
    "北京市": "10",
    "上海市": "21",
    "广州市": "20",
    "深圳市": "755",
    "佛山市": "757",
    "杭州市": "571",
    "宁波市": "574",
    "南京市": "25",
    "苏州市": "512",
    "成都市": "28",
    "武汉市": "27",
    "西安市": "29",
    "重庆市": "23",
    "天津市": "22",
    "厦门市": "592",
    "福州市": "591",
    "青岛市": "532",
    "济南市": "531",
    "长沙市": "731",
    "郑州市": "371",
    "合肥市": "551",
}
SUFFIX_FORMS = ("有限公司", "有限公司", "股份有限公司", "有限责任公司", "", "集团有限公司")


def _char_pool():
    chars = set(MALE_CHARS + FEMALE_CHARS)
    chars |= set("".join(COMMON_GIVEN_MALE + COMMON_GIVEN_FEMALE))
    # Characters that sound like the pools' characters: the material for homophone errors.
    chars |= set("炜玮薇维巍卫蔚纬芬方放访坊纳那钠民闵静靖婧晶菁丽莉俐立力利艳燕雁彦娟鹃隽军君钧俊")
    chars |= set(
        "杰洁捷婕涛滔韬鸣铭茗名超潮朝平萍苹评刚钢纲辉慧惠晖鹏朋蓬华桦骅飞菲霏斐波博柏斌彬滨"
    )
    chars |= set("宇雨语羽浩昊皓颢明敏霞侠夏婷亭庭雪学薛琳林霖颖影英倩茜谦丹单聪梅美玫红虹鸿")
    return sorted(chars)


def _sound_maps():
    """Characters by pinyin (homophones) and by pinyin one letter apart (typing slips)."""
    by_sound: dict[str, list[str]] = {}
    for c in _char_pool():
        by_sound.setdefault(char_pinyin(c), []).append(c)
    sounds = sorted(by_sound)
    near: dict[str, list[str]] = {}
    for s in sounds:
        for t in sounds:
            if s != t and _one_edit(s, t):
                near.setdefault(s, []).extend(by_sound[t])
    return by_sound, near


def _one_edit(s: str, t: str) -> bool:
    if abs(len(s) - len(t)) > 1:
        return False
    if len(s) == len(t):
        return sum(a != b for a, b in zip(s, t, strict=True)) == 1
    short, long_ = (s, t) if len(s) < len(t) else (t, s)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _zipf(items, exponent=1.0):
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(items))]
    return list(items), weights


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.by_sound, self.near = _sound_maps()
        male_rare = [a + b for a in MALE_CHARS for b in MALE_CHARS if a != b]
        female_rare = [a + b for a in FEMALE_CHARS for b in FEMALE_CHARS if a != b]
        self.rng.shuffle(male_rare)
        self.rng.shuffle(female_rare)
        # Common names first (Zipf weights), then a long tail of two-character names.
        self.given = {
            "m": _zipf(list(COMMON_GIVEN_MALE) + male_rare[:3000], 0.9),
            "f": _zipf(list(COMMON_GIVEN_FEMALE) + female_rare[:3000], 0.9),
        }
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.common_given = set(COMMON_GIVEN_MALE + COMMON_GIVEN_FEMALE)
        self.common_name_people: list[dict] = []

    # --- customers ----------------------------------------------------------------------

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return "+86" + number

    def landline(self, city: str) -> str:
        area = AREA_CODES.get(city, "10")
        digits = 8 if len(area) == 2 else 7
        return f"+86{area}{self.rng.randrange(2 * 10 ** (digits - 1), 10**digits)}"

    def place(self, city: str | None = None):
        places = [p for p in PLACES if p[1] == city] if city else PLACES
        province, city, postcode, districts = self.rng.choice(places)
        district = self.rng.choice(districts)
        number = self.rng.randint(1, 999)
        street = f"{self.rng.choice(ROADS)}{number}号"
        if self.rng.random() < 0.4:
            street += (
                f"{self.rng.randint(1, 30)}栋{self.rng.randint(1, 6)}0{self.rng.randint(1, 9)}"
            )
        postcode = postcode + f"{self.rng.randint(0, 999):03d}"
        return {
            "province": province,
            "city": city,
            "district": district,
            "street": street,
            "postcode": postcode,
        }

    def birthday(self) -> date:
        return date(1950, 1, 1) + timedelta(days=self.rng.randrange(365 * 55))

    def id_number(self, birthday: date, gender: str) -> str:
        serial = self.rng.randrange(0, 1000)
        if (serial % 2 == 1) != (gender == "m"):
            serial = (serial + 1) % 1000
        body = f"{self.rng.randrange(110000, 660000)}{birthday:%Y%m%d}{serial:03d}"
        return body + self.rng.choice("0123456789X")

    def person(self, *, surname=None, given=None, gender=None, home=None):
        rng = self.rng
        gender = gender or rng.choice("mf")
        surname = surname or rng.choice(SURNAME_POOL)
        if given is None:
            names, weights = self.given[gender]
            given = rng.choices(names, weights)[0]
        entity = {
            "kind": "person",
            "surname": surname,
            "given": given,
            "gender": gender,
            "phones": [self.mobile()] if rng.random() < 0.92 else [],
        }
        if entity["phones"] and rng.random() < 0.2:
            entity["phones"].append(self.mobile())
        if rng.random() < 0.65:
            entity["birthday"] = self.birthday()
        if rng.random() < 0.35:
            local = "".join(char_pinyin(c) for c in surname + given)
            email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
            # A mailbox belongs to one person: zhangwei@qq.com taken, zhangwei1988@qq.com.
            while rng.random() < 0.6 or email in self.used_emails:
                email = f"{local}{rng.randint(1, 9999)}@{email.partition('@')[2]}"
            self.used_emails.add(email)
            entity["emails"] = [email]
        if "birthday" in entity and rng.random() < 0.15:
            entity["id_number"] = self.id_number(entity["birthday"], gender)
        if home or rng.random() < 0.75:
            entity.update(home or self.place())
            if not home and rng.random() > 0.45:
                entity.pop("postcode")
            if not home and rng.random() < 0.15:  # only the city is known
                for key in ("district", "street", "postcode"):
                    entity.pop(key, None)
        if rng.random() < 0.25:
            entity["company_name"] = self.company_name(rng.choice(PLACES)[1])
        if given in self.common_given:
            self.common_name_people.append(entity)
        return entity

    def company_name(self, city: str, core: str | None = None) -> str:
        rng = self.rng
        if core is None:
            trade = rng.choice(COMPANY_TRADES)[0]
            core = rng.choice(BRANDS) + trade
        prefix = city.removesuffix("市")
        return (
            f"{prefix}{core}{rng.choice(('有限公司', '有限公司', '股份有限公司', '有限责任公司'))}"
        )

    def company(self, *, core=None):
        rng = self.rng
        place = self.place()
        if core is None:
            core = rng.choice(BRANDS) + rng.choice(COMPANY_TRADES)[0]
        entity = {
            "kind": "company",
            "core": core,
            "name": self.company_name(place["city"], core),
            "phones": [self.landline(place["city"])],
            **place,
        }
        if rng.random() < 0.5:
            entity["phones"].append(self.mobile())
        if rng.random() < 0.5:
            letters = "".join(char_pinyin(c)[0] for c in core)
            entity["emails"] = [f"info@{letters}{rng.randint(1, 9999)}.com"]
        if rng.random() > 0.5:
            entity.pop("postcode")
        return entity

    # --- the record a customer is written as ------------------------------------------

    def record(self, entity, *, first=False) -> dict:
        record = {k: v for k, v in entity.items() if k not in ("surname", "given", "core")}
        if entity["kind"] == "person":
            record["name"] = entity["surname"] + entity["given"]
            # Files from English-language systems write names in pinyin, and clerks write
            # 张先生: such records exist whether or not the customer has a duplicate.
            if first and self.rng.random() < 0.05:
                record["name"] = self.pinyin_name(entity)
            elif first and self.rng.random() < 0.02:
                record["name"] = self.honorific_name(entity)
        record["phones"] = list(entity.get("phones", []))
        if "emails" in entity:
            record["emails"] = list(entity["emails"])
        if "birthday" in entity:
            record["birthday"] = entity["birthday"].isoformat()
        return record

    def duplicate(self, entity) -> dict:
        """Another record of the same customer, as a second file or a careless clerk writes it."""
        rng = self.rng
        record = self.record(entity)
        if entity["kind"] == "person" and rng.random() < 0.55:
            record["name"] = self.name_variant(entity)
        if entity["kind"] == "company" and rng.random() < 0.7:
            record["name"] = self.company_variant(entity)
        self.phone_variant(record)
        for key, p in (("emails", 0.3), ("birthday", 0.3), ("gender", 0.3), ("id_number", 0.3)):
            if key in record and rng.random() < p:
                record.pop(key)
        if "birthday" in record and rng.random() < 0.12:
            record["birthday"] = self.birthday_variant(entity["birthday"])
        if "id_number" in record and rng.random() < 0.05:
            digits = list(record["id_number"])
            k = rng.randrange(len(digits) - 1)
            digits[k] = str((int(digits[k]) + 1) % 10)
            record["id_number"] = "".join(digits)
        if "company_name" in record:
            if rng.random() < 0.3:
                record.pop("company_name")
            elif rng.random() < 0.5:
                record["company_name"] = self.suffix_variant(record["company_name"])
        self.address_variant(record)
        return record

    def name_variant(self, entity) -> str:
        rng = self.rng
        surname, given = entity["surname"], entity["given"]
        roll = rng.random()
        if roll < 0.3:  # a homophone: same pinyin, another character
            return surname + self.replace_char(given, self.by_sound)
        if roll < 0.45:  # a typing slip: pinyin one letter off
            return surname + self.replace_char(given, self.near)
        if roll < 0.8:  # written in pinyin
            return self.pinyin_name(entity)
        if roll < 0.88:  # surname and a form of address
            return self.honorific_name(entity)
        if roll < 0.94:  # a character dropped or doubled
            return surname + (given[:1] if len(given) > 1 else given + given)
        return surname + self.replace_char(given, None)

    def pinyin_name(self, entity) -> str:
        family = "".join(char_pinyin(c) for c in entity["surname"]).capitalize()
        first = "".join(char_pinyin(c) for c in entity["given"]).capitalize()
        form = self.rng.randrange(5)
        if form == 0:
            return f"{family} {first}"
        if form == 1:
            return f"{first} {family}"
        if form == 2:
            return f"{family.upper()} {first}"
        if form == 3:
            return f"{family.lower()} {first.lower()}"
        return f"{first}{family}"

    def honorific_name(self, entity) -> str:
        return entity["surname"] + ("先生" if entity["gender"] == "m" else "女士")

    def replace_char(self, given: str, sounds) -> str:
        rng = self.rng
        k = rng.randrange(len(given))
        char = given[k]
        if sounds is None:
            options = _char_pool()
        else:
            options = [c for c in sounds.get(char_pinyin(char), []) if c != char]
        if not options:
            options = [c for c in self.by_sound.get(char_pinyin(char), []) if c != char]
        if not options:
            return given
        return given[:k] + rng.choice(options) + given[k + 1 :]

    def company_variant(self, entity) -> str:
        rng = self.rng
        city = entity["city"].removesuffix("市")
        core = entity["core"]
        form = rng.randrange(5)
        if form == 0:
            return f"{core}（{city}）{rng.choice(SUFFIX_FORMS)}"
        if form == 1:
            return f"{core}{rng.choice(SUFFIX_FORMS)}"
        if form == 2:
            return f"{city}{core}{rng.choice(SUFFIX_FORMS)}"
        if form == 3:
            return f"{city}市{core}{rng.choice(SUFFIX_FORMS)}"
        return core

    def suffix_variant(self, name: str) -> str:
        for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
            if name.endswith(suffix):
                return name[: -len(suffix)] + self.rng.choice(SUFFIX_FORMS)
        return name

    def phone_variant(self, record):
        rng = self.rng
        phones = record.get("phones", [])
        roll = rng.random()
        if not phones or roll < 0.5:
            return
        if roll < 0.65:
            record["phones"] = []
        elif roll < 0.8:
            record["phones"] = phones + [self.mobile()]
        elif roll < 0.92:
            number = list(phones[0])
            k = rng.randrange(4, len(number))
            number[k] = str((int(number[k]) + rng.randint(1, 9)) % 10)
            record["phones"] = ["".join(number)] + phones[1:]
        elif roll < 0.96:  # a new number: the old one is gone
            record["phones"] = [self.mobile()]
        elif len(phones) > 1:
            record["phones"] = phones[1:]

    def birthday_variant(self, birthday: date) -> str:
        rng = self.rng
        y, m, d = birthday.year, birthday.month, birthday.day
        roll = rng.randrange(3)
        if roll == 0 and d <= 12:
            m, d = d, m
        elif roll == 1:
            y += rng.choice((-1, 1, -10, 10))
        else:
            d = min(28, max(1, d + rng.choice((-1, 1))))
        return f"{y:04d}-{m:02d}-{d:02d}"

    def address_variant(self, record):
        rng = self.rng
        if "city" not in record:
            return
        roll = rng.random()
        if roll < 0.15:
            for key in ("province", "city", "district", "street", "postcode"):
                record.pop(key, None)
            return
        if roll < 0.2:  # only the city written down
            for key in ("district", "street", "postcode"):
                record.pop(key, None)
            return
        if roll < 0.25:  # moved house
            record.update(self.place())
            return
        if roll < 0.3:
            record.pop("district", None)
        elif roll < 0.45 and "street" in record:
            record["street"] = record["city"] + record.get("district", "") + record["street"]
        elif roll < 0.55 and "street" in record:
            record["street"] = record["street"].replace("号", "", 1)
        if "postcode" in record and rng.random() < 0.3:
            record.pop("postcode")
        if rng.random() < 0.2:
            record.pop("province", None)


def generate(
    n: int = 20_000,
    *,
    seed: int = 2024,
    duplicate_rate: float = 0.1,
    hard_negative_rate: float = 0.06,
    company_share: float = 0.12,
) -> tuple[list[dict], list[int]]:
    """`n` records with ~duplicate_rate duplicates; returns (records, entity id per record)."""
    g = Generator(seed)
    rng = g.rng
    n_duplicates = int(n * duplicate_rate)
    n_entities = n - n_duplicates
    entities = []
    while len(entities) < n_entities:
        roll = rng.random()
        if entities and roll < hard_negative_rate:
            entities.append(_hard_negative(g, rng.choice(entities)))
        elif roll < hard_negative_rate + company_share:
            entities.append(g.company())
        else:
            entities.append(g.person())
    records = [g.record(e, first=True) for e in entities]
    owners = list(range(len(entities)))
    for _ in range(n_duplicates):
        k = rng.randrange(len(entities))
        records.append(g.duplicate(entities[k]))
        owners.append(k)
    order = list(range(len(records)))
    rng.shuffle(order)
    return [records[i] for i in order], [owners[i] for i in order]


def _hard_negative(g: Generator, other: dict) -> dict:
    """A different customer that looks like `other`."""
    rng = g.rng
    if other["kind"] == "company":  # the same company name in another city
        twin = g.company(core=other["core"])
        while twin["city"] == other["city"]:
            twin = g.company(core=other["core"])
        return twin
    roll = rng.random()
    if roll < 0.4 and g.common_name_people:  # a namesake with a common name, often nearby
        other = rng.choice(g.common_name_people)
        home = None
        if "city" in other and rng.random() < 0.5:
            home = g.place(other["city"])
        return g.person(surname=other["surname"], given=other["given"], home=home)
    # A family member: same surname, sharing a phone or the home address.
    home = None
    if "street" in other:
        home = {
            k: other[k]
            for k in ("province", "city", "district", "street", "postcode")
            if k in other
        }
    relative = g.person(surname=other["surname"], home=home if roll < 0.7 else None)
    if other.get("phones") and (roll >= 0.7 or rng.random() < 0.5):
        relative["phones"] = [other["phones"][0]] + relative["phones"][:1]
    return relative
