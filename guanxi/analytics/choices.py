from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentScheme(models.TextChoices):
    CHINESE = "cn8", _("Eight classes (重要价值客户 …)")
    NAMED = "named", _("Named segments (Champions, Loyal …)")


class PurchaseModelKind(models.TextChoices):
    BGNBD = "bgnbd", _("BG/NBD")
    MBGNBD = "mbgnbd", _("MBG/NBD (a one-time buyer may have left)")


class RefreshStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


# The Chinese eight-class model: high or low on recency, frequency and monetary value.
# Keys are "RFM" with H for high, L for low.
class ChineseSegment(models.TextChoices):
    IMPORTANT_VALUE = "important_value", _("Important value (重要价值客户)")
    IMPORTANT_DEVELOP = "important_develop", _("Important to develop (重要发展客户)")
    IMPORTANT_RETAIN = "important_retain", _("Important to retain (重要保持客户)")
    IMPORTANT_WIN_BACK = "important_win_back", _("Important to win back (重要挽留客户)")
    GENERAL_VALUE = "general_value", _("General value (一般价值客户)")
    GENERAL_DEVELOP = "general_develop", _("General to develop (一般发展客户)")
    GENERAL_RETAIN = "general_retain", _("General to retain (一般保持客户)")
    GENERAL_WIN_BACK = "general_win_back", _("General to win back (一般挽留客户)")


CHINESE_BY_HML = {
    "HHH": ChineseSegment.IMPORTANT_VALUE,
    "HLH": ChineseSegment.IMPORTANT_DEVELOP,
    "LHH": ChineseSegment.IMPORTANT_RETAIN,
    "LLH": ChineseSegment.IMPORTANT_WIN_BACK,
    "HHL": ChineseSegment.GENERAL_VALUE,
    "HLL": ChineseSegment.GENERAL_DEVELOP,
    "LHL": ChineseSegment.GENERAL_RETAIN,
    "LLL": ChineseSegment.GENERAL_WIN_BACK,
}


class NamedSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalists")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANNOT_LOSE = "cannot_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")


# The customary recency × frequency grid of the named segments: NAMED_GRID[r - 1][f - 1].
_N = NamedSegment
NAMED_GRID = [
    # f=1            f=2                 f=3                 f=4            f=5
    [_N.HIBERNATING, _N.HIBERNATING, _N.AT_RISK, _N.AT_RISK, _N.CANNOT_LOSE],  # r=1
    [_N.HIBERNATING, _N.HIBERNATING, _N.AT_RISK, _N.AT_RISK, _N.CANNOT_LOSE],  # r=2
    [_N.ABOUT_TO_SLEEP, _N.ABOUT_TO_SLEEP, _N.NEED_ATTENTION, _N.LOYAL, _N.LOYAL],  # r=3
    [_N.PROMISING, _N.POTENTIAL_LOYALIST, _N.POTENTIAL_LOYALIST, _N.LOYAL, _N.LOYAL],  # r=4
    [_N.NEW, _N.POTENTIAL_LOYALIST, _N.POTENTIAL_LOYALIST, _N.CHAMPIONS, _N.CHAMPIONS],  # r=5
]
