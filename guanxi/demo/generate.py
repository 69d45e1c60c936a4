"""Deterministic plans of demo customers and their history, for the service-based loader.

A plan says what a customer *is* (name, phones, places, tags, contacts) and what happened
with them (orders, interactions, tasks, how their stage moved); `story` turns plans into
records through the services. The same seed gives the same plans.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from . import pools

DAY = 86_400
HISTORY_DAYS = 900  # customers arrive over the last ~30 months


def mobile(index: int, salt: int) -> str:
    """A valid Chinese mobile number in E.164, distinct for each (index, salt) below 10^8.

    The bulk loader computes the same numbers in SQL.
    """
    prefixes = pools.MOBILE_PREFIXES
    prefix = prefixes[(index * 7 + salt * 13) % len(prefixes)]
    suffix = (index * 7_654_321 + salt * 31_415_927 + 12_345) % 100_000_000
    return f"+86{prefix}{suffix:08d}"


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


@dataclass
class OrderPlan:
    ts: int
    status: str
    channel: str
    lines: list[dict]


@dataclass
class InteractionPlan:
    ts: int
    kind: str
    channel: str
    direction: str
    subject: str
    body: str
    outcome: str
    next_step: str
    by_agent: bool


@dataclass
class TaskPlan:
    created_ts: int
    title: str
    due_ts: int
    remind_ts: int | None
    priority: str
    done: bool


@dataclass
class CustomerPlan:
    index: int
    data: dict  # what customer_create takes
    created_ts: int
    owner_slot: int
    english: bool
    contacts: list[dict] = field(default_factory=list)
    orders: list[OrderPlan] = field(default_factory=list)
    interactions: list[InteractionPlan] = field(default_factory=list)
    tasks: list[TaskPlan] = field(default_factory=list)
    stage: str = "lead"  # where the story leaves the customer
    stage_ts: int = 0


class DemoGenerator:
    def __init__(self, *, seed: int, customers: int, orders: int, now_ts: int, owners: int = 4):
        self.seed = seed
        self.customers = customers
        self.orders = orders
        self.now_ts = now_ts
        self.owners = max(owners, 1)
        self.rng = random.Random(f"{seed}:story")

    def chinese_name(self) -> tuple[str, str]:
        r = self.rng
        female = r.random() < 0.5
        given = r.choice(pools.FEMALE_GIVEN if female else pools.MALE_GIVEN)
        return r.choice(pools.SURNAME_POOL) + given, "female" if female else "male"

    def english_name(self) -> tuple[str, str]:
        r = self.rng
        female = r.random() < 0.5
        first = r.choice(pools.ENGLISH_FIRST_FEMALE if female else pools.ENGLISH_FIRST_MALE)
        return f"{first} {r.choice(pools.ENGLISH_LAST)}", "female" if female else "male"

    def plans(self) -> list[CustomerPlan]:
        """Every customer, with orders shared out exactly (`orders` in all)."""
        from guanxi.customers.cleaning import name_keys

        r = self.rng
        plans, weights = [], []
        for index in range(self.customers):
            english = False
            data = {
                "source": r.choice(pools.weighted(pools.SOURCES)),
                "preferred_channel": r.choice(pools.PREFERRED_CHANNELS),
                "phones": [mobile(index, 0)] + ([mobile(index, 1)] if r.random() < 0.1 else []),
            }
            contacts = []
            if r.random() < 0.3:
                data["kind"] = "company"
                if r.random() < 0.06:
                    name, industry, english = r.choice(pools.ENGLISH_COMPANIES), "批发零售", True
                    brand = name_keys(name)[0][:12]
                else:
                    b = r.choice(pools.BRANDS)
                    trade, industry = r.choice(pools.COMPANY_TRADES)
                    city, suffix = r.choice(pools.COMPANY_CITIES), r.choice(pools.COMPANY_SUFFIXES)
                    name, brand = city + b + trade + suffix, name_keys(b)[0]
                data.update(
                    name=name,
                    industry=industry,
                    company_size=r.choice(pools.COMPANY_SIZES),
                    business_scope=pools.SCOPES.get(industry, ""),
                    emails=[f"info@{brand}{index}.com"],
                )
                for n in range(1 if r.random() < 0.6 else 2):
                    cname, _g = self.chinese_name()
                    contacts.append(
                        {
                            "name": cname,
                            "title": r.choice(pools.CONTACT_TITLES),
                            "phone": mobile(index, 2 + n),
                            "email": f"{name_keys(cname)[0]}@{brand}{index}.com",
                            "is_primary": n == 0,
                        }
                    )
            else:
                english = r.random() < 0.12
                name, gender = self.english_name() if english else self.chinese_name()
                data.update(kind="person", name=name, gender=gender if r.random() < 0.8 else "")
                data["industry"] = r.choice(pools.PERSON_INDUSTRIES)
                if r.random() < 0.7:
                    data["birthday"] = date.fromordinal(717_000 + r.randrange(15_700))
                if r.random() < 0.75:
                    local = name.lower().replace(" ", ".") if english else name_keys(name)[0]
                    data["emails"] = [f"{local}{index}@{r.choice(pools.EMAIL_DOMAINS)}"]
            if r.random() < 0.92:
                province, city, pc, districts = r.choice(pools.PLACES)
                data["addresses"] = [
                    {
                        "province": province,
                        "city": city,
                        "district": r.choice(districts),
                        "street": f"{r.choice(pools.ROADS)}{r.randint(1, 880)}号",
                        "postcode": f"{pc}{r.randrange(1000):03d}",
                        "is_primary": True,
                    }
                ]
            if r.random() < 0.4:
                data["tags"] = sorted({r.choice(pools.TAGS)[0] for _ in range(r.choice((1, 1, 2)))})
            if r.random() < 0.08:
                data["external_id"] = f"SHOP-{self.seed}-{index:08d}"
            created = self.now_ts - 3600 - r.randrange(HISTORY_DAYS * DAY)
            plan = CustomerPlan(index, data, created, index % self.owners, english, contacts)
            weights.append(0.0 if r.random() < 0.25 else r.paretovariate(1.6))
            plans.append(plan)
        self._share_orders(plans, weights)
        for plan in plans:
            self._history(plan)
        return plans

    def _share_orders(self, plans, weights) -> None:
        total, budget = sum(weights), self.orders
        if not plans or not budget:
            return
        if not total:
            weights[0] = total = 1.0
        running, given = 0.0, 0
        for plan, w in zip(plans, weights, strict=True):
            running += w
            upto = min(budget, int(running * budget / total + 1e-9))
            plan.orders = [None] * (upto - given)
            given = upto
        plans[-1].orders += [None] * (budget - given)

    def _history(self, plan: CustomerPlan) -> None:
        r, now = self.rng, self.now_ts
        n = len(plan.orders)
        if n:
            x = r.random()
            if x < 0.55:
                ago = r.randrange(90 * DAY)
            elif x < 0.8:
                ago = r.randrange(90 * DAY, 365 * DAY)
            else:
                ago = r.randrange(365 * DAY, 730 * DAY)
            if now - ago > plan.created_ts:
                last = now - ago
            else:
                last = plan.created_ts + r.randrange(max(now - plan.created_ts, 1))
            span = max(last - plan.created_ts, 1)
            times = sorted(plan.created_ts + r.randrange(span) for _ in range(n - 1)) + [last]
            plan.orders = [self._order(ts) for ts in times]
            days = (now - last) // DAY
            if days <= 90:
                plan.stage, plan.stage_ts = ("active", times[1]) if n > 1 else ("new", last)
            elif days <= 365:
                plan.stage, plan.stage_ts = "at_risk", last + 90 * DAY
            else:
                plan.stage, plan.stage_ts = "churned", last + 365 * DAY
        # Interactions: a few per customer, in the customer's language.
        templates = pools.INTERACTIONS_EN if plan.english else pools.INTERACTIONS_ZH
        for _ in range(r.choice((0, 1, 1, 2, 2, 3, 4))):
            kind, channel, direction, subject, body, outcome, next_step = r.choice(templates)
            product = r.choice(pools.PRODUCTS)[1]
            fill = {"name": plan.data["name"], "product": product}
            plan.interactions.append(
                InteractionPlan(
                    plan.created_ts + r.randrange(max(now - plan.created_ts, 1)),
                    kind,
                    channel,
                    direction,
                    subject,
                    body.format(**fill),
                    outcome,
                    next_step,
                    by_agent=r.random() < 0.15,
                )
            )
        # Tasks: some overdue, some due soon, some done.
        if r.random() < 0.35:
            titles = pools.TASKS_EN if plan.english else pools.TASKS_ZH
            title = r.choice(titles).format(
                name=plan.data["name"], product=r.choice(pools.PRODUCTS)[1]
            )
            x = r.random()
            if x < 0.3:  # overdue
                due, remind, done = now - r.randrange(DAY, 10 * DAY), None, False
            elif x < 0.75:  # due soon, with a reminder an hour before
                due = now + r.randrange(3600 * 2, 7 * DAY)
                remind, done = due - 3600, False
            else:
                due, remind, done = now - r.randrange(DAY, 60 * DAY), None, True
            created = max(plan.created_ts, min(due, now) - r.randrange(DAY, 14 * DAY))
            priority = r.choice(("normal", "normal", "high", "low"))
            plan.tasks.append(TaskPlan(created, title, due, remind, priority, done))

    def _order(self, ts: int) -> OrderPlan:
        r = self.rng
        lines = []
        for _ in range(r.choice((1, 1, 1, 2, 2, 3))):
            sku, _name, _cat, price = r.choice(pools.PRODUCTS)
            qty = 1 if r.random() < 0.7 else r.randint(2, 5)
            gross = int(price.replace(".", "")) * qty
            discount = (gross // 1000) * 100 if r.random() < 0.15 else 0
            lines.append({"sku": sku, "quantity": qty, "discount": f"{discount / 100:.2f}"})
        return OrderPlan(
            ts,
            r.choice(pools.weighted(pools.ORDER_STATUSES)),
            r.choice(pools.weighted(pools.SALES_CHANNELS)),
            lines,
        )
