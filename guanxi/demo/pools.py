"""The raw material of the demo data: names, companies, places, products, texts.

Plain data and pure functions; both the service-based loader and the bulk loader draw from
here, so a seed gives the same people whichever way they are stored.
"""

import random

# Common surnames, roughly by frequency (the first ones come up most often).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤单查乐"
)
COMPOUND_SURNAMES = ("欧阳", "上官", "司马", "诸葛", "东方")
# Weighted pool: the top 20 surnames three times, the next 30 twice, the rest once.
SURNAME_POOL = (
    [s for s in SURNAMES[:20] for _ in range(3)]
    + [s for s in SURNAMES[20:50] for _ in range(2)]
    + list(SURNAMES[50:])
    + list(COMPOUND_SURNAMES)
)

MALE_CHARS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁"  # fmt: skip
    "龙林阳晨峰建国志文博海东亮成康星天子睿轩然一泽宏晓"
)
FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞秀英玲燕婷雪慧琳颖倩洁萍红梅琴丹云莉兰欣怡佳悦诗雨萱涵月晶璐瑶婉梦思嘉"
)


def _given_names(chars: str, count: int, seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    names = list(chars)  # every single-character name
    seen = set(names)
    while len(names) < count:
        name = rng.choice(chars) + rng.choice(chars)
        # 丽丽, 婷婷 exist, but fewer
        if (name[0] != name[1] or rng.random() < 0.2) and name not in seen:
            seen.add(name)
            names.append(name)
    return tuple(names)


# A bounded pool keeps the pinyin cache of the bulk loader small (surname × given name).
MALE_GIVEN = _given_names(MALE_CHARS, 600, 1)
FEMALE_GIVEN = _given_names(FEMALE_CHARS, 600, 2)

ENGLISH_FIRST_MALE = [
    "James",
    "John",
    "Robert",
    "Michael",
    "David",
    "William",
    "Richard",
    "Thomas",
    "Daniel",
    "Matthew",
    "Andrew",
    "Kevin",
    "Brian",
    "Jason",
    "Eric",
    "Steven",
    "Peter",
    "Henry",
    "Oliver",
    "Lucas",
]
ENGLISH_FIRST_FEMALE = [
    "Mary",
    "Jennifer",
    "Linda",
    "Sarah",
    "Emily",
    "Jessica",
    "Emma",
    "Olivia",
    "Sophia",
    "Grace",
    "Chloe",
    "Hannah",
    "Alice",
    "Laura",
    "Rachel",
    "Amy",
    "Lily",
    "Anna",
    "Julia",
    "Claire",
]
ENGLISH_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Turner",
]

