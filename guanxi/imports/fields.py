"""What a file's columns can be imported as, per kind of import, and the automatic mapping
from the headers people write (in Chinese or English) to those fields."""

import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from guanxi.customers.cleaning import fold

from .choices import ImportKind


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: object  # a lazy translation
    aliases: tuple[str, ...] = ()
    multi: bool = False  # several columns may feed it (phones from 手机 and 电话)
    required: bool = False


def _f(key, label, *aliases, multi=False, required=False) -> FieldSpec:
    return FieldSpec(key, label, tuple(aliases), multi, required)


# Header words are compared folded, lower-cased, without spaces, punctuation or a trailing
# "(必填)" / "*"; so "E-mail", "e mail" and "邮箱：" are the same header.
CUSTOMER_FIELDS = [
    _f("name", _("Name"), "姓名", "名字", "客户名称", "客户姓名", "客户名", "名称", "客户",
       "name", "fullname", "customer", "customername", "contactname", required=True),
    _f("kind", _("Kind (person or company)"), "类型", "客户类型", "个人企业", "kind", "type",
       "customertype"),
    _f("company_name", _("Company"), "公司", "公司名称", "单位", "工作单位", "所在公司", "企业",
       "企业名称", "company", "companyname", "organization", "organisation", "employer"),
    _f("job_title", _("Job title"), "职位", "职务", "岗位", "头衔", "jobtitle", "title",
       "position", "role"),
    _f("phones", _("Phone"), "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话",
       "联系方式", "座机", "固话", "固定电话", "移动电话", "办公电话", "mobile", "mobilephone",
       "phone", "phonenumber", "tel", "telephone", "cell", "cellphone", multi=True),
    _f("emails", _("Email"), "邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "email",
       "emailaddress", "mail", multi=True),
    _f("province", _("Province"), "省", "省份", "省直辖市", "所在省", "province", "state"),
    _f("city", _("City"), "市", "城市", "所在城市", "地级市", "city", "town"),
    _f("district", _("District"), "区", "区县", "县区", "区域", "district", "county"),
    _f("street", _("Street address"), "地址", "详细地址", "街道", "街道地址", "联系地址",
       "通讯地址", "收货地址", "address", "street", "streetaddress", "address1"),
    _f("postcode", _("Postcode"), "邮编", "邮政编码", "postcode", "zip", "zipcode",
       "postalcode"),
    _f("industry", _("Industry"), "行业", "所属行业", "industry", "sector"),
    _f("company_size", _("Company size"), "规模", "公司规模", "企业规模", "人数", "员工人数",
       "companysize", "size", "employees"),
    _f("business_scope", _("Business scope"), "经营范围", "业务范围", "主营业务",
       "businessscope"),
    _f("source", _("Source channel"), "来源", "客户来源", "来源渠道", "获客渠道", "渠道",
       "source", "leadsource", "channel"),
    _f("owner", _("Owner"), "负责人", "销售", "销售员", "业务员", "归属人", "客户经理", "跟进人",
       "owner", "salesrep", "accountmanager", "assignedto"),
    _f("birthday", _("Birthday"), "生日", "出生日期", "出生年月", "出生年月日", "birthday",
       "dateofbirth", "dob", "birthdate"),
    _f("gender", _("Gender"), "性别", "gender", "sex"),
    _f("preferred_channel", _("Preferred contact channel"), "首选联系方式", "偏好渠道",
       "联系偏好", "preferredchannel", "preferredcontact"),
    _f("stage", _("Lifecycle stage"), "阶段", "客户阶段", "生命周期", "客户状态",
       "lifecyclestage", "stage"),
    _f("tags", _("Tags"), "标签", "客户标签", "tags", "tag", "labels"),
    _f("notes", _("Notes"), "备注", "说明", "备注信息", "notes", "note", "remark", "remarks",
       "comment", "comments"),
    _f("external_id", _("External id"), "编号", "客户编号", "外部编号", "会员号", "会员编号",
       "会员卡号", "客户id", "id", "externalid", "customerid", "customernumber", "memberid"),
]  # fmt: skip

# Columns that name the customer a contact, order or interaction belongs to.
CUSTOMER_KEY_FIELDS = [
    _f("customer_external_id", _("Customer external id"), "客户编号", "会员号", "会员编号",
       "客户id", "customerid", "customerexternalid", "externalid", "memberid"),
    _f("customer_phone", _("Customer phone"), "客户手机", "客户电话", "手机", "手机号", "电话",
       "联系电话", "customerphone", "phone", "mobile"),
    _f("customer_email", _("Customer email"), "客户邮箱", "邮箱", "customeremail", "email"),
]  # fmt: skip

CONTACT_FIELDS = [
    _f("company_external_id", _("Company external id"), "公司编号", "企业编号", "客户编号",
       "companyid", "customerid", "companyexternalid"),
    _f("company", _("Company"), "公司", "公司名称", "企业", "企业名称", "单位", "客户",
       "客户名称", "company", "companyname", "customer", "account"),
    _f("name", _("Contact name"), "姓名", "联系人", "联系人姓名", "名字", "name",
       "contactname", "fullname", required=True),
    _f("title", _("Job title"), "职位", "职务", "岗位", "title", "jobtitle", "position"),
    _f("phone", _("Phone"), "手机", "手机号", "电话", "联系电话", "phone", "mobile", "tel"),
    _f("email", _("Email"), "邮箱", "电子邮箱", "email", "mail"),
    _f("is_primary", _("Primary contact"), "主要联系人", "首要联系人", "primary",
       "primarycontact", "isprimary"),
    _f("notes", _("Notes"), "备注", "说明", "notes", "note", "remark", "remarks"),
]  # fmt: skip

