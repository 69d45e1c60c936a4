"""Deterministic demo customers and orders, drawn from `pools`, as plain rows.

The generator is written for speed (the bulk loader asks it for a million customers): it
yields, chunk by chunk, the rows of every customer table as tuples, with the search keys
the services would store (`cleaning.name_keys` memoised per name, `build_search_text`
assembled from the same parts). The service-based loader (`story`) reads the same rows.
Each chunk of CHUNK customers has its own random generator seeded from (seed, chunk), so
the same seed always gives the same customers.
"""

import random
import time
from dataclasses import dataclass, field

from guanxi.customers.cleaning import name_keys

from . import pools

CHUNK = 10_000
DAY = 86_400
HISTORY_DAYS = 900  # customers arrive over the last ~30 months


def sqlite_time(ts: int) -> str:
    """A UTC timestamp as Django stores it on SQLite (naive UTC text)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def postgres_time(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(ts))


class NameKeys:
    """`cleaning.name_keys`, memoised: the pools repeat names, so each is converted once."""

    def __init__(self):
        self.cache: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str) -> tuple[str, str]:
        keys = self.cache.get(name)
        if keys is None:
            keys = self.cache[name] = name_keys(name)
        return keys


def cents(value: str) -> int:
    whole, _sep, frac = value.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def money(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}"


def mobile(index: int, salt: int) -> str:
    """A valid Chinese mobile number in E.164, distinct for each (index, salt) below 10^8."""
    prefixes = pools.MOBILE_PREFIXES
    prefix = prefixes[(index * 7 + salt * 13) % len(prefixes)]
    suffix = (index * 7_654_321 + salt * 31_415_927 + 12_345) % 100_000_000
    return f"+86{prefix}{suffix:08d}"


@dataclass
class CustomerBatch:
    """The rows of one chunk of customers. Ids are `id_base + index`."""

    start: int
    customers: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)
    emails: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    contacts: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)  # (customer id, tag name)
    created: list[int] = field(default_factory=list)  # per customer, epoch seconds
    n_orders: list[int] = field(default_factory=list)
    last_order: list[int] = field(default_factory=list)


# Column order of the rows (the bulk loader names them in its INSERT / COPY statements).
CUSTOMER_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "owner_id",
    "kind",
    "name",
    "name_pinyin",
    "name_initials",
    "search_text",
    "company_name",
    "gender",
    "birthday",
    "industry",
    "company_size",
    "business_scope",
    "source",
    "preferred_channel",
    "stage",
    "stage_changed_at",
    "external_id",
    "notes",
    "custom_fields",
)
PHONE_COLUMNS = ("customer_id", "number", "extension", "label", "position")
EMAIL_COLUMNS = ("customer_id", "email", "label", "position")
ADDRESS_COLUMNS = (
    "customer_id",
    "created_at",
    "updated_at",
    "label",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "is_primary",
)
CONTACT_COLUMNS = (
    "customer_id",
    "created_at",
    "updated_at",
    "name",
    "title",
    "phone",
    "email",
    "is_primary",
    "notes",
)
ORDER_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "customer_id",
    "number",
    "ordered_at",
    "status",
    "channel",
    "currency",
    "total",
    "notes",
)
LINE_COLUMNS = (
    "order_id",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "discount",
    "amount",
)

# Positions in a customer row, for readers of the rows.
C_ID, C_CREATED, C_OWNER, C_KIND, C_NAME = 0, 1, 3, 4, 5
C_STAGE = CUSTOMER_COLUMNS.index("stage")


class DemoGenerator:
    def __init__(
        self,
        *,
        seed: int,
        customers: int,
        orders: int,
        now_ts: int,
        owner_ids: list[int],
        id_base: int = 1,
        timefmt=sqlite_time,
        product_ids: dict[str, int] | None = None,
    ):
        self.seed = seed
        self.customers = customers
        self.orders = orders
        self.now_ts = now_ts
        self.owner_ids = owner_ids or [None]
        self.id_base = id_base
        self.timefmt = timefmt
        self.keys = NameKeys()
        self.sources = pools.weighted(pools.SOURCES)
        self.statuses = pools.weighted(pools.ORDER_STATUSES)
        self.channels = pools.weighted(pools.SALES_CHANNELS)
        product_ids = product_ids or {}
        self.products = [
            (product_ids.get(sku), sku, name, cat, cents(price))
            for sku, name, cat, price in pools.PRODUCTS
        ]
        self.tag_names = [t for t, _c in pools.TAGS]

    # Chunks ---------------------------------------------------------------------------------

    def chunk_count(self) -> int:
        return (self.customers + CHUNK - 1) // CHUNK

    def chunk_bounds(self, chunk_no: int) -> tuple[int, int]:
        start = chunk_no * CHUNK
        return start, min(start + CHUNK, self.customers)

    def order_budget(self, start: int, end: int) -> int:
        """Orders of customers [start, end): exact shares, so the total is exactly `orders`."""
        n, m = self.customers, self.orders
        return m * end // n - m * start // n

    def order_id_base(self, chunk_no: int, first_order_id: int) -> int:
        start, _end = self.chunk_bounds(chunk_no)
        return first_order_id + self.orders * start // self.customers

    def rng(self, kind: str, chunk_no: int) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{chunk_no}")

    # Names ----------------------------------------------------------------------------------

    def chinese_name(self, r) -> tuple[str, str]:
        surname = pools.SURNAME_POOL[int(r() * len(pools.SURNAME_POOL))]
        if r() < 0.5:
            return surname + pools.FEMALE_GIVEN[int(r() * len(pools.FEMALE_GIVEN))], "female"
        return surname + pools.MALE_GIVEN[int(r() * len(pools.MALE_GIVEN))], "male"

    def english_name(self, r) -> tuple[str, str]:
        last = pools.ENGLISH_LAST[int(r() * len(pools.ENGLISH_LAST))]
        if r() < 0.5:
            first = pools.ENGLISH_FIRST_FEMALE[int(r() * len(pools.ENGLISH_FIRST_FEMALE))]
            return f"{first} {last}", "female"
        first = pools.ENGLISH_FIRST_MALE[int(r() * len(pools.ENGLISH_FIRST_MALE))]
        return f"{first} {last}", "male"

    # Customers ------------------------------------------------------------------------------

    def customer_batch(self, chunk_no: int, tag_ids: dict[str, int] | None = None):
        """The rows of customers [start, end) of this chunk."""
        start, end = self.chunk_bounds(chunk_no)
        rng = self.rng("c", chunk_no)
        r = rng.random
        keys, fmt, now = self.keys, self.timefmt, self.now_ts
        id_base, owners = self.id_base, self.owner_ids
        n_owners = len(owners)
        sources, n_sources = self.sources, len(self.sources)
        channels = pools.PREFERRED_CHANNELS
        places, n_places = pools.PLACES, len(pools.PLACES)
        roads, n_roads = pools.ROADS, len(pools.ROADS)
        brands, trades = pools.BRANDS, pools.COMPANY_TRADES
        cities, suffixes = pools.COMPANY_CITIES, pools.COMPANY_SUFFIXES
        titles, domains = pools.CONTACT_TITLES, pools.EMAIL_DOMAINS
        person_industries = pools.PERSON_INDUSTRIES
        tag_names, n_tags = self.tag_names, len(self.tag_names)
        tag_ids = tag_ids or {}
        batch = CustomerBatch(start)
        customers, phones, emails = batch.customers, batch.phones, batch.emails
        addresses, contacts, tags = batch.addresses, batch.contacts, batch.tags
        weights = []
        for index in range(start, end):
            cid = id_base + index
            created = now - int(r() * HISTORY_DAYS * DAY) - 3600
            at = fmt(created)
            phone = mobile(index, 0)
            text = [None, None, None, phone[3:], phone[1:]]
            phones.append((cid, phone, "", "", 0))
            if r() < 0.1:
                phone2 = mobile(index, 1)
                phones.append((cid, phone2, "", "mobile", 1))
                text += (phone2[3:], phone2[1:])
            gender = birthday = external_id = None
            company_size = business_scope = ""
            if r() < 0.3:
                kind = "company"
                if r() < 0.06:
                    name = pools.ENGLISH_COMPANIES[int(r() * len(pools.ENGLISH_COMPANIES))]
                    industry, brand_py = "批发零售", "trade"
                else:
                    brand = brands[int(r() * len(brands))]
                    trade, industry = trades[int(r() * len(trades))]
                    name = (
                        cities[int(r() * len(cities))]
                        + brand
                        + trade
                        + suffixes[int(r() * len(suffixes))]
                    )
                    brand_py = keys(brand)[0]
                company_size = pools.COMPANY_SIZES[int(r() * 6)]
                business_scope = pools.SCOPES.get(industry, "")
                email = f"info@{brand_py}{index}.com"
                emails.append((cid, email, "", 0))
                text.append(email)
                for n in range(1 if r() < 0.6 else 2):
                    cname, _g = self.chinese_name(r)
                    cpy = keys(cname)[0]
                    contacts.append(
                        (
                            cid,
                            at,
                            at,
                            cname,
                            titles[int(r() * len(titles))],
                            mobile(index, 2 + n),
                            f"{cpy}@{brand_py}{index}.com",
                            n == 0,
                            "",
                        )
                    )
                    text += (cname, cpy)
            else:
                kind = "person"
                if r() < 0.12:
                    name, gender = self.english_name(r)
                    local = name.lower().replace(" ", ".")
                else:
                    name, gender = self.chinese_name(r)
                    local = None
                if r() < 0.2:
                    gender = ""
                industry = person_industries[int(r() * len(person_industries))]
                if r() < 0.7:
                    birthday = fmt(-157_766_400 + int(r() * 1_356_000_000))[:10]  # 1965–2007
                if r() < 0.75:
                    email = f"{local or keys(name)[0]}{index}@{domains[int(r() * 6)]}"
                    emails.append((cid, email, "", 0))
                    text.append(email)
            pinyin, initials = keys(name)
            text[0], text[1], text[2] = name.lower(), pinyin, initials
            if r() < 0.08:
                external_id = f"SHOP-{self.seed}-{index:08d}"
                text.append(external_id.lower())
            place = places[int(r() * n_places)]
            if r() < 0.92:
                districts = place[3]
                addresses.append(
                    (
                        cid,
                        at,
                        at,
                        "",
                        place[0],
                        place[1],
                        districts[int(r() * len(districts))],
                        f"{roads[int(r() * n_roads)]}{1 + int(r() * 880)}号",
                        f"{place[2]}{int(r() * 1000):03d}",
                        True,
                    )
                )
            if r() < 0.4:
                tag = tag_names[int(r() * n_tags)]
                tags.append((cid, tag_ids.get(tag, tag)))
                if r() < 0.25:
                    other = tag_names[int(r() * n_tags)]
                    if other != tag:
                        tags.append((cid, tag_ids.get(other, other)))
            # How much this customer buys: a quarter never do (leads), the rest a heavy tail.
            weights.append(0.0 if r() < 0.25 else rng.paretovariate(1.6))
            batch.created.append(created)
            customers.append(
                [
                    cid,
                    at,
                    at,
                    owners[index % n_owners],
                    kind,
                    name,
                    pinyin,
                    initials,
                    " ".join(text),
                    "",
                    gender or "",
                    birthday,
                    industry,
                    company_size,
                    business_scope,
                    sources[int(r() * n_sources)],
                    channels[int(r() * 6)],
                    "lead",
                    at,
                    external_id,
                    "",
                    "{}",
                ]
            )
        self._allocate_orders(batch, weights, self.order_budget(start, end), r)
        for row, stage in zip(customers, self._stages(batch), strict=True):
            row[C_STAGE] = stage
        batch.customers = [tuple(row) for row in customers]
        return batch

    def _allocate_orders(self, batch, weights, budget, r) -> None:
        n = len(weights)
        batch.n_orders = counts = [0] * n
        batch.last_order = last = [0] * n
        if not budget or not n:
            return
        total = sum(weights)
        if not total:
            weights[0] = total = 1.0
        running, given = 0.0, 0
        for i, w in enumerate(weights):
            running += w
            upto = min(budget, int(running * budget / total + 1e-9))
            counts[i], given = upto - given, upto
        counts[-1] += budget - given
        now = self.now_ts
        for i in range(n):
            if not counts[i]:
                continue
            lifetime = now - batch.created[i]
            x = r()
            if x < 0.55:
                ago = int(r() * 90 * DAY)
            elif x < 0.8:
                ago = int((90 + r() * 275) * DAY)
            else:
                ago = int((365 + r() * 365) * DAY)
            if ago >= lifetime:
                ago = int(r() * lifetime)
            last[i] = now - ago

    def _stages(self, batch):
        now = self.now_ts
        for n, last in zip(batch.n_orders, batch.last_order, strict=True):
            if not n:
                yield "lead"
                continue
            days = (now - last) // DAY
            if days <= 90:
                yield "active" if n > 1 else "new"
            elif days <= 365:
                yield "at_risk"
            else:
                yield "churned"

    # Orders ---------------------------------------------------------------------------------

    def order_rows(self, chunk_no: int, batch_info, first_order_id: int):
        """(orders, lines) rows of the customers of a chunk.

        `batch_info` is (created, n_orders, last_order) lists of that chunk's customers.
        """
        created_list, counts, lasts = batch_info
        start, _end = self.chunk_bounds(chunk_no)
        rng = self.rng("o", chunk_no)
        r = rng.random
        fmt = self.timefmt
        products, statuses, channels = self.products, self.statuses, self.channels
        n_products, n_statuses, n_channels = len(products), len(statuses), len(channels)
        order_id = self.order_id_base(chunk_no, first_order_id)
        cid = self.id_base + start
        orders, lines = [], []
        for created, n, last in zip(created_list, counts, lasts, strict=True):
            if n:
                span = max(last - created, 1)
                times = [created + int(r() * span) for _ in range(n - 1)]
                times.sort()
                times.append(last)
                for ts in times:
                    at = fmt(ts)
                    x = r()
                    n_lines = 1 if x < 0.55 else (2 if x < 0.85 else 3)
                    total = 0
                    for _ in range(n_lines):
                        pid, _sku, pname, category, unit = products[int(r() * n_products)]
                        qty = 1 if r() < 0.7 else 2 + int(r() * 4)
                        gross = unit * qty
                        discount = (gross // 1000) * 100 if r() < 0.15 else 0
                        amount = gross - discount
                        total += amount
                        lines.append(
                            (
                                order_id,
                                pid,
                                pname,
                                category,
                                qty,
                                money(unit),
                                money(discount),
                                money(amount),
                            )
                        )
                    orders.append(
                        (
                            order_id,
                            at,
                            at,
                            cid,
                            f"DM{order_id:09d}",
                            at,
                            statuses[int(r() * n_statuses)],
                            channels[int(r() * n_channels)],
                            "CNY",
                            money(total),
                            "",
                        )
                    )
                    order_id += 1
            cid += 1
        return orders, lines
