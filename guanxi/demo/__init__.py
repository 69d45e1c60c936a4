"""Bilingual demo data: users of every role, customers, orders, interactions and tasks.

`load_demo` is what `guanxi demo` and `guanxi serve --demo 1` call. Up to SERVICES_LIMIT
customers are written through the services (complete timeline and audit log, see
`story`); larger sets are generated set-based in the database (see `bulk`).
"""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import CASCADE, PROTECT, RESTRICT, SET_NULL
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.accounts.services import team_get_or_create, user_create
from guanxi.core.errors import Conflict, ValidationFailed
from guanxi.customers import search_index
from guanxi.customers.models import Customer, Tag

from . import pools

SERVICES_LIMIT = 2000
DEMO_PASSWORD = "guanxi-demo-2024"
EAST, SOUTH = "华东 East", "华南 South"
# username, display name, role, team
DEMO_USERS = (
    ("liu.yang", "刘洋", "admin", None),
    ("zhang.wei", "张伟", "manager", EAST),
    ("li.na", "李娜", "manager", SOUTH),
    ("wang.fang", "王芳", "rep", EAST),
    ("chen.jie", "陈杰", "rep", EAST),
    ("zhao.lei", "赵磊", "rep", SOUTH),
    ("sun.li", "孙丽", "rep", SOUTH),
    ("zhou.min", "周敏", "agent", None),
    ("wu.tao", "吴涛", "agent", None),
    ("xu.jing", "徐静", "marketer", None),
    ("ma.chao", "马超", "marketer", None),
)


@dataclass
class DemoUsers:
    users: list[User]

    def by_role(self, role: str) -> list[User]:
        return [u for u in self.users if u.role == role]

    @property
    def admin(self) -> User:
        return self.by_role("admin")[0]

    @property
    def reps(self) -> list[User]:
        return self.by_role("rep")

    @property
    def agents(self) -> list[User]:
        return self.by_role("agent")

    def manager_of(self, owner_id: int) -> User:
        owner = next(u for u in self.users if u.pk == owner_id)
        return next(u for u in self.by_role("manager") if u.team_id == owner.team_id)


def ensure_demo_users() -> DemoUsers:
    """Create the demo users that are missing (all with DEMO_PASSWORD); returns all of them."""
    existing = {u.username: u for u in User.objects.filter(username__in=[u[0] for u in DEMO_USERS])}
    created = []
    with transaction.atomic():
        for username, display_name, role, team in DEMO_USERS:
            if username in existing:
                continue
            user = user_create(
                actor=None,
                username=username,
                role=role,
                email=f"{username}@guanxi.example",
                display_name=display_name,
                team=team_get_or_create(name=team) if team else None,
            )
            existing[username] = user
            created.append(user.pk)
        if created:
            # One hash for all: hashing is deliberately slow, and these are demo accounts.
            User.objects.filter(pk__in=created).update(password=make_password(DEMO_PASSWORD))
    return DemoUsers([existing[u[0]] for u in DEMO_USERS])


def ensure_catalogue(admin: User) -> None:
    """The demo products and tags."""
    from guanxi.orders.services import product_upsert

    for sku, name, category, price in pools.PRODUCTS:
        product_upsert(actor=admin, sku=sku, name=name, category=category, unit_price=price)
    for name, color in pools.TAGS:
        Tag.objects.get_or_create(name=name, defaults={"color": color})


def load_demo(
    *,
    customers: int = 300,
    orders: int = 1000,
    seed: int = 1,
    mode: str = "auto",
    reset: bool = False,
    out=print,
) -> dict:
    """Load demo data; refuses to add to a database that has customers unless `reset`."""
    if customers < 0 or orders < 0:
        raise ValidationFailed(errors={"customers": [_("Give a number of 0 or more.")]})
    if orders and not customers:
        raise ValidationFailed(errors={"orders": [_("Orders need customers.")]})
    if mode == "auto":
        mode = "services" if customers <= SERVICES_LIMIT else "bulk"
    if mode not in ("services", "bulk"):
        raise ValidationFailed(errors={"mode": [_("Use auto, services or bulk.")]})
    users = ensure_demo_users()
    if Customer.objects.exists():
        if not reset:
            raise Conflict(
                errors={
                    "customers": [
                        _(
                            "The database already has customers; add --reset to delete them "
                            "(with their orders, interactions and tasks) first."
                        )
                    ]
                }
            )
        out(_("Deleting the existing customers and what hangs off them…"))
        reset_customers()
    ensure_catalogue(users.admin)
    if not customers:
        return {"users": len(users.users)}
    if mode == "services":
        from . import story

        counts = story.load(seed=seed, customers=customers, orders=orders, users=users, out=out)
        if orders:
            from guanxi.analytics.services import value_refresh

            value_refresh(actor=users.admin)  # the value dashboard has figures from the start
            from .segments import load_segments

            counts.update(load_segments(admin=users.admin, out=out))
            from .loyalty import load_loyalty

            counts.update(load_loyalty(admin=users.admin, seed=seed, out=out))
        return {"users": len(users.users), "mode": mode, **counts}
    from .bulk import BulkLoader

    loader = BulkLoader(
        seed=seed,
        customers=customers,
        orders=orders,
        owner_ids=[u.pk for u in users.reps],
        admin_id=users.admin.pk,
        out=out,
    )
    stats = loader.run()
    return {
        "users": len(users.users),
        "mode": mode,
        "customers": stats.customers,
        "orders": stats.orders,
        "lines": stats.lines,
        "customer_seconds": stats.customer_seconds,
        "order_seconds": stats.order_seconds,
        "phases": stats.phases,
    }


def _dependent_tables(model, plan: list, seen: set) -> None:
    """(table, column or None, nullable) to clear before `model`'s rows, children first."""
    if model in seen:
        return
    seen.add(model)
    for f in model._meta.many_to_many:
        through = f.remote_field.through
        plan.append(("delete", through._meta.db_table, None))
    # Hidden relations (related_name="+") hold rows too: analytics' history of scores.
    reverse = [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one or f.many_to_many)
    ]
    for rel in reverse:
        if rel.many_to_many:
            plan.append(("delete", rel.through._meta.db_table, None))
            continue
        child, column = rel.related_model, rel.field.column
        if rel.on_delete is SET_NULL:
            plan.append(("null", child._meta.db_table, column))
        elif rel.on_delete in (CASCADE, PROTECT, RESTRICT):
            _dependent_tables(child, plan, seen)
            plan.append(("delete", child._meta.db_table, column if rel.field.null else None))


def reset_customers() -> None:
    """Delete every customer and the records that hang off them, set-based."""
    plan: list = []
    _dependent_tables(Customer, plan, set())
    plan.append(("delete", Customer._meta.db_table, None))
    fts_triggers = [f"{search_index.FTS}_ad", f"{search_index.FTS}_au"]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Deleting a million rows through the FTS trigger one by one takes minutes.
            for name in fts_triggers:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        done = set()
        for action, table, column in plan:
            if (action, table, column) in done:
                continue
            done.add((action, table, column))
            if action == "null":
                cursor.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL")
            elif column:
                cursor.execute(f"DELETE FROM {table} WHERE {column} IS NOT NULL")
            else:
                cursor.execute(f"DELETE FROM {table}")
        if connection.vendor == "sqlite":
            fts = search_index.FTS
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
            for name in fts_triggers:
                cursor.execute(search_index.SQLITE_TRIGGERS[name])