ORDER_FIELDS = [
    *CUSTOMER_KEY_FIELDS,
    _f("number", _("Order number"), "订单号", "订单编号", "单号", "ordernumber", "orderno",
       "orderid", "order", "number", required=True),
    _f("ordered_at", _("Order date"), "下单时间", "下单日期", "订单日期", "日期", "时间",
       "购买日期", "orderdate", "orderedat", "date", "purchasedate", required=True),
    _f("status", _("Status"), "订单状态", "状态", "status", "orderstatus"),
    _f("channel", _("Sales channel"), "渠道", "销售渠道", "下单渠道", "channel",
       "saleschannel"),
    _f("currency", _("Currency"), "币种", "货币", "currency"),
    _f("total", _("Order amount"), "金额", "订单金额", "总金额", "实付金额", "合计", "总价",
       "amount", "total", "ordertotal", "orderamount"),
    _f("product_name", _("Product"), "商品", "商品名称", "产品", "产品名称", "品名",
       "product", "productname", "item"),
    _f("sku", _("SKU"), "sku", "商品编码", "货号", "产品编码", "productcode"),
    _f("category", _("Category"), "品类", "类别", "分类", "商品分类", "category"),
    _f("quantity", _("Quantity"), "数量", "件数", "quantity", "qty"),
    _f("unit_price", _("Unit price"), "单价", "unitprice", "price"),
    _f("discount", _("Discount"), "优惠", "折扣金额", "优惠金额", "discount"),
    _f("line_amount", _("Line amount"), "小计", "行金额", "lineamount", "linetotal",
       "subtotal"),
    _f("notes", _("Notes"), "备注", "notes", "note", "remark"),
]  # fmt: skip

INTERACTION_FIELDS = [
    *CUSTOMER_KEY_FIELDS,
    _f("kind", _("Type"), "类型", "互动类型", "方式", "跟进方式", "type", "kind"),
    _f("direction", _("Direction"), "方向", "呼入呼出", "direction"),
    _f("channel", _("Channel"), "渠道", "channel"),
    _f("subject", _("Subject"), "主题", "标题", "事由", "subject", "title"),
    _f("body", _("Content"), "内容", "详情", "记录", "沟通内容", "跟进内容", "body",
       "content", "details", "description"),
    _f("outcome", _("Outcome"), "结果", "跟进结果", "outcome", "result"),
    _f("next_step", _("Next step"), "下一步", "下一步计划", "nextstep", "next"),
    _f("occurred_at", _("Time"), "时间", "日期", "跟进时间", "沟通时间", "发生时间", "date",
       "time", "occurredat", "datetime", required=True),
    _f("user", _("By (user)"), "负责人", "跟进人", "员工", "销售", "user", "by", "owner"),
]  # fmt: skip

CATALOGUE = {
    ImportKind.CUSTOMERS: CUSTOMER_FIELDS,
    ImportKind.CONTACTS: CONTACT_FIELDS,
    ImportKind.ORDERS: ORDER_FIELDS,
    ImportKind.INTERACTIONS: INTERACTION_FIELDS,
}


def header_key(header: str) -> str:
    """A header as compared with aliases: "E-mail" → email, "手机（必填）*" → 手机."""
    text = fold(header).lower()
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", text)  # (必填), （选填）, [单位]
    text = re.sub(r"[\s_\-.:：*#/\\'\"’]+", "", text)
    return text


def fields_for(kind: str, definitions=()) -> list[FieldSpec]:
    """The fields of an import of `kind`; customers also get the admin-defined custom fields."""
    fields = list(CATALOGUE[kind])
    if kind == ImportKind.CUSTOMERS:
        for d in definitions:
            aliases = tuple(
                {header_key(d.label_zh), header_key(d.label_en or ""), header_key(d.key)} - {""}
            )
            fields.append(FieldSpec(f"cf_{d.key}", d.label, aliases))
    return fields


def auto_map(headers: list[str], kind: str, definitions=()) -> dict[str, str]:
    """Column position → field key, from the headers; each single field takes the first
    column that names it, a multi field (phones) every one."""
    fields = fields_for(kind, definitions)
    by_alias: dict[str, FieldSpec] = {}
    for spec in fields:
        for alias in (*spec.aliases, spec.key.replace("_", "")):
            by_alias.setdefault(alias, spec)
    for language in ("zh-hans", "en"):  # a column headed with the field's own label
        with translation.override(language):
            for spec in fields:
                by_alias.setdefault(header_key(str(spec.label)), spec)
    mapping, taken = {}, set()
    for i, header in enumerate(headers):
        spec = by_alias.get(header_key(header))
        if spec is None or (spec.key in taken and not spec.multi):
            continue
        mapping[str(i)] = spec.key
        taken.add(spec.key)
    return mapping


def apply_saved(headers: list[str], columns: dict[str, str], kind: str, definitions=()):
    """A saved mapping (header → field) applied to this file's headers."""
    known = {spec.key for spec in fields_for(kind, definitions)}
    by_header = {header_key(h): f for h, f in columns.items() if f in known}
    return {
        str(i): by_header[header_key(h)]
        for i, h in enumerate(headers)
        if header_key(h) in by_header
    }
