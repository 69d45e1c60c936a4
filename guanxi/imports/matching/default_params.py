"""Default parameters of the matching model, learned by EM on generated customers.

Written by benchmarks/matching/train_default.py (which documents how); do not edit by hand.
Regenerate with `python benchmarks/matching/train_default.py`; the matching benchmark
retrains and reports any difference.
"""

import json

PARAMS_JSON = r"""
{
 "format": 3,
 "prior": 1.0857852186611665e-05,
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
    0.5581340536143465,
    0.11556812402404489,
    0.16371180002359123,
    0.0760259065341382,
    0.026421920479698473,
    0.025694188951373854,
    0.02749130171547052,
    0.00030786377482274797,
    0.0010140004172862424,
    0.005393175271359301,
    0.0002376651938680273
   ],
   "u": [
    0.0,
    9.833773681030296e-05,
    1.1118817322388286e-05,
    2.0141464165965662e-05,
    1.1118817322388286e-05,
    0.0004702712900288816,
    0.00021462962946085584,
    0.0017805601149795075,
    0.00022665982525229235,
    0.007654303210148382,
    0.008071349997584847,
    0.9814415090969242
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
    0.9975494217561571,
    0.0008070386809880051,
    0.0008070386809880051,
    0.0008365008818669473
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
    0.8505753043098291,
    0.014447539059371236,
    0.08800839049753234,
    0.046968766133267385
   ],
   "u": [
    0.0,
    2.3777742969088895e-06,
    1.4736538394015643e-06,
    2.9473076788031284e-07,
    0.999995853841096
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
    0.9977217268318017,
    0.000569704475258425,
    0.0011784259511299633,
    0.0005301427418099686
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
    0.9052334895289719,
    0.09073385802632464,
    0.002016308488783962,
    0.0020163439559194325
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
    0.8887058036944159,
    0.11053669077577466,
    0.00033183079615592263,
    0.00042567473365353453
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
    0.9986927805504507,
    0.0013072194495492055
   ],
   "u": [
    0.0,
    0.4997108861827339,
    0.5002891138172662
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
    0.7335775696019917,
    0.03492842099001999,
    6.841381896658e-05,
    6.603747087555647e-05,
    6.520742497901677e-05,
    6.513885932239014e-05,
    7.509348082379226e-05,
    0.15834518035470893,
    6.513885932239014e-05,
    0.002690924481743019,
    0.07005287465724674
   ],
   "u": [
    0.0,
    2.0635750256219314e-06,
    0.0010414145814329123,
    5.230011554332687e-05,
    0.0002036951868529573,
    6.881594150437746e-06,
    1.5292431445417216e-07,
    0.011277403569422926,
    0.0348008333160215,
    3.211410603537615e-05,
    0.03294876694366702,
    0.9196343740875336
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
    0.9997698395258671,
    0.00023016047413288224
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
    "name": 0.9967928417410382,
    "address": 0.3474818740546284
   }
  },
  {
   "comparison": "address",
   "level": 1,
   "shares": {
    "name": 0.2772727617862014
   }
  }
 ],
 "metadata": {
  "trained_by": "benchmarks/matching/train_default.py",
  "data": "generated Chinese customer file (benchmarks/matching/chinese_data.py)",
  "records": 20000,
  "seed": 7,
  "random_pairs": 1000000,
  "em_iterations": 19
 }
}
"""


def load() -> dict:
    """The parameters as `Model.from_dict` takes them."""
    return json.loads(PARAMS_JSON)
