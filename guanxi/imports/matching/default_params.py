"""Default parameters of the matching model, learned by EM on generated customers.

Written by benchmarks/matching/train_default.py (which documents how); do not edit by hand.
Regenerate with `python benchmarks/matching/train_default.py`; the matching benchmark
retrains and reports any difference.
"""

import json

PARAMS_JSON = r"""
{
 "format": 3,
 "prior": 1.0547043634379671e-05,
 "tf_adjustments": true,
 "comparisons": [
  {
   "key": "name",
   "levels": [
    "missing",
    "exact",
    "pinyin",
    "homophone",
    "swapped",
    "contained",
    "similar_high",
    "similar",
    "one_character",
    "one_part",
    "surname",
    "different"
   ],
   "m": [
    0.0,
    0.5256449468389648,
    0.1469157167193416,
    0.125838395673832,
    0.09065779626840757,
    0.03249489907262396,
    0.03648910227295065,
    0.0341627189782906,
    0.00029705246093245026,
    0.0007788932876958902,
    0.00643764026176304,
    0.00028283816519741016
   ],
   "u": [
    0.0,
    9.833773681030296e-05,
    1.1118817322388286e-05,
    2.0141464165965662e-05,
    1.1118817322388286e-05,
    0.0004702712900288816,
    0.0002116220805129967,
    0.00171539655444256,
    0.00022665982525229235,
    0.007654303210148382,
    0.008071349997584847,
    0.981509680206409
   ],
   "observed": [
    false,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
    true
   ]
  },
  {
   "key": "company",
   "levels": [
    "missing",
    "exact",
    "contained",
    "similar",
    "different"
   ],
   "m": [
    0.0,
    0.9975833166253351,
    0.0007999136935716883,
    0.0007999136935716883,
    0.0008168559875216095
   ],
   "u": [
    0.0,
    0.001885811617926824,
    5.530239348759014e-06,
    5.530239348759014e-06,
    0.9981031279033756
   ],
   "observed": [
    true,
    true,
    false,
    false,
    true
   ]
  },
  {
   "key": "phone",
   "levels": [
    "missing",
    "exact",
    "last8",
    "one_digit",
    "different"
   ],
   "m": [
    0.0,
    0.8595991888683283,
    0.014579135774292715,
    0.08932991693998263,
    0.036491758417396415
   ],
   "u": [
    0.0,
    2.3607159156062426e-06,
    1.4736538645397731e-06,
    2.947307729079546e-07,
    0.9999958708994471
   ],
   "observed": [
    true,
    true,
    true,
    true,
    true
   ]
  },
  {
   "key": "email",
   "levels": [
    "missing",
    "exact",
    "user",
    "one_edit",
    "different"
   ],
   "m": [
    0.0,
    0.9981620798531919,
    0.0005450433063471163,
    0.0007657136505326966,
    0.0005271631899282783
   ],
   "u": [
    0.0,
    4.047740204468705e-05,
    0.030178794467317388,
    1.927495335461288e-06,
    0.9697788006353024
   ],
   "observed": [
    true,
    true,
    true,
    true,
    true
   ]
  },
  {
   "key": "id_number",
   "levels": [
    "missing",
    "exact",
    "one_edit",
    "two_edits",
    "different"
   ],
   "m": [
    0.0,
    0.9052318984194937,
    0.09073539348323141,
    0.00201634287078142,
    0.002016365226493452
   ],
   "u": [
    0.0,
    0.00019638648860958367,
    0.00019638648860958367,
    3.927729772191673e-05,
    0.9995679497250589
   ],
   "observed": [
    true,
    true,
    true,
    false,
    true
   ]
  },
  {
   "key": "external_id",
   "levels": [
    "missing",
    "exact",
    "different"
   ],
   "m": [
    0.0,
    0.5,
    0.5
   ],
   "u": [
    0.0,
    0.5,
    0.5
   ],
   "observed": [
    true,
    false,
    false
   ]
  },
  {
   "key": "birthday",
   "levels": [
    "missing",
    "exact",
    "one_part",
    "within_year",
    "different"
   ],
   "m": [
    0.0,
    0.8905443283818857,
    0.10871102030247431,
    0.0003165803906861598,
    0.0004280709249539228
   ],
   "u": [
    0.0,
    7.755842734860261e-05,
    0.004671018834188422,
    0.03391304782936479,
    0.9613383749090982
   ],
   "observed": [
    true,
    true,
    true,
    true,
    true
   ]
  },
  {
   "key": "gender",
   "levels": [
    "missing",
    "exact",
    "different"
   ],
   "m": [
    0.0,
    0.9945740348233104,
    0.0054259651766895714
   ],
   "u": [
    0.0,
    0.49694541777556195,
    0.5030545822244381
   ],
   "observed": [
    true,
    true,
    true
   ]
  },
  {
   "key": "address",
   "levels": [
    "missing",
    "same",
    "similar",
    "same_street",
    "similar_street",
    "postcode_city",
    "postcode",
    "district",
    "city",
    "postcode_typo",
    "province",
    "different"
   ],
   "m": [
    0.0,
    0.7366396967936536,
    0.0022378911992886556,
    6.58181117077549e-05,
    8.159291744492663e-05,
    0.010934295773424925,
    6.58181117077549e-05,
    0.026605832454764996,
    0.15309417529476194,
    6.58181117077549e-05,
    0.0026018883189697604,
    0.06760717291256779
   ],
   "u": [
    0.0,
    2.011693781494882e-06,
    0.0001145395467682973,
    0.0001481826713197331,
    0.0024241400472243637,
    8.563704431274564e-06,
    1.5292329341561723e-07,
    0.011593573643718188,
    0.03541627013858987,
    3.211389161727961e-05,
    0.032864439141363465,
    0.9173960125978927
   ],
   "observed": [
    true,
    true,
    true,
    true,
    true,
    true,
    false,
    true,
    true,
    true,
    true,
    true
   ]
  },
  {
   "key": "kind",
   "levels": [
    "missing",
    "exact",
    "different"
   ],
   "m": [
    0.0,
    0.9997630592884024,
    0.00023694071159751878
   ],
   "u": [
    0.0,
    0.7763701891748288,
    0.22362981082517117
   ],
   "observed": [
    false,
    true,
    true
   ]
  }
 ],
 "contexts": [
  {
   "comparison": "phone",
   "level": 1,
   "shares": {
    "name": 0.9967699528381203,
    "address": 0.34497915843063437
   }
  },
  {
   "comparison": "address",
   "level": 1,
   "shares": {
    "name": 0.27390261235510166
   }
  }
 ],
 "metadata": {
  "trained_by": "benchmarks/matching/train_default.py",
  "data": "generated Chinese customer file (benchmarks/matching/chinese_data.py)",
  "records": 20000,
  "seed": 7,
  "random_pairs": 1000000,
  "em_iterations": 15
 }
}
"""


def load() -> dict:
    """The parameters as `Model.from_dict` takes them."""
    return json.loads(PARAMS_JSON)
