"""How fast `guanxi import customers` takes a large customer file, against django-import-export.

    python benchmarks/import_speed.py generate --rows 1000000 --out /tmp/gx-import.csv
    python benchmarks/import_speed.py run --db sqlite --file /tmp/gx-import.csv [--existing 1000000]
    python benchmarks/import_speed.py run --db postgres --file /tmp/gx-import.csv --dje-rows 100000

`generate` writes a deterministic CSV the way Chinese CRM exports look: Chinese and English
names, phones in every common form (spaces, dashes, +86, 0086, landlines with area codes,
extensions with 转), emails in mixed case, full-width digits here and there, dates as
2024/1/5, 2024年1月5日 and Excel serials, tags in one cell, a share of rows (10%) that repeat
an earlier person with another phone format, another email case, a missing field or a
typo in the name, and a few rows with problems (a phone in exponent form, a bad email).

`run` starts from an empty database (a fresh SQLite file, or the PostgreSQL database
guanxi_import_bench), optionally loads `--existing` customers with `guanxi demo` first,
then times `guanxi import customers FILE` in its own process (`/usr/bin/time -v` for the
peak memory), and, unless `--dje-rows 0`, times django-import-export on the first
`--dje-rows` rows of the same file into the same Customer model, in its matching mode
(import_id_fields = the member number column) and in its bulk mode without matching.
Figures are printed and written as JSON to benchmarks/results/import-<db>-<rows>[-on-<n>].json.
Nothing is asserted.
"""

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
HEADER = ["会员号", "姓名", "手机", "电话", "邮箱", "公司", "职位", "省", "市", "地址", "生日",
          "来源", "标签", "备注"]  # fmt: skip
SOURCES = ["官网", "门店", "转介绍", "展会", "电话", "微信", "广告", "合作伙伴", ""]
TAGS = ["VIP", "老客户", "价格敏感", "新品尝鲜", "团购", ""]
AREA_CODES = ["010", "021", "020", "022", "023", "025", "027", "028", "0571", "0755", "0512"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _pools():
    from guanxi.demo import pools

    return pools


def _phone(rng, mobile: str) -> str:
    forms = [
        lambda m: m,
        lambda m: f"{m[:3]} {m[3:7]} {m[7:]}",
        lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}",
        lambda m: f"+86 {m}",
        lambda m: f"+86-{m[:3]}-{m[3:7]}-{m[7:]}",
        lambda m: f"86{m}",
        lambda m: f"0086 {m}",
        lambda m: m.translate(FULL_WIDTH),
    ]
    return rng.choice(forms)(mobile)


def _date(rng) -> str:
    y, m, d = rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28)
    form = rng.random()
    if form < 0.4:
        return f"{y}-{m:02d}-{d:02d}"
    if form < 0.7:
        return f"{y}/{m}/{d}"
    if form < 0.9:
        return f"{y}年{m}月{d}日"
    from datetime import date

    return str((date(y, m, d) - date(1899, 12, 30)).days)  # an Excel serial number


