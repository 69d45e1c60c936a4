"""Default parameters of the matching model, learned by EM on generated customers.

Written by benchmarks/matching/train_default.py (which documents how); do not edit by hand.
Regenerate with `python benchmarks/matching/train_default.py`; the matching benchmark
retrains and reports any difference.
"""

import json

PARAMS_JSON = r"""
{
 "format": 3,
 "prior": 1.0850205978086063e-05,
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
    0.5551328938216629,
    0.11868762619881419,
    0.16224652165153858,
    0.07568288717603941,
    0.02631618242057834,
    0.027697445502891205,
    0.027323076768477648,
    0.00030453900987225773,
    0.0009822838878741763,
    0.005389357076564266,
    0.00023718648568703499
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
    0.9975505046434759,
    0.0008070442144810632,
    0.0008070442144810632,
    0.0008354069275619876
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
    0.8514151313624531,
    0.014462302755248435,
    0.08809855588132107,
    0.046024010000977486
   ],
   "u": [
    0.0,
    2.378034147525959e-06,
    1.4736538390186334e-06,
    2.9473076780372666e-07,
    0.9999958535812458
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
    0.9977066173055876,
    0.0005668032519803206,
    0.0011964013344393123,
    0.0005301781079927853
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
    0.9052331267939883,
    0.09073420559046103,
    0.0020163162187162528,
    0.002016351396834466
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
    0.8888324496923748,
    0.11041074713316323,
    0.00033184362540168846,
    0.0004249595490601995
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
    0.9986924985470201,
    0.0013075014529797576
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
    0.7280075510755039,
    0.002216161328235913,
    6.638381911083385e-05,
    8.247035373299002e-05,
    0.010826233941803464,
    6.517691273071586e-05,
    0.027797458750230642,
    0.1581689525766332,
    6.517691273071586e-05,
    0.002691617412347571,
    0.07001281691694007
   ],
   "u": [
    0.0,
    2.0603112334969326e-06,
    0.00011453954119966517,
    0.00014818266411545467,
    0.0024241399293686143,
    8.563704014928236e-06,
    1.5292328598086137e-07,
    0.011593573080067043,
    0.03541626841673759,
    3.2113890055980885e-05,
    0.03286443754357495,
    0.9173959679963463
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
    0.9997696774669118,
    0.00023032253308823342
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
    "name": 0.9967931913423677,
    "address": 0.34746058995397994
   }
  },
  {
   "comparison": "address",
   "level": 1,
   "shares": {
    "name": 0.2761295455982522
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
