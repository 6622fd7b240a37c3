"""Canonical tables (SPEC §1): columns, types, keys, built-in header aliases and coded values.

This module is pure data: the loader builds its SQL from it and the store its DDL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

# column kinds: how a text cell from a file becomes a typed value
TEXT, CODE, NUMBER, MONEY, INT, DATE, MONTH, LIST, SCORE = (
    "text", "code", "number", "money", "int", "date", "month", "list", "score")

SQL_TYPES = {
    TEXT: "VARCHAR",
    CODE: "VARCHAR",
    NUMBER: "DECIMAL(18,6)",  # tons to the gram: 1,234 L of gasoline at 0.737 kg/L is 0.909458 t
    MONEY: "DECIMAL(18,2)",
    INT: "INTEGER",
    DATE: "DATE",
    MONTH: "DATE",
    LIST: "VARCHAR[]",
    SCORE: "DOUBLE",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    # coded values: the lookup ('level', 'ctype', 'category') that maps a label (黄金) to its id (gold);
    # a value no lookup knows is kept as written. For a LIST column every element is mapped.
    coded: str | None = None
    # a conversion other than the kind's macro: SQL over the staged text columns (x_<name>)
    convert: str | None = None
    # the date of an event (an order, a bill, a visit, a lead): outside load.date_min .. today +
    # load.date_max_days_ahead it is a mistyping and the row a reject. Dates that may lie far ahead or
    # far back by nature (contract ends, plan months, validity windows with 9999-12-31 meaning
    # "open", archive dates from before 2000) are not checked.
    event: bool = False


@dataclass(frozen=True)
class Check:
    """A row check beyond the column kinds: rows where ``when`` holds are rejected with ``reason``
    (a key of the loader's REASONS), naming ``field`` and showing ``value``. SQL over the typed
    stage: typed columns by name, the text as read as x_<name>."""

    field: str
    reason: str
    when: str
    value: str = "NULL"


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    keep_extra: bool = False  # unknown columns go to <name>_extra instead of being ignored
    # columns derived at load time (not read from the file): name -> SQL type
    derived: tuple[tuple[str, str], ...] = field(default=())
    # SQL for the derived columns and for values filled in when empty, over the typed stage
    derived_sql: tuple[tuple[str, str], ...] = ()
    fills: tuple[tuple[str, str], ...] = ()
    checks: tuple[Check, ...] = ()
    # the header must name at least one of these columns, and every row must fill one
    one_of: tuple[str, ...] = ()
    # (quantity column, unit column): the quantity is converted to units.base by the row's unit
    quantity_unit: tuple[str, str] | None = None
    # key rule when the file lacks the last key column: rows match by the key columns before it
    # (an orders export without line numbers replaces whole orders) and that column is numbered
    # in file order
    numbered_key: str | None = None
    # (code, valid_from, valid_to): validity windows of one code must not overlap
    windows: tuple[str, str, str] | None = None
    # SQL values looked up in [units.density] for a mass <-> volume conversion; the first that has a
    # density wins
    density_by: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def C(name: str, kind: str = TEXT, *aliases: str, required: bool = False, doc: str = "", coded: str | None = None,
      convert: str | None = None, event: bool = False) -> Column:
    return Column(name, kind, required, tuple(aliases), doc, coded, convert, event)


CUSTOMERS = Table(
    "customers", "客户档案", ("customer_id",),
    (
        C("customer_id", CODE, "客户编码", "客户代码", "客户编号", "客户号", "客户id", "customer_code", "cust_id",
          "customer", required=True),
        C("name", TEXT, "客户名称", "客户名", "客户全称", "单位名称", "customer_name", required=True),
        C("region", TEXT, "归属地域", "市公司", "地市", "地区", "所属地市", "区域", "city"),
        C("district", TEXT, "片区", "县公司", "区县", "片区名称"),
        C("industry", TEXT, "所属行业", "行业", "行业类别", "行业分类"),
        C("manager_id", CODE, "客户经理", "客户经理编码", "客户经理工号", "manager", "account_manager"),
        C("maintenance_level", TEXT, "维护级别", "维护层级", "maintenance"),
        C("level", TEXT, "客户级别", "客户等级", "级别", "等级", "customer_level", "grade", coded="level"),
        C("customer_type", TEXT, "直销/分销", "客户类型", "直分销", "销售类型", "type", coded="ctype"),
        C("annual_demand", NUMBER, "年需求量", "年需求量(吨)", "年用油量", "年需求", "demand"),
        C("expected_volume", NUMBER, "购油量预判值", "预判购油量", "年预判量", "预计购油量", "expected"),
        C("competitor", TEXT, "竞争对手", "主要竞争对手"),
        C("service_type", TEXT, "服务类型", "服务方式"),
        C("loyalty_type", TEXT, "忠诚度类型", "忠诚度"),
        C("positioning_fit", SCORE, "定位匹配", "定位匹配度", "positioning"),
        C("capability_fit", SCORE, "能力匹配", "能力匹配度", "capability"),
        C("values_fit", SCORE, "价值观匹配", "价值观匹配度", "values"),
        C("reputation", SCORE, "口碑", "口碑评分", "信誉", "信誉评分"),
        C("risk_level", TEXT, "风险等级", "风险级别", "risk"),
        C("peak_season", TEXT, "旺季", "用油旺季", "peak"),
        C("created_date", DATE, "建档日期", "建档时间", "创建日期", "created"),
        C("contact", TEXT, "联系人", "contact_name"),
        C("phone", TEXT, "联系电话", "电话", "手机", "手机号", "telephone", "mobile"),
    ),
    keep_extra=True,
)

ORDERS = Table(
    "orders", "ERP订单", ("order_id", "line_no"),
    (
        C("order_id", CODE, "订单号", "凭证号", "销售订单号", "订单编号", "单据号", "单号", "交货单号", "order_no",
          "order", required=True),
        C("line_no", INT, "行号", "行项目", "项目号", "订单行号", "item", "line"),
        C("order_date", DATE, "订单日期", "过账日期", "开票日期", "出库日期", "日期", "业务日期", "date",
          required=True, event=True),
        C("customer_code", CODE, "客户编码", "客户代码", "客户编号", "售达方", "客户号", "客户", "customer",
          "customer_id", required=True),
        C("quantity", NUMBER, "数量", "销量", "销售数量", "实发数量", "发货数量", "qty", "volume", required=True),
        C("product_code", CODE, "物料编码", "品号", "物料号", "物料", "产品编码", "material", "product"),
        C("product_name", TEXT, "物料描述", "物料名称", "品名", "产品名称", "油品名称", "material_name"),
        # the category id from the category text, else from words in the product name, else other
        C("category", TEXT, "油品类别", "品类", "油品", "产品类别", "category_name",
          convert="crm_category(x_category, x_product_name)"),
        C("unit", TEXT, "单位", "计量单位", "销售单位", "uom"),
        C("amount", MONEY, "金额", "含税金额", "销售金额", "价税合计", "收入", "revenue", "sales"),
        C("cost", MONEY, "成本", "成本金额", "销售成本"),
        C("gross_profit", MONEY, "毛利", "毛利额", "毛利润", "profit", "margin"),
        C("sales_rep", TEXT, "业务员", "销售员", "销售代表", "rep"),
        C("plant", TEXT, "工厂", "油库", "库点", "发货油库", "depot", "warehouse"),
    ),
    # line_numbered: crmtool numbered the line (the export gave it no 行号); a later export of the
    # order with its own line numbers replaces such lines
    derived=(("quantity_raw", "DECIMAL(18,6)"), ("unit_raw", "VARCHAR"), ("line_numbered", "BOOLEAN")),
    derived_sql=(("quantity_raw", "quantity_raw"), ("unit_raw", "unit_raw"), ("line_numbered", "__numbered")),
    fills=(("gross_profit", "amount - cost"),),
    quantity_unit=("quantity", "unit"),
    # density keys are any product code or category the user names: the product code wins, then the
    # category as written, then the category id (gasoline, diesel, other)
    density_by=("lower(x_product_code)", "lower(x_category)", "category"),
    numbered_key="line_no",
)

CODE_MAP = Table(
    "code_map", "客户编码映射", ("erp_code", "valid_from"),
    (
        C("erp_code", CODE, "erp编码", "erp客户编码", "客户编码(erp)", "原客户编码", "子编码", "客户编码", "code",
          required=True),
        # (客户编码 last: the archive's code beside an ERP客户编码 column, which erp_code, matched first, takes)
        C("customer_id", CODE, "主客户编码", "集团客户编码", "档案客户编码", "统一客户编码", "customer",
          "master_id", "客户编码", required=True),
        C("valid_from", DATE, "生效日期", "起始日期", "开始日期", "from"),
        C("valid_to", DATE, "失效日期", "截止日期", "结束日期", "to"),
    ),
    checks=(Check("valid_to", "range", "valid_to < valid_from", "x_valid_to"),),
    windows=("erp_code", "valid_from", "valid_to"),
)

MANAGERS = Table(
    "managers", "客户经理", ("manager_id",),
    (
        C("manager_id", CODE, "客户经理编码", "工号", "员工编号", "经理编码", "客户经理工号", "id", "manager",
          required=True),
        C("name", TEXT, "姓名", "客户经理", "客户经理姓名", "名称", "manager_name", required=True),
        C("phone", TEXT, "电话", "联系电话", "手机", "mobile"),
        C("rank", TEXT, "级别", "职级", "岗位级别"),
        C("team", TEXT, "班组", "团队", "科室", "group"),
        C("region", TEXT, "地区", "市公司", "归属地域", "区域", "city"),
    ),
)

PLANS = Table(
    "plans", "计划", ("scope", "subject_id", "month", "category"),
    (
        C("month", MONTH, "月份", "计划月份", "年月", "期间", "period", required=True),
        C("volume", NUMBER, "计划量", "计划销量", "计划数量", "计划", "数量", "plan", "quantity", required=True),
        C("customer_id", CODE, "客户编码", "客户代码", "客户编号", "customer"),
        C("manager_id", CODE, "客户经理编码", "客户经理", "工号", "manager"),
        C("category", TEXT, "油品类别", "品类", "油品"),
    ),
    derived=(("scope", "VARCHAR"), ("subject_id", "VARCHAR")),
    derived_sql=(("scope", "CASE WHEN customer_id IS NOT NULL THEN 'customer' ELSE 'manager' END"),
                 ("subject_id", "coalesce(customer_id, manager_id)")),
    fills=(("category", "'all'"),),
    checks=(Check("customer_id", "subject", "x_customer_id IS NULL AND x_manager_id IS NULL"),),
    one_of=("customer_id", "manager_id"),
)

CONTRACTS = Table(
    "contracts", "合同", ("contract_id",),
    (
        C("contract_id", CODE, "合同编号", "合同号", "合同编码", "contract", required=True),
        C("customer_id", CODE, "客户编码", "客户代码", "客户编号", "customer", required=True),
        C("start_date", DATE, "start", "开始日期", "起始日期", "生效日期", "合同开始日期", required=True),
        C("end_date", DATE, "end", "结束日期", "截止日期", "到期日期", "合同结束日期", required=True),
        C("volume", NUMBER, "合同量", "合同数量", "合同销量", "数量", "quantity", required=True),
        C("amount", MONEY, "合同金额", "金额"),
    ),
    checks=(Check("end_date", "range", "end_date < start_date", "x_end_date"),),
)

CAMPAIGNS = Table(
    "campaigns", "营销活动", ("campaign_id",),
    (
        C("campaign_id", CODE, "活动编号", "活动编码", "活动id", "campaign", required=True),
        C("name", TEXT, "活动名称", "名称", "campaign_name", required=True),
        C("start_date", DATE, "start", "开始日期", "活动开始日期", "起始日期", required=True),
        C("end_date", DATE, "end", "结束日期", "活动结束日期", "截止日期", required=True),
        C("customers", LIST, "目标客户", "客户", "客户编码", "target_customers"),
        C("levels", LIST, "目标级别", "客户级别", "级别", coded="level"),
        C("industries", LIST, "目标行业", "行业"),
        C("products", LIST, "活动油品", "油品", "产品", "物料", coded="category"),
    ),
    checks=(Check("end_date", "range", "end_date < start_date", "x_end_date"),),
)

FREIGHT = Table(
    "freight", "配送运费单", ("bill_id",),
    (
        C("bill_id", CODE, "运单号", "运费单号", "单号", "配送单号", "bill", required=True),
        C("bill_date", DATE, "date", "日期", "配送日期", "运输日期", "发运日期", required=True, event=True),
        C("customer_id", CODE, "客户编码", "客户代码", "客户编号", "customer", required=True),
        C("quantity", NUMBER, "数量", "配送量", "运量", "吨数", "qty", required=True),
        C("freight_cost", MONEY, "运费", "运费金额", "配送费用", "freight", "cost", required=True),
        C("carrier", TEXT, "承运商", "承运单位", "车队"),
        C("route", TEXT, "线路", "路线", "运输线路"),
        C("distance_km", NUMBER, "运距", "里程", "距离", "公里数", "distance"),
    ),
)

LEADS = Table(
    "leads", "线索", ("lead_id",),
    (
        C("lead_id", CODE, "线索编号", "线索id", "商机编号", "lead", required=True),
        C("created_date", DATE, "created", "创建日期", "登记日期", "日期", required=True, event=True),
        C("manager_id", CODE, "客户经理编码", "客户经理", "工号", "manager", required=True),
        C("converted_customer_id", CODE, "转化客户编码", "成交客户编码", "客户编码", "converted_customer"),
        C("converted_date", DATE, "转化日期", "成交日期", "converted", event=True),
        C("source", TEXT, "来源", "线索来源", "渠道"),
    ),
)

VISITS = Table(
    "visits", "拜访记录", ("visit_id",),
    (
        C("visit_id", CODE, "拜访编号", "记录编号", "拜访id", "visit", required=True),
        C("visit_date", DATE, "date", "拜访日期", "日期", required=True, event=True),
        C("customer_id", CODE, "客户编码", "客户代码", "客户编号", "customer", required=True),
        C("manager_id", CODE, "客户经理编码", "客户经理", "工号", "manager", required=True),
        C("kind", TEXT, "拜访方式", "方式", "类型", "type"),
        C("note", TEXT, "拜访内容", "备注", "内容", "notes"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (
    CUSTOMERS, ORDERS, CODE_MAP, MANAGERS, PLANS, CONTRACTS, CAMPAIGNS, FREIGHT, LEADS, VISITS)}

# Chinese names accepted for the TABLE argument of `crmtool load`
TABLE_ALIASES = {t.zh: t.name for t in TABLES.values()} | {"客户": "customers", "订单": "orders",
                                                           "编码映射": "code_map", "运费": "freight"}

# ---------------------------------------------------------------------------------------------
# coded values: canonical id -> accepted spellings (ids match too, case-insensitively)

CATEGORIES = {
    # (not "gas": at a seller of natural gas that is 天然气, which gasoline's density would turn 1000 m3
    # into 737 t of gasoline)
    "gasoline": ("汽油", "gasoline", "petrol", "车用汽油", "乙醇汽油"),
    "diesel": ("柴油", "diesel", "车用柴油", "普通柴油"),
    "other": ("其他", "其它", "other", "润滑油", "燃料油", "煤油", "航煤", "lpg", "天然气", "化工"),
}
# patterns that name the category inside a product description (物料描述) when no category column exists
CATEGORY_PATTERNS = (("gasoline", "%汽油%"), ("diesel", "%柴油%"), ("gasoline", "%gasoline%"), ("diesel", "%diesel%"))

UNITS = {
    # id: (kind, factor to kg or L, spellings)
    "t": ("mass", 1000.0, ("t", "吨", "ton", "tons", "tonne", "tonnes", "公吨", "mt")),
    "kg": ("mass", 1.0, ("kg", "公斤", "千克", "kgs")),
    "L": ("volume", 1.0, ("l", "升", "公升", "litre", "liter", "litres", "liters", "ltr")),
    "kL": ("volume", 1000.0, ("kl", "千升")),
    "m3": ("volume", 1000.0, ("m3", "m³", "立方米", "立方", "方", "cbm", "nm3", "nm³", "标方", "标立方米",
                              "标准立方米")),
    # natural gas is sold by ten thousand cubic metres (万立方米, 万方)
    "10k_m3": ("volume", 10_000_000.0, ("万立方米", "万方", "万m3", "万m³", "万标方", "万nm3")),
}

CUSTOMER_TYPES = {
    "direct": ("直销", "direct", "直销客户"),
    "distribution": ("分销", "distribution", "分销客户", "经销", "distributor"),
}


@functools.lru_cache(maxsize=8192)  # header matching calls it for every cell of the head rows
def normalize_header(h: object) -> str:
    """Lower-case, drop BOM, spaces, underscores' neighbours and full-width punctuation for matching."""
    s = str(h or "").replace("\ufeff", "").strip().lower()
    s = s.replace("（", "(").replace("）", ")").replace("：", ":")
    return re.sub(r"[\s_\-:：/\\.]+", "", s)


_PAREN = re.compile(r"^(.*?)\s*[\(（\[【]\s*([^\)）\]】]*)\s*[\)）\]】]\s*$")


@functools.lru_cache(maxsize=8192)  # header matching calls it for every cell of the head rows
def split_header_unit(h: str) -> tuple[str, str | None]:
    """'数量(吨)' -> ('数量', 't'); '数量' -> ('数量', None); '客户编码(ERP)' -> unchanged."""
    m = _PAREN.match(str(h or "").strip())
    if not m:
        return str(h or ""), None
    unit = unit_id(m.group(2))
    return (m.group(1), unit) if unit else (str(h), None)


# money written in a larger unit in the header: 金额(万元) multiplies the column by 10,000
MONEY_SCALES = {"元": 1, "人民币": 1, "rmb": 1, "cny": 1, "千元": 1000, "万元": 10000, "万": 10000}


@functools.lru_cache(maxsize=8192)  # header matching calls it for every cell of the head rows
def split_header_scale(h: str) -> tuple[str, int | None]:
    """'金额(万元)' -> ('金额', 10000); '金额(元)' -> ('金额', 1); '金额' -> ('金额', None)."""
    m = _PAREN.match(str(h or "").strip())
    if not m:
        return str(h or ""), None
    scale = MONEY_SCALES.get(m.group(2).strip().lower())
    return (m.group(1), scale) if scale else (str(h), None)


def unit_id(text: str) -> str | None:
    t = (text or "").strip().lower()
    for uid, (_, _, spellings) in UNITS.items():
        if t == uid.lower() or t in spellings:
            return uid
    return None
