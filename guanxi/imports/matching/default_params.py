"""Default parameters of the matching model, learned by EM on generated customers.

Written by benchmarks/matching/train_default.py (which documents how); do not edit by hand.
Regenerate with `python benchmarks/matching/train_default.py`; the matching benchmark
retrains and reports any difference.
"""

import json

PARAMS_JSON = r"""
{
 "format": 3,
 "prior": 1.0851210734215317e-05,
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
    0.5550608815080581,
    0.11866998063091828,
    0.16222753918530805,
    0.0756711640402346,
    0.026311784568830807,
    0.02773529770190271,
    0.027411468254076653,
    0.0003045225389465334,
    0.0009817893018497792,
    0.0053884313391297815,
    0.00023714093074473513
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
    0.9975505216758448,
    0.0008070423877156758,
    0.0008070423877156758,
    0.0008353935487239216
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
    0.8513938312321202,
    0.014460919079666784,
    0.08809020515918173,
    0.046055044529031246
   ],
   "u": [
    0.0,
    2.377532967844859e-06,
    1.4736538397572004e-06,
    2.9473076795144005e-07,
    0.9999958540824244
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
    0.997687699033193,
    0.0005668166192518442,
    0.0012154240089034683,
    0.0005300603386518823
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
    0.9052331347299203,
    0.09073419794663581,
    0.002016316050731033,
    0.002016351272712745
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
    0.8888312007820676,
    0.11041115951242331,
    0.00033184334274002176,
    0.00042579636276900726
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
    0.9986922174081609,
    0.0013077825918390833
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
    0.7279793659093415,
    0.002215962548016214,
    6.517106752884289e-05,
    8.241820942580329e-05,
    0.010825270926571174,
    6.517106752884289e-05,
    0.027796557672618818,
    0.158178365985707,
    6.517106752884289e-05,
    0.00269559524031013,
    0.07003095030542307
   ],
   "u": [
    0.0,
    2.0602022302991805e-06,
    0.00011453954121215041,
    0.00014818266413160714,
    0.0024241399296328543,
    8.563704015861712e-06,
    1.5292328599753059e-07,
    0.011593573081330785,
    0.03541626842059809,
    3.2113890059481415e-05,
    0.032864437547157295,
    0.9173959680963458
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
    0.999769698783562,
    0.0002303012164379246
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
    "name": 0.9967927394984833,
    "address": 0.3474135617154048
   }
  },
  {
   "comparison": "address",
   "level": 1,
   "shares": {
    "name": 0.27614139782870034
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
