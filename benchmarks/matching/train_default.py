"""Train the default matching model and write it to guanxi/imports/matching/default_params.py.

    python benchmarks/matching/train_default.py          # write the parameters
    python benchmarks/matching/train_default.py --check  # retrain and compare, write nothing

The default model is what an import too small to train on uses. It is learned, without
labels, by the same EM as any other model (`Matcher.fit`), on a generated Chinese customer
file (chinese_data.generate) with a seed of its own, not the benchmark's. Nothing in it is
set by hand: the level weights, the prior and the household shares all come out of EM.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGET = ROOT / "guanxi" / "imports" / "matching" / "default_params.py"
TRAINING_RECORDS = 20_000
TRAINING_SEED = 7  # the benchmark's Chinese file uses another seed
RANDOM_PAIRS = 1_000_000

HEADER = '''"""Default parameters of the matching model, learned by EM on generated customers.

Written by benchmarks/matching/train_default.py (which documents how); do not edit by hand.
Regenerate with `python benchmarks/matching/train_default.py`; the matching benchmark
retrains and reports any difference.
"""

import json

PARAMS_JSON = r"""
'''

FOOTER = '''"""


def load() -> dict:
    """The parameters as `Model.from_dict` takes them."""
    return json.loads(PARAMS_JSON)
'''


def _configure_django():
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)


def train() -> dict:
    """The default model's parameters, trained from scratch."""
    _configure_django()
    from matching.chinese_data import generate

    from guanxi.imports.matching import Matcher

    records, _entities = generate(TRAINING_RECORDS, seed=TRAINING_SEED)
    matcher = Matcher().fit(records, random_sample=RANDOM_PAIRS, seed=0)
    params = matcher.model.to_dict()
    params["metadata"] = {
        "trained_by": "benchmarks/matching/train_default.py",
        "data": "generated Chinese customer file (benchmarks/matching/chinese_data.py)",
        "records": TRAINING_RECORDS,
        "seed": TRAINING_SEED,
        "random_pairs": RANDOM_PAIRS,
        "em_iterations": len(matcher.model.history),
    }
    return params


def render(params: dict) -> str:
    return HEADER + json.dumps(params, indent=1, ensure_ascii=False) + "\n" + FOOTER


def committed() -> dict | None:
    """The parameters in the committed default_params.py, or None if there are none."""
    if not TARGET.exists():
        return None
    namespace: dict = {}
    exec(compile(TARGET.read_text(encoding="utf-8"), str(TARGET), "exec"), namespace)
    return namespace["load"]()


def compare(new: dict, old: dict | None) -> dict:
    """How far the retrained level weights are from the committed ones (log2 units)."""
    if old is None:
        return {"committed": False}
    _configure_django()
    from guanxi.imports.matching import Model

    a, b = Model.from_dict(new), Model.from_dict(old)
    diffs = [
        float(abs(x - y).max())
        for wa, wb in zip(a.level_weights(), b.level_weights(), strict=True)
        for x, y in [(wa, wb)]
    ]
    return {
        "committed": True,
        "max_weight_difference": max(diffs),
        "prior_weight_difference": abs(a.prior_weight() - b.prior_weight()),
        "identical": json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    params = train()
    report = compare(params, committed())
    print(json.dumps(report, indent=1))
    if not args.check:
        TARGET.write_text(render(params), encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