# Provinces, cities (with a postcode prefix) and districts.
PLACES = (
    ("北京市", "北京市", "100", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    ("上海市", "上海市", "200", ("浦东新区", "徐汇区", "静安区", "黄浦区", "长宁区")),
    ("广东省", "广州市", "510", ("天河区", "越秀区", "海珠区", "白云区")),
    ("广东省", "深圳市", "518", ("南山区", "福田区", "罗湖区", "宝安区")),
    ("广东省", "佛山市", "528", ("禅城区", "南海区", "顺德区")),
    ("浙江省", "杭州市", "310", ("西湖区", "上城区", "拱墅区", "滨江区")),
    ("浙江省", "宁波市", "315", ("海曙区", "鄞州区", "江北区")),
    ("江苏省", "南京市", "210", ("玄武区", "鼓楼区", "建邺区")),
    ("江苏省", "苏州市", "215", ("姑苏区", "吴中区", "虎丘区")),
    ("四川省", "成都市", "610", ("锦江区", "武侯区", "青羊区", "金牛区")),
    ("湖北省", "武汉市", "430", ("江汉区", "武昌区", "洪山区")),
    ("陕西省", "西安市", "710", ("雁塔区", "碑林区", "未央区")),
    ("重庆市", "重庆市", "400", ("渝中区", "江北区", "南岸区")),
    ("天津市", "天津市", "300", ("和平区", "南开区", "河西区")),
    ("福建省", "厦门市", "361", ("思明区", "湖里区")),
    ("福建省", "福州市", "350", ("鼓楼区", "台江区")),
    ("山东省", "青岛市", "266", ("市南区", "市北区", "崂山区")),
    ("山东省", "济南市", "250", ("历下区", "市中区")),
    ("湖南省", "长沙市", "410", ("岳麓区", "芙蓉区", "天心区")),
    ("河南省", "郑州市", "450", ("金水区", "二七区", "中原区")),
    ("安徽省", "合肥市", "230", ("蜀山区", "包河区", "庐阳区")),
)
ROADS = (
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "新华路",
    "长江路",
    "南京路",
    "淮海路",
    "科技园路",
    "文化路",
    "滨江大道",
    "学府路",
    "东风路",
    "光明街",
)

COMPANY_CITIES = tuple(
    c.removesuffix("市") for c in dict.fromkeys(p[1] for p in PLACES)
)  # 北京, 上海, 广州 …
BRANDS = [
    "明远",
    "华信",
    "恒通",
    "鼎盛",
    "宏达",
    "金诚",
    "瑞丰",
    "安泰",
    "博雅",
    "嘉禾",
    "天宇",
    "永安",
    "德润",
    "鸿运",
    "佳美",
    "创新",
    "海纳",
    "远航",
    "启明",
    "中和",
    "锦程",
    "万象",
    "同心",
    "卓越",
    "润泽",
    "新源",
    "汇智",
    "盛世",
    "青松",
    "长风",
    "丰年",
    "乐享",
    "正和",
    "禾木",
    "星河",
    "云帆",
]
# (word in the company name, industry stored on the customer)
COMPANY_TRADES = (
    ("贸易", "批发零售"),
    ("科技", "信息技术"),
    ("实业", "制造业"),
    ("文化传媒", "文化传媒"),
    ("电子", "电子产品"),
    ("食品", "食品饮料"),
    ("茶业", "食品饮料"),
    ("物流", "物流运输"),
    ("建材", "建筑建材"),
    ("餐饮管理", "餐饮"),
    ("信息技术", "信息技术"),
    ("服饰", "服装纺织"),
    ("家居用品", "家居"),
    ("医疗器械", "医疗健康"),
    ("教育咨询", "教育培训"),
)
COMPANY_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
ENGLISH_COMPANIES = (
    "Pacific Rim Trading Ltd.",
    "Blue Harbor Imports Co.",
    "Silverline Electronics Ltd.",
    "Jade Garden Foods Ltd.",
    "Northwind Logistics Co.",
    "Lotus Leaf Design Studio",
    "Golden Bridge Consulting",
    "Evergreen Tea Company",
)
SCOPES = {
    "批发零售": "日用百货、文具用品的批发和零售",
    "信息技术": "软件开发、信息系统集成、技术咨询",
    "制造业": "五金配件、塑料制品的生产和销售",
    "文化传媒": "广告设计、活动策划、影视制作",
    "电子产品": "电子产品及配件的研发与销售",
    "食品饮料": "预包装食品、茶叶的销售",
    "物流运输": "普通货物运输、仓储服务",
    "建筑建材": "建筑材料、装饰材料的销售",
    "餐饮": "餐饮管理、餐饮服务",
    "服装纺织": "服装、鞋帽、纺织品的设计和销售",
    "家居": "家居用品、厨具的销售",
    "医疗健康": "二类医疗器械的销售",
    "教育培训": "教育信息咨询、职业技能培训",
}
PERSON_INDUSTRIES = ("", "", "", "教师", "自由职业", "金融", "医疗健康", "信息技术", "零售")

CONTACT_TITLES = (
    "总经理",
    "采购经理",
    "采购专员",
    "财务总监",
    "行政主管",
    "销售总监",
    "董事长助理",
    "技术负责人",
    "市场经理",
)

EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com")
COMPANY_EMAIL_DOMAINS = ("com", "com.cn", "cn", "net")

# Mobile prefixes that phonenumbers accepts as valid Chinese mobile numbers.
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
]

SOURCES = (
    ("web", 25),
    ("store", 15),
    ("referral", 15),
    ("exhibition", 8),
    ("phone", 10),
    ("social", 12),
    ("advertising", 8),
    ("partner", 5),
    ("other", 2),
)
PREFERRED_CHANNELS = ("phone", "wechat", "wechat", "email", "sms", "visit")
COMPANY_SIZES = ("1-9", "10-49", "10-49", "50-249", "250-999", "1000+")
TAGS = (
    ("VIP", "amber"),
    ("老客户", "red"),
    ("价格敏感", "blue"),
    ("高潜力", "green"),
    ("转介绍", "purple"),
    ("节日送礼", "orange"),
    ("品牌忠诚", "teal"),
    ("投诉过", "gray"),
)

