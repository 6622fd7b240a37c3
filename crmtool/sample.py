"""Deterministic sample exports of a provincial refined-oil distributor (成品油直分销).

:func:`write_sample` writes what a 省公司 analyst would export from its systems, with the mess real
exports have: an XLSX archive with a title row above the header, text codes with leading zeros and
real Excel dates; a GBK ERP order export with mixed date formats, litre lines, red-ink returns
(红字冲销) and three bad rows; group customers (集团客户) whose extra ERP codes resolve through a code
map; ERP codes in neither the map nor the archive; prospects that never buy; churners, win-backs,
new customers; plans, contracts, two campaigns with a measurable lift, freight bills, leads and
visits. The same seed writes byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# vocabulary

CITIES = {  # city -> (片区 / 县公司, 油库)
    "济南": (("历下", "章丘", "长清", "平阴", "商河"), ("济南油库", "章丘油库")),
    "青岛": (("黄岛", "即墨", "胶州", "平度", "莱西"), ("青岛黄岛油库", "平度油库")),
    "淄博": (("张店", "临淄", "桓台", "沂源"), ("淄博油库",)),
    "枣庄": (("市中", "滕州", "薛城"), ("枣庄油库",)),
    "东营": (("东营区", "广饶", "利津", "垦利"), ("东营油库",)),
    "烟台": (("芝罘", "龙口", "蓬莱", "莱州", "招远"), ("烟台油库", "龙口油库")),
    "潍坊": (("奎文", "寿光", "青州", "诸城", "高密"), ("潍坊油库", "寿光油库")),
    "济宁": (("任城", "兖州", "曲阜", "邹城", "梁山"), ("济宁油库",)),
    "泰安": (("泰山", "新泰", "肥城", "宁阳"), ("泰安油库",)),
    "威海": (("环翠", "荣成", "乳山", "文登"), ("威海油库",)),
    "日照": (("东港", "莒县", "五莲"), ("日照油库",)),
    "临沂": (("兰山", "罗庄", "沂水", "郯城", "费县"), ("临沂油库", "沂水油库")),
    "德州": (("德城", "禹城", "乐陵", "齐河"), ("德州油库",)),
    "聊城": (("东昌府", "临清", "茌平", "冠县"), ("聊城油库",)),
    "滨州": (("滨城", "邹平", "博兴", "惠民"), ("滨州油库",)),
    "菏泽": (("牡丹", "曹县", "单县", "郓城"), ("菏泽油库",)),
}
CITY_WEIGHTS = {"济南": 9, "青岛": 10, "淄博": 6, "枣庄": 3, "东营": 5, "烟台": 7, "潍坊": 8, "济宁": 6,
                "泰安": 4, "威海": 3, "日照": 3, "临沂": 7, "德州": 4, "聊城": 4, "滨州": 4, "菏泽": 5}

# industry -> (weight, gasoline share range, seasonal amplitude, name words, name suffixes)
INDUSTRIES = {
    "交通运输/物流": (24, (0.0, 0.15), 0.5, ("运输", "物流", "货运", "汽运", "快运", "储运"), ("有限公司", "有限责任公司")),
    "建筑施工": (14, (0.0, 0.10), 0.8, ("建设", "建工", "路桥", "市政工程", "建筑安装"), ("有限公司", "集团有限公司")),
    "农业": (11, (0.0, 0.08), 1.6, ("农机合作社", "农业发展", "种植专业合作社", "农场"), ("", "有限公司")),
    "工矿企业": (11, (0.0, 0.10), 0.3, ("矿业", "煤矿", "钢铁", "水泥", "石材"), ("有限公司", "集团有限公司")),
    "港口": (3, (0.0, 0.05), 0.3, ("港务", "港口物流", "码头"), ("有限公司", "集团有限公司")),
    "化工": (7, (0.05, 0.25), 0.2, ("化工", "石化", "化学", "新材料"), ("有限公司", "股份有限公司")),
    "渔业": (4, (0.0, 0.05), 1.0, ("渔业", "远洋渔业", "水产"), ("有限公司", "合作社")),
    "公交": (3, (0.0, 0.20), 0.2, ("公共交通", "公交", "客运"), ("集团有限公司", "有限公司")),
    "社会加油站": (15, (0.40, 0.70), 0.4, ("加油站", "能源", "石油经销"), ("", "有限公司")),
    "机关事业单位": (3, (0.30, 0.70), 0.1, ("环卫", "市政", "园林"), ("处", "中心")),
}
BRAND = ("宏达", "鲁丰", "恒通", "华信", "泰和", "金鼎", "瑞丰", "鑫源", "永盛", "昌盛", "东方", "海岳", "齐鲁", "顺通",
         "远洋", "盛世", "佳和", "天成", "利民", "新港", "长城", "德润", "汇通", "嘉禾", "荣达", "万通", "鸿运", "正阳",
         "中联", "华鲁", "兴旺", "广源", "通达", "安泰", "富民", "金港", "蓝海", "凯旋", "润德", "祥和")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华",
         "建国", "建华", "志强", "海燕", "晓东", "丽", "鹏", "辉", "玉兰", "红梅", "国庆", "立新", "文博", "子豪",
         "雪", "峰", "斌", "凯", "宁", "琳", "振华", "春生", "德明", "永刚", "成", "浩")

PRODUCTS = {  # code: (description, category, base price yuan/t)
    "10100092": ("92#车用汽油(VIB)", "汽油", 8950.0),
    "10100095": ("95#车用汽油(VIB)", "汽油", 9350.0),
    "10100098": ("98#车用汽油(VIB)", "汽油", 9450.0),
    "10200000": ("0#车用柴油(VI)", "柴油", 7850.0),
    "10200010": ("-10#车用柴油(VI)", "柴油", 8100.0),
}
DENSITY = {"汽油": 0.737, "柴油": 0.84}
PRICE_RANGE = {"汽油": (8500.0, 9500.0), "柴油": (7500.0, 8300.0)}
# diesel monthly seasonality: 三夏 (late May–June) and 三秋 (Sept–Oct) peaks, winter dip
DIESEL_SEASON = (0.80, 0.70, 0.95, 1.00, 1.12, 1.30, 0.95, 0.95, 1.20, 1.25, 0.95, 0.83)
GASOLINE_SEASON = (1.05, 1.10, 0.95, 0.98, 1.02, 1.00, 1.03, 1.05, 0.98, 1.06, 0.92, 0.96)

COMPETITORS = ("中石油", "中海油", "地炼", "社会经销商", "无")
SERVICE_TYPES = ("配送到户", "客户自提", "配送+自提", "油卡结算")
RISK = ("低", "低", "低", "中", "中", "高")
PEAKS = {"农业": "三夏、三秋", "渔业": "春季、秋季", "建筑施工": "3-11月", "社会加油站": "全年"}
MAINT = ("客户经理", "副主任", "主任", "分管经理", "总经理")
CARRIERS = ("山东鲁通危货运输有限公司", "齐鲁石化物流有限公司", "顺安危险品运输车队", "中石化物流配送中心")
LEAD_SOURCES = ("市场走访", "客户转介绍", "电话营销", "招投标信息", "网络平台", "行业展会")
VISIT_KINDS = ("上门拜访", "上门拜访", "电话拜访", "微信沟通", "座谈会")
VISIT_NOTES = ("了解下月用油计划", "沟通价格政策", "回访配送服务满意度", "催收应收货款", "走访竞争对手情况",
               "推介油卡业务", "三夏用油需求摸排", "协调配送时间", "签订年度购油合同", "处理质量投诉",
               "节前备货沟通", "了解客户停购原因")
EPOCH = dt.datetime(2025, 12, 31, 0, 0, 0)  # fixed workbook timestamps: byte-identical xlsx


def _month_add(year: int, month: int, n: int) -> tuple[int, int]:
    y, m = divmod(month - 1 + n, 12)
    return year + y, m + 1


def _days_in(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


def _fmt_date(d: dt.date, slash: bool) -> str:
    return f"{d.year}/{d.month}/{d.day}" if slash else d.isoformat()


def _write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> Path:
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _fix_zip_times(path: Path) -> None:
    """Rewrite the xlsx with fixed zip entry times and core-property dates (byte-identical output)."""
    import re
    import zipfile

    data = {}
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for n in names:
            data[n] = z.read(n)
    stamp = EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    if "docProps/core.xml" in data:
        data["docProps/core.xml"] = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                           rb"\g<1>" + stamp + rb"\g<2>", data["docProps/core.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            info = zipfile.ZipInfo(n, date_time=EPOCH.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data[n])


# ---------------------------------------------------------------------------------------------


def write_sample(out: Path | str, *, seed: int = 7, customers: int = 1500, managers: int = 30, years: int = 3,
                 end: dt.date = dt.date(2025, 12, 31)) -> dict[str, Path]:
    """Write the sample exports into `out` (created if missing); returns {table name: file path} in LOAD ORDER:
    managers, customers, code_map, orders, plans, contracts, campaigns, freight, leads, visits."""
    import random

    rng = random.Random(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_cust = max(10, int(customers))
    n_mgr = max(2, int(managers))
    years = max(1, int(years))

    # months covered by the orders: `years` × 12 months ending at end's month
    n_months = 12 * years
    months = [_month_add(end.year, end.month, k - n_months + 1) for k in range(n_months)]
    first_day = dt.date(*months[0], 1)

    def person_name(used: set[str]) -> str:
        for _ in range(200):
            given = rng.choice(GIVEN)
            nm = rng.choice(SURNAMES) + given
            if len(given) == 1 and rng.random() < 0.35:
                nm += rng.choice(("伟", "华", "明", "玲", "军", "平", "霞", "东", "亮", "婷"))
            if nm not in used:
                used.add(nm)
                return nm
        nm = rng.choice(SURNAMES) + rng.choice(GIVEN) + str(len(used))
        used.add(nm)
        return nm

    def mobile() -> str:
        return rng.choice(("13", "15", "18", "17", "13", "15")) + f"{rng.randrange(10**9):09d}"

    # ------------------------------------------------------------------ managers
    city_names = list(CITIES)
    mgr_cities: list[str] = []
    # every used city gets at least one manager; the rest by weight
    used_cities = city_names[: min(len(city_names), max(1, n_mgr // 2 if n_mgr < 32 else 16))]
    for i in range(n_mgr):
        if i < len(used_cities):
            mgr_cities.append(used_cities[i])
        else:
            mgr_cities.append(rng.choices(used_cities, [CITY_WEIGHTS[c] for c in used_cities])[0])
    mgr_names: set[str] = set()
    managers_rows = []
    mgrs = []  # dicts
    team_no: dict[str, int] = {}
    for i, city in enumerate(mgr_cities):
        mid = f"M{i + 1:03d}"
        name = person_name(mgr_names)
        team_no[city] = team_no.get(city, 0) + 1
        team = f"{city}直分销{'一二三四五六七八九十'[min(9, (team_no[city] - 1) // 3)]}组"
        rank = rng.choices(("高级客户经理", "客户经理", "客户经理", "助理客户经理"), (2, 4, 3, 1))[0]
        phone = mobile() if rng.random() > 0.05 else f"0531-8{rng.randrange(10**6):06d}"
        mgrs.append({"id": mid, "name": name, "city": city})
        managers_rows.append([mid, name, phone, rank, team, city])
    mgr_by_city: dict[str, list[dict]] = {}
    for m in mgrs:
        mgr_by_city.setdefault(m["city"], []).append(m)

    # ------------------------------------------------------------------ customers
    ind_names = list(INDUSTRIES)
    ind_weights = [INDUSTRIES[k][0] for k in ind_names]
    city_w = [CITY_WEIGHTS[c] for c in used_cities]
    cust_names: set[str] = set()
    contact_names: set[str] = set()
    custs: list[dict] = []
    num = 10000 + rng.randrange(500)
    for i in range(n_cust):
        num += rng.randint(1, 9)
        cid = f"01{num:08d}"
        city = rng.choices(used_cities, city_w)[0]
        district = rng.choice(CITIES[city][0])
        ind = rng.choices(ind_names, ind_weights)[0]
        _, gs_range, amp, words, suffixes = INDUSTRIES[ind]
        for _ in range(50):
            place = rng.choice((city, city, district, city + district))
            word = rng.choice(words)
            nm = place + rng.choice(BRAND) + word + ("" if word.endswith(("合作社", "农场")) else rng.choice(suffixes))
            if ind == "社会加油站" and nm.endswith("加油站"):
                nm = place + rng.choice(BRAND) + rng.choice(("第一", "第二", "东关", "西郊", "南环", "北外环", "")) + "加油站"
            if nm not in cust_names:
                break
        else:
            nm = nm + f"{i}号"
        cust_names.add(nm)
        r = rng.random()
        if r < 0.02:
            demand = rng.uniform(10000, 60000)
        elif r < 0.09:
            demand = rng.uniform(2000, 10000)
        else:
            demand = min(2000.0, max(80.0, rng.lognormvariate(math.log(450), 0.75)))
        demand = round(demand / 10) * 10 if demand > 500 else round(demand)
        competitor = rng.choices(COMPETITORS, (18, 6, 22, 14, 40))[0]
        sow = rng.uniform(0.75, 1.0) if competitor == "无" else rng.uniform(0.3, 0.9)
        ctype = "分销" if ind == "社会加油站" or rng.random() < 0.12 else "直销"
        mgr = rng.choice(mgr_by_city[city])
        custs.append({
            "id": cid, "name": nm, "city": city, "district": district, "industry": ind, "demand": float(demand),
            "sow": sow, "gs": rng.uniform(*gs_range), "amp": amp, "competitor": competitor, "ctype": ctype,
            "mgr": mgr, "trend": rng.gauss(0.02, 0.08), "discount": rng.uniform(0.0, 0.02),
            "codes": [cid], "start": 0, "stop": None, "gap": None, "decline": 0, "kind": "regular",
            "depot": rng.choice(CITIES[city][1]), "distance": round(rng.uniform(8, 180), 1),
        })

    # customer fates (on a shuffled order so the sizes are mixed)
    order = list(range(n_cust))
    rng.shuffle(order)
    n_prospect = max(2, min(10, n_cust // 50)) if n_cust < 500 else 10
    n_churn = max(3, round(0.08 * n_cust))
    n_winback = max(2, round(0.03 * n_cust))
    n_new = max(3, round(0.015 * n_cust))
    n_group = max(3, round(0.05 * n_cust))
    pos = 0

    def take(k: int) -> list[dict]:
        nonlocal pos
        picked = [custs[j] for j in order[pos:pos + k]]
        pos += k
        return picked

    for c in take(n_prospect):
        c["kind"] = "prospect"
        c["demand"] = float(round(rng.uniform(100, 1500)))
    for c in take(n_churn):
        c["kind"] = "churn"
        c["stop"] = rng.randrange(min(6, n_months - 3), n_months - 1)
        c["decline"] = rng.randint(3, 6)
    for c in take(n_winback):
        c["kind"] = "winback"
        g0 = rng.randrange(max(1, n_months - 22), max(2, n_months - 9))
        c["gap"] = (g0, g0 + rng.randint(4, 7))
    for c in take(n_new):
        c["kind"] = "new"
        c["start"] = n_months - rng.randint(1, 6)
    # customers that joined during the period (not the last six months)
    for c in take(max(1, n_cust // 25)):
        c["kind"] = "joined"
        c["start"] = rng.randrange(1, max(2, n_months - 6))
    for c in rng.sample([c for c in custs if c["kind"] in ("regular", "joined")], min(n_group, n_cust // 4)):
        c["group"] = True
        c["demand"] = max(c["demand"], float(round(rng.uniform(1500, 8000) / 10) * 10))
        c["codes"] = [c["id"]] + [f"02{rng.randrange(10**8):08d}" for _ in range(rng.randint(1, 3))]

    # archive level: roughly following size, noisy
    noisy = sorted(custs, key=lambda c: -(math.log(c["demand"]) + rng.gauss(0, 0.45)))
    for k, c in enumerate(noisy):
        f = k / n_cust
        c["level"] = "钻石" if f < 0.03 else "铂金" if f < 0.10 else "黄金" if f < 0.25 else "普通"

    def created_date(c: dict) -> dt.date:
        if c["kind"] in ("new", "joined"):
            y, m = months[c["start"]]
            return dt.date(y, m, 1) - dt.timedelta(days=rng.randint(0, 40))
        if c["kind"] == "prospect" and rng.random() < 0.5:
            return end - dt.timedelta(days=rng.randint(10, 300))
        return first_day - dt.timedelta(days=rng.randint(30, 365 * 15))

    # ------------------------------------------------------------------ customers.xlsx
    cust_header = ["客户编码", "客户名称", "归属地域", "片区", "所属行业", "客户经理", "维护级别", "客户级别", "客户类型",
                   "年需求量", "购油量预判值", "竞争对手", "服务类型", "定位匹配", "能力匹配", "价值观匹配", "口碑",
                   "风险等级", "旺季", "建档日期", "联系人", "联系电话", "备注"]
    cust_rows = []
    for c in custs:
        d = c["demand"]
        mi = 4 if d >= 20000 else 3 if d >= 8000 else 2 if d >= 3000 else 1 if d >= 1000 else 0
        if rng.random() < 0.15:
            mi = min(4, max(0, mi + rng.choice((-1, 1))))
        expected = round(d * c["sow"] * rng.uniform(0.85, 1.15) / 10) * 10 if rng.random() > 0.05 else None
        if rng.random() < 0.30:
            fits = [None, None, None, None] if rng.random() < 0.7 else [None, None, None, rng.randint(55, 95)]
        else:
            base = rng.gauss(68, 12)
            fits = [max(0, min(100, round(base + rng.gauss(0, 9)))) for _ in range(4)]
        c["created"] = created_date(c)
        manager_cell = c["mgr"]["id"] if rng.random() > 0.02 else c["mgr"]["name"]  # a few name the manager
        note = None
        if c.get("group"):
            note = "集团客户，下属ERP编码：" + "、".join(c["codes"][1:])
        elif c["kind"] == "prospect":
            note = rng.choice(("意向客户，待首单", "已报价未成交", None))
        elif rng.random() < 0.06:
            note = rng.choice(("春节前备货", "要求夜间配送", "账期30天", "需开具专票", "油卡客户"))
        c["peak"] = PEAKS.get(c["industry"]) or rng.choice(("三夏、三秋", "全年", "冬季", "二、三季度"))
        cust_rows.append([
            c["id"], c["name"], c["city"], c["district"], c["industry"], manager_cell, MAINT[mi], c["level"],
            c["ctype"], d, expected, c["competitor"], rng.choice(SERVICE_TYPES), *fits,
            rng.choice(RISK), c["peak"], c["created"], person_name(contact_names), mobile(), note,
        ])

    # ------------------------------------------------------------------ campaigns (needed for the orders)
    c2_end = end
    c2_start = end - dt.timedelta(days=46)
    c2_name = "年末冲量" if end.month == 12 else "季末冲量"
    y1 = end.year if dt.date(end.year, 6, 30) <= end - dt.timedelta(days=60) else end.year - 1
    c1_start, c1_end = dt.date(y1, 5, 20), dt.date(y1, 6, 30)
    # campaign targets: steady mid-sized buyers (a 1.35–1.4× lift shows over their month-to-month noise)
    buyers = [c for c in custs if c["kind"] in ("regular", "joined") and c["start"] < n_months - 12
              and 500 <= c["demand"] <= 10000 and not c.get("group")]
    diesel_buyers = [c for c in buyers if c["industry"] in ("农业", "交通运输/物流", "建筑施工") and c["gs"] < 0.2]
    t1 = rng.sample(diesel_buyers, min(len(diesel_buyers), max(8, n_cust // 20)))
    big = [c for c in buyers if c["level"] in ("黄金", "铂金")]
    t2 = rng.sample(big, min(len(big), max(8, n_cust // 20)))
    campaigns = [
        ("HD" + str(c1_start.year) + "01", "三夏柴油促销", c1_start, c1_end, t1, "", "农业、交通运输/物流、建筑施工",
         "柴油", 1.40, {"柴油"}),
        ("HD" + str(c2_start.year) + "02", c2_name, c2_start, c2_end, t2, "黄金、铂金", "", "柴油、汽油", 1.35,
         {"柴油", "汽油"}),
    ]
    lift: dict[str, list[tuple[dt.date, dt.date, float, set]]] = {}
    for _, _, s, e, targets, _, _, _, f, cats in campaigns:
        for c in targets:
            lift.setdefault(c["id"], []).append((s, e, f, cats))

    # ------------------------------------------------------------------ orders
    # monthly list prices (yuan/t), a slow random walk around the base
    walk = 0.0
    price_idx = []
    for _ in months:
        walk = max(-0.045, min(0.045, walk + rng.gauss(0, 0.012)))
        price_idx.append(walk)

    orders: list[dict] = []  # one dict per voucher: date, slash, code, rep, depot, lines[[pcode, qty, unit, amt, cost]]
    reps = {m["id"]: m["name"] for m in mgrs}

    def price_of(pcode: str, k: int, c_discount: float) -> float:
        desc, cat, base = PRODUCTS[pcode]
        lo, hi = PRICE_RANGE[cat]
        p = base * (1 + price_idx[k]) * (1 - c_discount) * (1 + rng.gauss(0, 0.004))
        return max(lo, min(hi, p))

    def pick_product(cat: str, month: int) -> str:
        if cat == "汽油":
            return rng.choices(("10100092", "10100095", "10100098"), (62, 34, 4))[0]
        if month in (12, 1, 2) and rng.random() < 0.45:
            return "10200010"
        return "10200000"

    def make_line(c: dict, pcode: str, qty: float, k: int, litres_ok: bool = True) -> list:
        cat = PRODUCTS[pcode][1]
        qty = round(qty, 3)
        amount = round(qty * price_of(pcode, k, c["discount"]), 2)
        cost = round(amount * rng.uniform(0.93, 0.97), 2)
        if litres_ok and rng.random() < 0.03:
            return [pcode, f"{round(qty * 1000 / DENSITY[cat])}", "升", amount, cost]
        return [pcode, f"{qty:.3f}", "吨", amount, cost]

    def add_orders(c: dict, k: int, volume: float, codes: list[str], code_w: list[float]) -> None:
        y, m = months[k]
        last_day = _days_in(y, m)
        if (y, m) == (end.year, end.month):
            last_day = min(last_day, end.day)
        truck = rng.uniform(9, 16)
        n_orders = max(1, min(6, round(volume / truck + rng.random() - 0.5)))
        weights = [rng.uniform(0.6, 1.4) for _ in range(n_orders)]
        tot = sum(weights)
        for w in weights:
            day = dt.date(y, m, rng.randint(1, last_day))
            q_order = volume * w / tot
            boost = {cat: f for s, e, f, cats in lift.get(c["id"], ()) if s <= day <= e for cat in cats}
            n_lines = 1 if rng.random() < 0.62 else 2
            cats = ["汽油" if rng.random() < c["gs"] else "柴油"]
            if n_lines == 2:
                cats.append("柴油" if cats[0] == "汽油" or rng.random() < 0.5 else "汽油")
            lines = []
            used = set()
            split = rng.uniform(0.5, 0.8) if n_lines == 2 else 1.0
            for j, cat in enumerate(cats):
                pcode = pick_product(cat, m)
                if pcode in used:
                    continue
                used.add(pcode)
                q = q_order * (split if j == 0 else 1 - split) * boost.get(cat, 1.0)
                if q < 0.5:
                    q = rng.uniform(0.5, 2.0)
                lines.append(make_line(c, pcode, q, k))
            code = codes[0] if len(codes) == 1 else rng.choices(codes, code_w)[0]
            o = {"date": day, "slash": rng.random() < 0.12, "code": code, "rep": reps[c["mgr"]["id"]],
                 "depot": c["depot"] if rng.random() < 0.9 else rng.choice(CITIES[c["city"]][1]),
                 "lines": lines, "ref": None, "cust": c, "k": k}
            orders.append(o)

    for c in custs:
        if c["kind"] == "prospect":
            continue
        codes = c["codes"]
        code_w = [3.0] + [rng.uniform(0.5, 2.0) for _ in codes[1:]]
        monthly = c["demand"] * c["sow"] / 12
        p_buy = min(1.0, 0.45 + c["demand"] / 800)
        start = c["start"]
        for k in range(start, n_months):
            if c["stop"] is not None and k >= c["stop"]:
                break
            if c["gap"] is not None and c["gap"][0] <= k < c["gap"][1]:
                continue
            if c["kind"] == "new" and k == start:
                pass  # a new customer's first month always has a purchase
            elif rng.random() > p_buy:
                continue  # small customers buy irregularly
            mth = months[k][1]
            season = (c["gs"] * (1 + (GASOLINE_SEASON[mth - 1] - 1) * c["amp"])
                      + (1 - c["gs"]) * (1 + (DIESEL_SEASON[mth - 1] - 1) * c["amp"]))
            trend = (1 + c["trend"]) ** ((k - n_months + 1) / 12)
            vol = monthly / p_buy * max(0.2, season) * trend * rng.lognormvariate(0, 0.2)
            if c["stop"] is not None and k >= c["stop"] - c["decline"]:
                vol *= 1 - 0.75 * (k - (c["stop"] - c["decline"]) + 1) / (c["decline"] + 1)
            if c["kind"] in ("new", "joined"):
                vol *= min(1.0, 0.4 + 0.2 * (k - start))
            add_orders(c, k, max(0.5, vol), codes, code_w)

    # ERP codes in neither the map nor the archive: small orders-only customers
    for j in range(15):
        code = f"09{rng.randrange(10**8):08d}"
        ghost = {"id": code, "mgr": rng.choice(mgrs), "gs": rng.uniform(0, 0.5), "discount": 0.0,
                 "city": "", "depot": ""}
        ghost["city"] = ghost["mgr"]["city"]
        ghost["depot"] = CITIES[ghost["city"]][1][0]
        k0 = rng.randrange(0, n_months)
        for k in range(k0, n_months):
            if k == k0 or rng.random() < 0.4:
                add_orders(ghost, k, rng.uniform(2, 15), [code], [1.0])

    # returns (红字冲销): ~1% of lines, a later voucher for the same customer code and product
    n_lines_total = sum(len(o["lines"]) for o in orders)
    returns = []
    for o in rng.sample(orders, min(len(orders), max(3, round(0.01 * n_lines_total)))):
        d = o["date"] + dt.timedelta(days=rng.randint(1, 12))
        if d > end:
            continue
        pcode, qty, unit, amount, cost = o["lines"][0]
        share = 1.0 if rng.random() < 0.5 else rng.uniform(0.1, 0.9)
        if unit == "升":
            q = f"-{round(int(qty) * share)}"
        else:
            q = f"{-round(float(qty) * share, 3):.3f}"
        returns.append({**o, "date": d, "slash": False, "ref": o,
                        "lines": [[pcode, q, unit, -round(amount * share, 2), -round(cost * share, 2)]]})
    orders += returns
    orders.sort(key=lambda o: o["date"])
    base_no = 4900000000 + rng.randrange(10**6) * 100
    for i, o in enumerate(orders):
        o["no"] = str(base_no + i + 1)
    order_header = ["凭证号", "行号", "过账日期", "客户编码", "物料编码", "物料描述", "油品类别", "数量", "单位",
                    "含税金额", "成本", "业务员", "油库", "参考凭证号"]
    order_rows = []
    for o in orders:
        ds = _fmt_date(o["date"], o["slash"])
        ref = o["ref"]["no"] if o["ref"] is not None else ""
        for j, (pcode, qty, unit, amount, cost) in enumerate(o["lines"], start=1):
            desc, cat, _ = PRODUCTS[pcode]
            order_rows.append([o["no"], j * 10, ds, o["code"], pcode, desc, cat, qty, unit, f"{amount:.2f}",
                               f"{cost:.2f}", o["rep"], o["depot"], ref])
    # three bad rows, as real exports have them
    bad = [
        [str(base_no + len(orders) + 1), 10, "2024-06-18", custs[0]["codes"][0], "10200000", "0#车用柴油(VI)", "柴油",
         "五吨", "吨", "39250.00", "37680.00", custs[0]["mgr"]["name"], custs[0]["depot"], ""],
        [str(base_no + len(orders) + 2), 10, "2024-07-02", "", "10100092", "92#车用汽油(VIB)", "汽油", "8.000", "吨",
         "71600.00", "68700.00", mgrs[0]["name"], CITIES[mgrs[0]["city"]][1][0], ""],
        [str(base_no + len(orders) + 3), 10, "2024-13-45", custs[1]["codes"][0], "10200000", "0#车用柴油(VI)", "柴油",
         "12.500", "吨", "98125.00", "94200.00", custs[1]["mgr"]["name"], custs[1]["depot"], ""],
    ]
    for b in bad:
        order_rows.insert(rng.randrange(len(order_rows) + 1), b)

    # ------------------------------------------------------------------ plans
    ranked = sorted((c for c in custs if c["kind"] != "prospect"), key=lambda c: -c["demand"] * c["sow"])
    planned = ranked[: max(1, round(0.3 * n_cust))]
    plan_rows = []
    plan_months = months[-24:]
    mgr_plan: dict[tuple[str, tuple[int, int]], float] = {}
    for c in planned:
        monthly = c["demand"] * c["sow"] / 12
        for (y, m) in plan_months:
            season = 1 + c["amp"] * ((1 - c["gs"]) * (DIESEL_SEASON[m - 1] - 1)
                                     + c["gs"] * (GASOLINE_SEASON[m - 1] - 1))
            v = max(5, round(monthly * max(0.3, season) * rng.uniform(1.0, 1.12) / 5) * 5)
            plan_rows.append([f"{y}-{m:02d}", c["id"], "", v])
            key = (c["mgr"]["id"], (y, m))
            mgr_plan[key] = mgr_plan.get(key, 0.0) + v
    for m in mgrs:
        for (y, mo) in plan_months:
            v = mgr_plan.get((m["id"], (y, mo)), 0.0) * 1.15 + rng.uniform(50, 300)
            plan_rows.append([f"{y}-{mo:02d}", "", m["id"], round(v / 10) * 10])

    # ------------------------------------------------------------------ contracts: annual, ~20% of customers
    contract_rows = []
    contracted = [c for c in rng.sample(custs, len(custs)) if c["kind"] not in ("prospect",)]
    contracted.sort(key=lambda c: -c["demand"])
    contracted = contracted[: len(contracted) // 3]
    contracted = rng.sample(contracted, min(len(contracted), round(0.2 * n_cust)))
    contracted.sort(key=lambda c: c["id"])
    seq = 0
    for c in contracted:
        mid_year = rng.random() < 0.2
        for y in range(months[0][0], end.year + 1):
            s = dt.date(y, 7, 1) if mid_year else dt.date(y, 1, 1)
            e = dt.date(y + 1, 6, 30) if mid_year else dt.date(y, 12, 31)
            if s > end or s < dt.date(*months[c["start"]], 1) - dt.timedelta(days=31):
                continue
            if c["stop"] is not None and s > dt.date(*months[min(n_months - 1, c["stop"])], 1):
                continue
            seq += 1
            vol = round(c["demand"] * c["sow"] * rng.uniform(0.75, 1.0) / 10) * 10
            price = 8000 if c["gs"] < 0.3 else 8600
            contract_rows.append([f"SDHT{s.year}{seq:05d}", c["id"], s.isoformat(), e.isoformat(), vol,
                                  f"{vol * price * rng.uniform(0.97, 1.03):.2f}"])

    # ------------------------------------------------------------------ campaigns.csv
    campaign_rows = [[cid, name, s.isoformat(), e.isoformat(), "、".join(c["id"] for c in targets), levels, inds, prods]
                     for cid, name, s, e, targets, levels, inds, prods, _, _ in campaigns]

    # ------------------------------------------------------------ freight: direct customers' deliveries, last year
    freight_rows = []
    year_ago = end - dt.timedelta(days=365)
    master_of = {code: c for c in custs for code in c["codes"]}
    seq = 0
    for o in orders:
        c = master_of.get(o["code"])
        if c is None or c["ctype"] != "直销" or o["ref"] is not None or o["date"] <= year_ago:
            continue
        if rng.random() < 0.25:  # picked up by the customer (自提): no freight bill
            continue
        qty = 0.0
        for pcode, q, unit, _, _ in o["lines"]:
            qty += float(q) * DENSITY[PRODUCTS[pcode][1]] / 1000 if unit == "升" else float(q)
        seq += 1
        dist = round(c["distance"] * rng.uniform(0.97, 1.05), 1)
        cost = qty * dist * rng.uniform(0.55, 0.75) + rng.uniform(80, 200)
        freight_rows.append([f"YD{o['date']:%Y%m%d}{seq:05d}", o["date"].isoformat(), c["id"], f"{qty:.3f}",
                             f"{cost:.2f}", rng.choice(CARRIERS), f"{o['depot']}→{c['district']}", dist])

    # ------------------------------------------------------------------ leads
    lead_rows = []
    seq = 0
    converted = [c for c in custs if c["kind"] in ("new", "joined") or (c["kind"] == "prospect" and rng.random() < 0.3)]
    lead_items = []
    for c in converted:
        created = c["created"] - dt.timedelta(days=rng.randint(15, 120))
        conv = c["created"] if c["kind"] != "prospect" else None
        lead_items.append((created, c["mgr"]["id"], c["id"] if conv else "", conv))
    for _ in range(max(5, n_cust // 8)):  # leads that never converted
        created = first_day + dt.timedelta(days=rng.randrange((end - first_day).days))
        lead_items.append((created, rng.choice(mgrs)["id"], "", None))
    lead_items.sort(key=lambda t: (t[0], t[1]))
    for created, mid, cid, conv in lead_items:
        seq += 1
        lead_rows.append([f"XS{created.year}{seq:05d}", created.isoformat(), mid, cid,
                          conv.isoformat() if conv else "", rng.choice(LEAD_SOURCES)])

    # ------------------------------------------------------------------ visits: last 12 months
    visit_rows = []
    by_mgr: dict[str, list[dict]] = {}
    for c in custs:
        by_mgr.setdefault(c["mgr"]["id"], []).append(c)
    visit_items = []
    for m in mgrs:
        held = by_mgr.get(m["id"], [])
        if not held:
            continue
        w = [math.sqrt(c["demand"]) for c in held]
        for k in range(max(0, n_months - 12), n_months):
            y, mo = months[k]
            last_day = min(_days_in(y, mo), end.day) if (y, mo) == (end.year, end.month) else _days_in(y, mo)
            for _ in range(rng.randint(6, 16)):
                c = rng.choices(held, w)[0]
                visit_items.append((dt.date(y, mo, rng.randint(1, last_day)), m["id"], c["id"]))
    visit_items.sort()
    for j, (d, mid, cid) in enumerate(visit_items, start=1):
        visit_rows.append([f"BF{d.year}{j:06d}", d.isoformat(), cid, mid, rng.choice(VISIT_KINDS),
                           rng.choice(VISIT_NOTES)])

    # ------------------------------------------------------------------ code_map
    code_rows = []
    for c in sorted((c for c in custs if c.get("group")), key=lambda c: c["id"]):
        for code in c["codes"]:
            code_rows.append([code, c["id"]])

    # ------------------------------------------------------------------ write
    files: dict[str, Path] = {}
    files["managers"] = _write_csv(out / "managers.csv", ["客户经理编码", "姓名", "电话", "级别", "班组", "市公司"],
                                   managers_rows)
    files["customers"] = _write_customers(out / "customers.xlsx", cust_header, cust_rows, end)
    files["code_map"] = _write_csv(out / "code_map.csv", ["原客户编码", "主客户编码"], code_rows, "utf-8")
    files["orders"] = _write_csv(out / "orders.csv", order_header, order_rows, "gbk")
    files["plans"] = _write_csv(out / "plans.csv", ["月份", "客户编码", "客户经理编码", "计划量"], plan_rows)
    files["contracts"] = _write_csv(out / "contracts.csv", ["合同编号", "客户编码", "开始日期", "结束日期", "合同数量",
                                                            "合同金额"], contract_rows)
    files["campaigns"] = _write_csv(out / "campaigns.csv", ["活动编号", "活动名称", "开始日期", "结束日期", "目标客户",
                                                            "目标级别", "目标行业", "活动油品"], campaign_rows)
    files["freight"] = _write_csv(out / "freight.csv", ["运单号", "配送日期", "客户编码", "配送量", "运费", "承运商",
                                                        "线路", "运距"], freight_rows)
    files["leads"] = _write_csv(out / "leads.csv", ["线索编号", "创建日期", "客户经理编码", "转化客户编码", "转化日期",
                                                    "来源"], lead_rows)
    files["visits"] = _write_csv(out / "visits.csv", ["拜访编号", "拜访日期", "客户编码", "客户经理编码", "拜访方式",
                                                      "拜访内容"], visit_rows)
    return files


def _write_customers(path: Path, header: list[str], rows: list[list], end: dt.date) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "客户档案"
    wb.properties.creator = "ERP"
    wb.properties.created = EPOCH
    wb.properties.modified = EPOCH
    ws.append([f"山东石油分公司 客户档案 导出日期 {end.isoformat()}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(header)
    date_col = header.index("建档日期")
    for r in rows:
        ws.append(r)
    for row in ws.iter_rows(min_row=3, max_col=1):
        row[0].number_format = "@"  # codes are text cells: the leading zeros survive
    for row in ws.iter_rows(min_row=3, min_col=date_col + 1, max_col=date_col + 1):
        row[0].number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A3"
    for col, width in (("A", 13), ("B", 34), ("F", 10), ("T", 12), ("V", 13), ("W", 30)):
        ws.column_dimensions[col].width = width
    wb.save(path)
    _fix_zip_times(path)
    return path