def _person(rng, pools, i: int) -> dict:
    chinese = rng.random() < 0.8
    if chinese:
        surname = rng.choice(pools.SURNAME_POOL)
        given = rng.choice(pools.MALE_GIVEN if rng.random() < 0.5 else pools.FEMALE_GIVEN)
        name = surname + given
        local = "u"
    else:
        first = rng.choice(pools.ENGLISH_FIRST_MALE + pools.ENGLISH_FIRST_FEMALE)
        last = rng.choice(pools.ENGLISH_LAST)
        name = f"{first} {last}"
        local = f"{first}.{last}".lower()
    mobile = rng.choice(pools.MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    province, city, code, districts = rng.choice(pools.PLACES)
    return {
        "会员号": f"M{i:08d}",
        "姓名": name,
        "mobile": mobile,
        "手机": _phone(rng, mobile),
        "电话": (f"{rng.choice(AREA_CODES)}-{rng.randint(2000_0000, 8999_9999)}"
                 + (f"转{rng.randint(100, 999)}" if rng.random() < 0.3 else ""))
        if rng.random() < 0.15 else "",
        "邮箱": "" if rng.random() < 0.2 else (
            f"{local}{i}@{rng.choice(pools.EMAIL_DOMAINS)}"),
        "公司": "" if rng.random() < 0.7 else rng.choice(pools.BRANDS) + rng.choice(
            pools.COMPANY_SUFFIXES),
        "职位": "" if rng.random() < 0.8 else rng.choice(pools.CONTACT_TITLES),
        "省": province,
        "市": city,
        "地址": f"{rng.choice(districts)}{rng.choice(pools.ROADS)}{rng.randint(1, 999)}号",
        "生日": "" if rng.random() < 0.3 else _date(rng),
        "来源": rng.choice(SOURCES),
        "标签": "、".join(sorted({rng.choice(TAGS) for _ in range(rng.randint(0, 2))} - {""})),
        "备注": "",
    }  # fmt: skip


def _variant(rng, person: dict) -> dict:
    """The same person again, written differently."""
    row = dict(person)
    row["手机"] = _phone(rng, person["mobile"])
    change = rng.random()
    if change < 0.3 and row["邮箱"]:
        row["邮箱"] = row["邮箱"].upper()
    elif change < 0.5:
        row["地址"] = ""
        row["生日"] = ""
    elif change < 0.7 and len(row["姓名"]) >= 2 and re.match(r"[\u4e00-\u9fff]", row["姓名"]):
        row["备注"] = "重复录入"
    row["会员号"] = ""  # the second system did not have our member number
    return row


def generate(rows: int, out: Path, *, seed: int, duplicates: float) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    django.setup()
    pools = _pools()
    rng = random.Random(seed)
    people: list[dict] = []
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            if people and rng.random() < duplicates:
                row = _variant(rng, rng.choice(people))
            else:
                row = _person(rng, pools, i)
                if len(people) < 200_000:
                    people.append(row)
                else:
                    people[rng.randrange(len(people))] = row
            if rng.random() < 0.002:
                row = dict(row, 手机="1.38E+10")
            elif rng.random() < 0.002:
                row = dict(row, 邮箱="not-an-email")
            writer.writerow([row.get(h, "") for h in HEADER])
    print(f"wrote {rows:,} rows to {out} ({out.stat().st_size / 1e6:.0f} MB)")


# Running --------------------------------------------------------------------------------------


def _env(db: str, data_dir: Path) -> dict:
    env = dict(os.environ, GUANXI_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="benchmarks.bench_settings")  # fmt: skip
    env.pop("DATABASE_URL", None)
    if db == "postgres":
        env["DATABASE_URL"] = os.environ.get(
            "BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guanxi_import_bench"
        )
    return env


def _guanxi(env, *args, timed=False) -> tuple[str, float, int]:
    command = [PY, "-m", "guanxi.cli", *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    peak = 0
    if timed:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        peak = int(m.group(1)) if m else 0
    return done.stdout, seconds, peak


def _fresh(db: str, env: dict) -> None:
    if db == "postgres":
        url = env["DATABASE_URL"]
        base, name = url.rsplit("/", 1)
        subprocess.run(["psql", f"{base}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {name}",
                        "-c", f"CREATE DATABASE {name}"], check=True)  # fmt: skip
    _guanxi(env, "manage", "migrate", "-v", "0")
    _guanxi(env, "createuser", "bench", "--role", "admin", "--password", "bench-pass-1234")


def run(db: str, file: Path, *, existing: int, dje_rows: int) -> dict:
    with open(file, encoding="utf-8", newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    results: dict = {"db": db, "rows": rows, "existing": existing, "file": str(file)}
    with tempfile.TemporaryDirectory(prefix="gx-import-bench-") as tmp:
        env = _env(db, Path(tmp))
        _fresh(db, env)
        if existing:
            _out, seconds, _peak = _guanxi(env, "demo", "--customers", str(existing), "--orders",
                                           "0", "--mode", "bulk")  # fmt: skip
            results["existing_load_seconds"] = round(seconds, 1)
            # The index of match keys is kept up to date by the worker in a running system;
            # after a bulk load it is built once, timed here apart from the import.
            _out, seconds, _peak = _guanxi(env, "dedupe", "--index-only")
            results["match_index_seconds"] = round(seconds, 1)
        out, seconds, peak = _guanxi(env, "import", "customers", str(file), "--quiet", "--as",
                                     "bench", timed=True)  # fmt: skip
        m = re.search(r"done in ([\d.]+) s: (.*?)\.\n", out)
        inside = float(m.group(1)) if m else seconds
        results["guanxi"] = {
            "seconds": round(inside, 1),
            "process_seconds": round(seconds, 1),
            "rows_per_second": round(rows / inside),
            "peak_memory_mb": round(peak / 1024),
            "result": m.group(2) if m else out[-500:],
        }
        print(f"guanxi import: {rows:,} rows in {inside:.1f} s = {rows / inside:,.0f} rows/s, "
              f"peak {peak / 1024:.0f} MB ({results['guanxi']['result']})")  # fmt: skip
        if dje_rows:
            results["django_import_export"] = _dje(db, file, dje_rows, tmp)
    name = f"import-{db}-{rows}" + (f"-on-{existing}" if existing else "")
    out_file = ROOT / "benchmarks" / "results" / f"{name}.json"
    out_file.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"figures in {out_file.relative_to(ROOT)}")
    return results


DJE_SCRIPT = r"""
import os, sys, time, json
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.dje_settings"
import django
django.setup()
import tablib
from django.db import transaction
from import_export import fields, resources
from guanxi.customers.models import Customer

path, rows, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, encoding="utf-8") as f:
    lines = [next(f) for _ in range(rows + 1)]
data = tablib.Dataset().load("".join(lines), format="csv")

class CustomerResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="姓名")
    company_name = fields.Field(attribute="company_name", column_name="公司")
    job_title = fields.Field(attribute="job_title", column_name="职位")
    external_id = fields.Field(attribute="external_id", column_name="会员号")
    notes = fields.Field(attribute="notes", column_name="备注")

    class Meta:
        model = Customer
        fields = ("name", "company_name", "job_title", "external_id", "notes")
        import_id_fields = ("external_id",) if mode == "match" else ()
        use_bulk = mode == "bulk"
        batch_size = 5000
        skip_diff = mode == "bulk"

    def before_import_row(self, row, **kwargs):
        row["会员号"] = row.get("会员号") or None

started = time.monotonic()
result = CustomerResource().import_data(data, dry_run=False, use_transactions=True,
                                        raise_errors=False)
seconds = time.monotonic() - started
print(json.dumps({"rows": rows, "seconds": round(seconds, 1),
                  "rows_per_second": round(rows / seconds), "errors": result.has_errors()}))
"""


def _dje(db: str, file: Path, rows: int, tmp: str) -> dict:
    """django-import-export on the same rows into the same model, both of its modes."""
    script = Path(tmp) / "dje_bench.py"
    script.write_text(DJE_SCRIPT)
    out = {}
    for mode in ("match", "bulk"):
        env = _env(db, Path(tmp) / f"dje-{mode}")
        Path(env["GUANXI_DATA_DIR"]).mkdir()
        _fresh(db, env)  # each mode into an empty database, as Guanxi's import
        done = subprocess.run([PY, str(script), str(file), str(rows), mode], env=dict(
            env, PYTHONPATH=str(ROOT)), capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            out[mode] = {"error": done.stderr[-1500:]}
            print(f"django-import-export ({mode}) failed: {done.stderr[-500:]}")
            continue
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        label = "matching by member number" if mode == "match" else "bulk, no matching"
        print(f"django-import-export, {label}: {rows:,} rows at "
              f"{out[mode]['rows_per_second']:,} rows/s")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--rows", type=int, default=1_000_000)
    g.add_argument("--out", type=Path, default=Path("/tmp/gx-import.csv"))
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--duplicates", type=float, default=0.10)
    r = sub.add_parser("run")
    r.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    r.add_argument("--file", type=Path, default=Path("/tmp/gx-import.csv"))
    r.add_argument("--existing", type=int, default=0, help="customers loaded before (demo)")
    r.add_argument("--dje-rows", type=int, default=100_000,
                   help="rows for django-import-export (0: skip it)")  # fmt: skip
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.rows, args.out, seed=args.seed, duplicates=args.duplicates)
    else:
        run(args.db, args.file, existing=args.existing, dje_rows=args.dje_rows)


if __name__ == "__main__":
    main()