# (SKU, name, category, unit price)
PRODUCTS = (
    ("TEA-001", "西湖龙井 250g", "茶叶", "268.00"),
    ("TEA-002", "安溪铁观音 500g", "茶叶", "198.00"),
    ("TEA-003", "云南普洱茶饼 357g", "茶叶", "168.00"),
    ("TEA-004", "武夷山大红袍 礼盒", "茶叶", "388.00"),
    ("TEA-005", "洞庭碧螺春 250g", "茶叶", "228.00"),
    ("TEA-006", "祁门红茶 200g", "茶叶", "128.00"),
    ("TEA-007", "福鼎白毫银针 100g", "茶叶", "298.00"),
    ("TEA-008", "茉莉花茶 250g", "茶叶", "68.00"),
    ("STA-001", "英雄钢笔 礼盒装", "文具", "158.00"),
    ("STA-002", "宣纸 四尺 100张", "文具", "120.00"),
    ("STA-003", "湖笔 毛笔套装", "文具", "86.00"),
    ("STA-004", "A5 皮面笔记本", "文具", "45.00"),
    ("STA-005", "中性笔 12支装", "文具", "24.00"),
    ("STA-006", "西泠印泥", "文具", "66.00"),
    ("ELE-001", "蓝牙耳机", "电子产品", "299.00"),
    ("ELE-002", "移动电源 20000mAh", "电子产品", "149.00"),
    ("ELE-003", "智能手环", "电子产品", "239.00"),
    ("ELE-004", "机械键盘", "电子产品", "459.00"),
    ("ELE-005", "USB-C 扩展坞", "电子产品", "189.00"),
    ("ELE-006", "无线鼠标", "电子产品", "99.00"),
    ("FOO-001", "中秋月饼礼盒", "食品", "188.00"),
    ("FOO-002", "坚果礼盒", "食品", "138.00"),
    ("FOO-003", "五常大米 5kg", "食品", "89.00"),
    ("FOO-004", "土蜂蜜 500g", "食品", "78.00"),
    ("HOM-001", "宜兴紫砂壶", "家居", "520.00"),
    ("HOM-002", "青花瓷茶具 八件套", "家居", "368.00"),
    ("HOM-003", "竹制收纳盒", "家居", "58.00"),
    ("APP-001", "真丝围巾", "服饰", "329.00"),
    ("APP-002", "羊绒衫", "服饰", "699.00"),
    ("APP-003", "棉麻衬衫", "服饰", "259.00"),
)

ORDER_STATUSES = (
    ("completed", 62),
    ("paid", 10),
    ("shipped", 8),
    ("pending", 5),
    ("cancelled", 10),
    ("refunded", 5),
)
SALES_CHANNELS = (
    ("online", 35),
    ("store", 20),
    ("wechat", 20),
    ("marketplace", 10),
    ("phone", 5),
    ("sales", 10),
)

# Interactions: (kind, channel, direction, subject, body, outcome, next step).
# {product} and {name} are filled in.
INTERACTIONS_ZH = (
    (
        "call",
        "phone",
        "outbound",
        "电话回访",
        "客户对上次购买的{product}很满意，询问是否有新品上市。",
        "客户有复购意向",
        "下周发送新品目录",
    ),
    (
        "call",
        "phone",
        "inbound",
        "客户来电咨询",
        "客户来电询问{product}的库存和发货时间，已告知三天内发货。",
        "已解答",
        "",
    ),
    (
        "visit",
        "in_person",
        "outbound",
        "上门拜访",
        "拜访客户办公室，介绍了{product}等新款产品，客户对团购价格感兴趣。",
        "需要报价",
        "三天内发送报价单",
    ),
    (
        "chat",
        "wechat",
        "inbound",
        "微信沟通",
        "客户在微信上询问{product}的优惠活动，已发送活动链接。",
        "已发送活动信息",
        "",
    ),
    (
        "chat",
        "wechat",
        "outbound",
        "节日问候",
        "发送节日祝福，并提醒{name}会员积分即将到期。",
        "客户已读",
        "",
    ),
    (
        "email",
        "email",
        "outbound",
        "发送报价单",
        "已通过邮件发送{product}的报价单和合同草案，请客户确认。",
        "等待客户确认",
        "周五前电话跟进",
    ),
    (
        "meeting",
        "video",
        "outbound",
        "年度合作洽谈",
        "与客户视频会议，讨论明年的采购计划和框架协议。",
        "初步达成合作意向",
        "准备框架协议",
    ),
    (
        "note",
        "",
        "internal",
        "客户备注",
        "{name}偏好微信联系，工作日上午不方便接电话。",
        "",
        "",
    ),
)
INTERACTIONS_EN = (
    (
        "call",
        "phone",
        "outbound",
        "Follow-up call",
        "Called about the {product} order; the customer is happy and asked about new arrivals.",
        "Interested in reordering",
        "Send the new catalogue next week",
    ),
    (
        "email",
        "email",
        "outbound",
        "Quotation sent",
        "Sent the quotation for {product} by email.",
        "Waiting for confirmation",
        "Call on Friday",
    ),
    (
        "meeting",
        "video",
        "outbound",
        "Quarterly review",
        "Video call with {name} to review orders and next quarter's plans.",
        "Good relationship",
        "",
    ),
    (
        "chat",
        "wechat",
        "inbound",
        "WeChat question",
        "{name} asked on WeChat whether {product} ships abroad.",
        "Answered",
        "",
    ),
)
TASKS_ZH = (
    "回访{name}，了解{product}的使用情况",
    "给{name}发送报价单",
    "与{name}确认合同条款",
    "提醒{name}续订",
    "准备{name}的节日礼品",
)
TASKS_EN = ("Follow up with {name}", "Send {name} the quotation", "Renewal reminder for {name}")
STAGE_CAUSES = {
    "active": "多次复购",
    "at_risk": "超过120天未下单",
    "churned": "一年以上未下单",
}


def weighted(pairs) -> tuple:
    """A flat tuple in which each value appears as often as its weight (for fast choice)."""
    return tuple(v for v, w in pairs for _ in range(w))
