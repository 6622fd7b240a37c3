"""English and Chinese labels for every id an analysis emits — one label system for all of them.

Tier ids (levels, scorecard grades) take their labels from the configured tiers (``Tier.en`` /
``Tier.zh``) and the ABC classes from the configured Pareto bounds; everything else is fixed here.
``grading._sql.label_case`` turns a mapping into a SQL ``CASE`` with bound parameters, so label
columns come from the same query as the ids; :func:`with_labels` adds label columns to a finished
Arrow table (churn statuses and severities).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from crmtool.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

SEGMENTS: dict[str, tuple[str, str]] = {
    "important_value": ("Important value", "重要价值客户"),
    "important_develop": ("Important develop", "重要发展客户"),
    "important_retain": ("Important retain", "重要保持客户"),
    "important_winback": ("Important win-back", "重要挽留客户"),
    "general_value": ("General value", "一般价值客户"),
    "general_develop": ("General develop", "一般发展客户"),
    "general_retain": ("General retain", "一般保持客户"),
    "general_winback": ("General win-back", "一般挽留客户"),
}


CHANGES: dict[str, tuple[str, str]] = {
    "up": ("up", "升级"),
    "down": ("down", "降级"),
    "same": ("same", "持平"),
    "new": ("new", "新定级"),
}

QUADRANTS: dict[str, tuple[str, str]] = {
    "strategic": ("Strategic", "战略客户"),
    "key": ("Key", "重点客户"),
    "potential": ("Potential", "潜力客户"),
    "ordinary": ("Ordinary", "普通客户"),
    "unassessed": ("Unassessed", "未评估"),
}

SERVICE_TIERS: dict[str, tuple[str, str]] = {
    "strategic_team": ("Strategic account team", "战略客户团队服务"),
    "one_customer_one_plan": ("One customer, one plan", "一户一案"),
    "standardised": ("Standardised service", "标准化服务"),
}

DEMAND_CLASSES: dict[str, tuple[str, str]] = {
    "small": ("Small", "小型"),
    "medium": ("Medium", "中型"),
    "large": ("Large", "大型"),
    "extra_large": ("Extra large", "特大型"),
}

LOYALTY: dict[str, tuple[str, str]] = {
    "potential": ("Potential", "潜在"),
    "loyal": ("Loyal", "忠诚"),
    "quality": ("Quality", "优质"),
    "scattered": ("Scattered", "零散"),
    "competitive": ("Competitive", "竞争"),
    "regular": ("Regular", "一般"),
}


def pick(pairs: Mapping[str, tuple[str, str]], lang: str) -> dict[str, str]:
    """id -> label in ``lang`` from a table of (English, Chinese) pairs."""
    i = 1 if lang == "zh" else 0
    return {k: v[i] for k, v in pairs.items()}


_pick = pick

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "gasoline": ("Gasoline", "汽油"),
    "diesel": ("Diesel", "柴油"),
    "other": ("Other", "其他"),
    "total": ("Total", "合计"),
}

GROUP_LABELS: dict[str, tuple[str, str]] = {"target": ("Targets", "目标客户"), "control": ("Controls", "对照客户")}


METRIC_WORDS = {"amount": ("amount", "金额"), "volume": ("volume", "销量"), "profit": ("profit", "毛利")}


def metric_word(metric: str, lang: str = "en") -> str:
    """The metric as a summary line names it (金额 for amount in Chinese)."""
    return METRIC_WORDS.get(metric, (metric, metric))[1 if lang == "zh" else 0]


def total_label(lang: str) -> str:
    """The label of a total row: 合计 / Total."""
    return CATEGORY_LABELS["total"][1 if lang == "zh" else 0]


def segments(lang: str = "en") -> dict[str, str]:
    return _pick(SEGMENTS, lang)


def abc_classes(settings: Settings, lang: str = "en") -> dict[str, str]:
    """A / B / C named after the configured bounds (``pareto.a``, ``pareto.b``)."""
    a, b = settings.pareto.a, settings.pareto.b
    pairs = {"A": (f"A (top {a:.0%})", "A类"), "B": (f"B (next {b - a:.0%})", "B类"), "C": ("C (tail)", "C类")}
    return _pick(pairs, lang)


def changes(lang: str = "en") -> dict[str, str]:
    return _pick(CHANGES, lang)


def quadrants(lang: str = "en") -> dict[str, str]:
    return _pick(QUADRANTS, lang)


def service_tiers(lang: str = "en") -> dict[str, str]:
    return _pick(SERVICE_TIERS, lang)


def demand_classes(lang: str = "en") -> dict[str, str]:
    return _pick(DEMAND_CLASSES, lang)


def loyalty(lang: str = "en") -> dict[str, str]:
    return _pick(LOYALTY, lang)


def levels(settings: Settings, lang: str = "en") -> dict[str, str]:
    """The configured level scheme (default, 集团级…普通, 3A/2A/A/B or custom tiers)."""
    return {t.id: (t.zh if lang == "zh" else t.en) for t in settings.level.effective_tiers()}


def grades(settings: Settings, lang: str = "en") -> dict[str, str]:
    """Scorecard grades (3A/2A/A/B by default)."""
    return {t.id: (t.zh if lang == "zh" else t.en) for t in settings.scorecard.grades}


STATUS: dict[str, tuple[str, str]] = {
    "prospect": ("Prospect", "潜在"),
    "new": ("New", "新客户"),
    "active": ("Active", "有效"),
    "churned": ("Churned", "流失"),
    "lost": ("Lost", "长期流失"),
}

SEVERITY: dict[str, tuple[str, str]] = {
    "none": ("None", "无"),
    "low": ("Low", "低"),
    "medium": ("Medium", "中"),
    "high": ("High", "高（通报）"),
}

# severity ids in ascending order; `--severity medium` means medium and above
SEVERITY_ORDER = ("none", "low", "medium", "high")


def statuses(lang: str = "en") -> dict[str, str]:
    return _pick(STATUS, lang)


def severities(lang: str = "en") -> dict[str, str]:
    return _pick(SEVERITY, lang)


def status_label(status: str | None, lang: str = "en") -> str | None:
    return None if status is None else statuses(lang).get(status, status)


def severity_label(severity: str | None, lang: str = "en") -> str | None:
    return None if severity is None else severities(lang).get(severity, severity)


def bucket_label(bucket: str, lang: str = "en") -> str:
    """'0'…'7' and '8+' → '0 months' / '0个月', '8+ months' / '8个月及以上'."""
    if lang == "zh":
        return f"{bucket[:-1]}个月及以上" if bucket.endswith("+") else f"{bucket}个月"
    return f"{bucket} months" if bucket != "1" else "1 month"


LABELLED_COLUMNS = {"status": statuses, "severity": severities}


def with_labels(table: "pa.Table", lang: str) -> "pa.Table":
    """Append ``<column>_label`` for the status / severity columns (after every other column) for
    ``lang`` other than English; English output keeps the ids only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if lang == "en":
        return table
    for col, mapping in LABELLED_COLUMNS.items():
        if col in table.column_names:
            names = mapping(lang)
            keys = pa.array(list(names), pa.string())
            idx = pc.index_in(table.column(col), value_set=keys)
            labelled = pc.take(pa.array(list(names.values()), pa.string()), idx)
            table = table.append_column(f"{col}_label", pc.coalesce(labelled, table.column(col)))
    return table


# ---------------------------------------------------------------------------------------------
# column headers (reports): every SPEC column and the extras the results carry, English and Chinese

COLUMNS: dict[str, tuple[str, str]] = {
    # who
    "customer_id": ("Customer", "客户编码"),
    "name": ("Name", "名称"),
    "manager_id": ("Manager", "客户经理"),
    "manager_name": ("Manager name", "经理姓名"),
    "region": ("Region", "地区"),
    "district": ("District", "区县"),
    "industry": ("Industry", "行业"),
    "team": ("Team", "团队"),
    "level": ("Archive level", "档案级别"),
    "maintenance_level": ("Maintenance level", "维护级别"),
    "in_archive": ("In archive", "在档案中"),
    # RFM
    "recency_days": ("Recency (days)", "最近购买(天)"),
    "frequency": ("Frequency", "购买频次"),
    "monetary": ("Monetary", "消费金额"),
    "r_score": ("R", "R分"),
    "f_score": ("F", "F分"),
    "m_score": ("M", "M分"),
    "rfm_cell": ("RFM cell", "RFM组合"),
    "segment": ("Segment", "客户价值分类"),
    # the *_label columns a terminal shows beside an id (files keep both)
    "segment_label": ("Segment (label)", "客户价值分类名称"),
    "level_label": ("Suggested level (label)", "建议级别名称"),
    "quadrant_label": ("Quadrant (label)", "象限名称"),
    "service_tier_label": ("Service tier (label)", "服务方式名称"),
    # Pareto
    "metric_value": ("Metric", "指标值"),
    "share": ("Share", "占比"),
    "cum_share": ("Cumulative share", "累计占比"),
    "rank": ("Rank", "排名"),
    "abc_class": ("ABC class", "ABC分类"),
    "customer_share": ("Share of customers", "客户累计占比"),
    "metric_share": ("Share of metric", "指标累计占比"),
    # level
    "composite": ("Composite", "综合得分"),
    "suggested_level": ("Suggested level", "建议级别"),
    "current_level": ("Current level", "现级别"),
    "previous_level": ("Previous level", "上期级别"),
    "change": ("Change", "升降"),
    "migration": ("Migration", "升降级"),
    "volume_score": ("Volume score", "销量得分"),
    "gross_profit_score": ("Gross profit score", "毛利得分"),
    "purchase_months_score": ("Purchase months score", "购油月数得分"),
    "share_of_wallet_score": ("Share of wallet score", "份额得分"),
    "annual_demand_score": ("Annual demand score", "年需求得分"),
    "key_customer": ("Key customer", "重点客户"),
    "volume": ("Volume (t)", "销量(吨)"),
    "gross_profit": ("Gross profit", "毛利"),
    "purchase_months": ("Purchase months", "购油月数"),
    "share_of_wallet": ("Share of wallet", "份额"),
    "annual_demand": ("Annual demand (t)", "年需求量(吨)"),
    "demand_class": ("Demand class", "需求量级别"),
    "mobile": ("Mobile", "机动性"),
    "loyalty": ("Loyalty", "忠诚度"),
    # scorecard
    "month": ("Month", "月份"),
    "period": ("Period", "期间"),
    "completion": ("Completion", "完成率"),
    "balance": ("Balance", "均衡性"),
    "special": ("Special periods", "特殊时段"),
    "total": ("Total", "合计"),
    "grade": ("Grade", "等级"),
    "volume_t": ("Volume (t)", "销量(吨)"),
    "plan_t": ("Plan (t)", "计划(吨)"),
    "no_plan": ("No plan", "无计划"),
    "special_t": ("Special-period volume (t)", "特殊时段销量(吨)"),
    # quadrant
    "value_score": ("Value score", "价值得分"),
    "fit_score": ("Fit score", "匹配度得分"),
    "quadrant": ("Quadrant", "象限"),
    "service_tier": ("Service tier", "服务方式"),
    "fulfilment": ("Contract fulfilment", "合同履约率"),
    "reputation": ("Reputation", "信誉"),
    "value_cut": ("Value cut", "价值分界"),
    "fit_cut": ("Fit cut", "匹配度分界"),
    # churn
    "last_purchase_date": ("Last purchase", "最近购油日期"),
    "first_purchase_date": ("First purchase", "首次购油日期"),
    "idle_months": ("Idle months", "未购月数"),
    "status": ("Status", "状态"),
    "cycle_days": ("Cycle (days)", "购油周期(天)"),
    "overdue": ("Overdue", "逾期"),
    "days_since_purchase": ("Days since purchase", "距上次购油(天)"),
    "purchase_dates_12m": ("Purchase days (12 m)", "近12月购油天数"),
    "baseline": ("Baseline (t)", "基准量(吨)"),
    "ratio": ("Ratio", "比值"),
    "breach_streak": ("Breach streak", "连续预警月数"),
    "decline_streak": ("Decline streak", "连续下降月数"),
    "key": ("Key", "重点"),
    "severity": ("Severity", "预警级别"),
    "notify": ("Notify", "通知"),
    "return_month": ("Return month", "回归月份"),
    "idle_months_before": ("Idle months before", "回归前未购月数"),
    "return_volume": ("Return-month volume (t)", "回归当月销量(吨)"),
    "volume_since_return": ("Volume since return (t)", "回归后销量(吨)"),
    "returns": ("Returns", "回归次数"),
    "recency_weeks": ("Recency (weeks)", "最近购买(周)"),
    "age_weeks": ("Age (weeks)", "客户年龄(周)"),
    "p_alive": ("P(alive)", "存活概率"),
    # the warning backtest (churn backtest)
    "rule": ("Rule", "规则"), "precision": ("Precision", "精确率"), "recall": ("Recall", "召回率"),
    "median_lead_months": ("Median lead (months)", "提前月数中位数"), "warned": ("Warned", "预警客户月"),
    "churned": ("Churned", "流失客户月"), "hits": ("Hits", "命中"), "months": ("Months", "月数"),
    "customer_months": ("Customer-months", "客户月数"), "threshold": ("Threshold", "阈值"),
    "first_month": ("First month", "起始月"), "last_month": ("Last month", "截止月"),
    "expected_purchases": ("Expected purchase days", "预期购油天数"),
    "bucket": ("Idle months", "未购月数"),
    "customers": ("Customers", "客户数"),
    # managers
    "held": ("Held", "持有客户"),
    "held_change": ("Held change", "持有变化"),
    "held_share": ("Held share", "持有占比"),
    "held_start": ("Held at year start", "年初持有"),
    "buying": ("Buying", "购油客户"),
    "buying_ratio": ("Buying ratio", "购油客户占比"),
    "new_customers": ("New customers", "新开发客户"),
    "retention": ("Retention", "客户维系率"),
    "lead_conversion": ("Lead conversion", "线索转化率"),
    "lead_days": ("Lead days", "持有线索时长(天)"),
    "visit_rate": ("Visit rate", "拜访率"),
    "plan": ("Plan (t)", "计划(吨)"),
    "yoy": ("YoY", "同比"),
    "qoq": ("QoQ", "环比"),
    "mom": ("MoM", "环比"),
    "gross_margin": ("Gross margin", "毛利率"),
    "ytd_volume": ("YTD volume (t)", "年累计销量(吨)"),
    "ytd_plan": ("YTD plan (t)", "年累计计划(吨)"),
    "ytd_completion": ("YTD completion", "年累计完成率"),
    "ytd_yoy": ("YTD YoY", "年累计同比"),
    "ytd_gross_margin": ("YTD gross margin", "年累计毛利率"),
    "score": ("Score", "能力评价得分"),
    "leads_converted": ("Leads converted", "转化线索"),
    "development": ("Development", "客户开发"),
    "volume_ly": ("Volume last year (t)", "去年同期销量(吨)"),
    "volume_prev": ("Volume previous period (t)", "上期销量(吨)"),
    # sales
    "category": ("Category", "品类"),
    "day": ("Day (t)", "当日(吨)"),
    "mtd": ("Month to date (t)", "月累计(吨)"),
    "ytd": ("Year to date (t)", "年累计(吨)"),
    "monthly_avg": ("Monthly average (t)", "月均(吨)"),
    "month_plan": ("Month plan (t)", "月计划(吨)"),
    "year_plan": ("Year plan (t)", "年计划(吨)"),
    "month_completion": ("Month completion", "月完成率"),
    "year_completion": ("Year completion", "年完成率"),
    "month_progress": ("Month progress", "月时间进度"),
    "year_progress": ("Year progress", "年时间进度"),
    "warning": ("Warning", "预警"),
    "ytd_last_year": ("YTD last year (t)", "去年同期累计(吨)"),
    "mtd_previous_month": ("MTD previous month (t)", "上月同期(吨)"),
    "expected": ("Expected (t)", "应购量(吨)"),
    "actual": ("Actual (t)", "实购量(吨)"),
    "attainment": ("Attainment", "达标率"),
    "under_target": ("Under target", "未达标"),
    "under_count": ("Under target", "未达标客户数"),
    "shortfall": ("Shortfall (t)", "差额(吨)"),
    "label": ("Group", "分组"),
    "campaign_id": ("Campaign", "活动编号"),
    "group": ("Group", "组别"),
    "mean_w": ("Mean in window (t)", "活动期人均(吨)"),
    "mean_b": ("Mean before (t)", "活动前人均(吨)"),
    "mean_y": ("Mean last year (t)", "去年同期人均(吨)"),
    "profit_w": ("Profit in window", "活动期人均毛利"),
    "profit_b": ("Profit before", "活动前人均毛利"),
    "profit_y": ("Profit last year", "去年同期人均毛利"),
    "lift_before": ("Lift vs before", "环比提升"),
    "did": ("DiD (t/customer)", "双重差分(吨/户)"),
    "did_yoy": ("DiD vs last year", "同比双重差分"),
    "incremental": ("Incremental (t)", "增量(吨)"),
    "start_date": ("Start", "开始"),
    "end_date": ("End", "结束"),
    "b_start": ("Before: start", "活动前开始"),
    "b_end": ("Before: end", "活动前结束"),
    "y_start": ("Last year: start", "去年同期开始"),
    "y_end": ("Last year: end", "去年同期结束"),
    "days": ("Days", "天数"),
    "volume_w": ("Volume in window (t)", "活动期销量(吨)"),
    "volume_b": ("Volume before (t)", "活动前销量(吨)"),
    "volume_y": ("Volume last year (t)", "去年同期销量(吨)"),
    "sensitivity": ("Sensitivity", "活动敏感度"),
    "campaigns": ("Campaigns", "活动数"),
    "targets": ("Targets", "目标客户数"),
    "cost": ("Cost", "运费"),
    "quantity": ("Quantity (t)", "运量(吨)"),
    "trips": ("Trips", "车次"),
    "cost_per_ton": ("Cost per ton", "吨运费"),
    "ytd_cost": ("YTD cost", "年累计运费"),
    "ytd_quantity": ("YTD quantity (t)", "年累计运量(吨)"),
    "carrier": ("Carrier", "承运商"),
    "route": ("Route", "线路"),
    "avg_distance_km": ("Average distance (km)", "平均运距(公里)"),
    # customer page
    "gasoline": ("Gasoline (t)", "汽油(吨)"),
    "diesel": ("Diesel (t)", "柴油(吨)"),
    "other": ("Other (t)", "其他(吨)"),
    "as_of": ("As of", "截至"),
    "visit_date": ("Visit date", "拜访日期"),
    "kind": ("Kind", "方式"),
    "note": ("Note", "记录"),
    "item": ("Item", "项目"),
    "value": ("Value", "内容"),
}


# headers that differ in one analysis: the balanced scorecard's indicators are 0–100 scores, not the
# tons or ratios the same column names hold elsewhere (SPEC §4.4: volume = 100 · p(volume_M))
ANALYSIS_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "grade.scorecard": {"completion": ("Completion score", "完成率得分"), "balance": ("Balance score", "均衡性得分"),
                        "volume": ("Volume score", "销量得分"), "special": ("Special-period score", "特殊时段得分"),
                        "total": ("Total score", "总分")},
}


def column_label(key: str, lang: str = "en", analysis: str | None = None) -> str:
    """A column header in ``lang`` (of ``analysis`` where its header differs); an id column ('0'…'8+'
    idle buckets) or an unknown key as it is."""
    own = ANALYSIS_COLUMNS.get(analysis or "", {})
    if key in own:
        return own[key][1 if lang == "zh" else 0]
    if key in COLUMNS:
        return COLUMNS[key][1 if lang == "zh" else 0]
    if key in ("0", "1", "2", "3", "4", "5", "6", "7", "8+"):
        return bucket_label(key, lang)
    return key


YES_NO: dict[bool, tuple[str, str]] = {True: ("yes", "是"), False: ("no", "否")}


def yes_no(value: bool | None, lang: str = "en") -> str | None:
    return None if value is None else YES_NO[bool(value)][1 if lang == "zh" else 0]


# ---------------------------------------------------------------------------------------------
# report texts (crmtool report …): titles, section and table headings, chart titles, summary labels

REPORT_TEXT: dict[str, tuple[str, str]] = {
    "report.grading": ("Customer grading report", "客户分级报告"),
    "report.churn": ("Churn and early-warning report", "客户流失与预警报告"),
    "report.managers": ("Account-manager scorecard", "客户经理评价报告"),
    "report.sales": ("Sales report", "销量分析报告"),
    "report.monthly": ("Monthly report", "月度分析报告"),
    "report.customer": ("Customer page", "单客户购油分析"),
    "summary": ("Summary", "摘要"),
    "contents": ("Contents", "目录"),
    "charts": ("Charts", "图表"),
    "chart_data": ("Chart data", "图表数据"),
    "period": ("Period", "期间"),
    "as_of": ("As of", "截至日期"),
    "month": ("Judged month", "考核月份"),
    "freshness": ("Data freshness", "数据时效"),
    "last_order_date": ("Last order date", "最新订单日期"),
    "last_load_time": ("Last load", "最近导入时间"),
    "generated": ("Generated", "生成时间"),
    "store": ("Store", "数据库"),
    "headline": ("Headline figures", "主要指标"),
    "customers_by_level": ("Customers by suggested level", "各建议级别客户数"),
    "a_share": ("Share of customers in class A", "A类客户占比"),
    "a_metric_share": ("Class A share of the metric", "A类客户指标占比"),
    "gini": ("Gini coefficient", "基尼系数"),
    "warnings_by_severity": ("Warnings by severity", "各级别预警数"),
    "top_movers": ("Top movers (level change)", "升降级幅度最大的客户"),
    "overview_vs_progress": ("Completion against time progress", "完成率与时间进度"),
    "completion_vs_progress": ("{what}: completion {completion}, time progress {progress}",
                               "{what}：完成率 {completion}，时间进度 {progress}"),
    "month_word": ("Month", "月度"),
    "year_word": ("Year", "年度"),
    "skipped": ("Please note", "请注意"),
    "not_shown": ("not shown", "未显示"),
    "sheet": ("Sheet", "工作表"),
    "rows": ("Rows", "行数"),
    "what": ("What it shows", "内容"),
    "count": ("Count", "数量"),
    "none_found": ("none", "无"),
    "rows_cut": ("The first {shown:,} of {total:,} rows are shown; the whole table is in {file}, beside this "
                 "report.", "仅显示前 {shown:,} 行（共 {total:,} 行），完整结果见本报告旁的 {file}。"),
    "full_results": ("Full results beside this report", "完整结果（与本报告同目录）"),
    "full_results_note": ("A table with more than {shown:,} rows (report.max_rows) shows its first {shown:,}: "
                          "the analysis' ranking, or the most urgent or largest first. The whole table is "
                          "in the file named here, in the same folder as this report.",
                          "超过 {shown:,} 行（report.max_rows）的表只显示前 {shown:,} 行（按分析的排序，或最紧急、"
                          "最大的在前）；完整结果见下列文件，与本报告在同一目录。"),
    "full_file": ("Whole table", "完整结果文件"),
    "sort_hint": ("Click a column header to sort.", "点击列标题排序。"),
    "chart_font_note": ("No Chinese font was found when the charts were drawn: chart text is laid out "
                        "with a Latin font.", "绘制图表时未找到中文字体，图表文字按西文字体排版。"),
    "migration_matrix": ("Level migration matrix", "客户级别迁移矩阵"),
    "migration_note_archive": ("Rows: the archive level now; columns: the suggested level.",
                               "行：档案现级别；列：建议级别。"),
    "migration_note_compare": ("Rows: the level of the earlier snapshot; columns: the suggested level.",
                               "行：上期快照级别；列：本期建议级别。"),
    "from_level": ("From \\ to", "原级别 \\ 新级别"),
    "no_level": ("(none)", "（无）"),
    "no_manager": ("(no manager)", "（无客户经理）"),
    "note.no_manager": ("{volume} t of {customers} customer(s) with no manager (in no archive, or none given) count "
                        "for no manager in this table", "无客户经理的 {customers} 个客户（不在客户档案中或未填客户经理）共 "
                        "{volume} 吨，不计入本表任何客户经理"),
    # why the monthly job skipped an analysis (crmtool.monthly.plan)
    "skip.no_managers": ("no managers: neither a managers table nor a manager_id in the archive",
                         "无客户经理：既未导入客户经理表，客户档案中也没有客户经理编号"),
    "skip.no_expected": ("no archive customer has an expected volume (购油量预判值)",
                         "客户档案中没有客户填写购油量预判值"),
    "skip.no_freight": ("no freight bills in {month}", "{month} 没有运费单据"),
    "skip.campaign_running": ("campaign {campaign} runs to {end}: judged in the month it ends",
                              "活动 {campaign} 持续到 {end}：在其结束的月份评价"),
    # a quarter or year judged past the last order date (crmtool.runner.past_data)
    "note.after_as_of": ("{period} ends {end}, after --as-of {as_of}: its figures count the orders of the whole "
                         "period (to {to}); --as-of only chose the period",
                         "{period} 截至 {end}，晚于 --as-of {as_of}：按整个期间的订单计算（至 {to}）；--as-of 只用于选定期间"),
    "note.quadrant_unassessed": ("No customer has a strategic-fit score (positioning_fit, capability_fit, values_fit "
                                 "in the archive): every customer is unassessed, so there is no quadrant chart. Load an "
                                 "archive with 定位匹配 / 能力匹配 / 价值观匹配 to place them",
                                 "客户档案中没有战略匹配度（定位匹配、能力匹配、价值观匹配），所有客户均为未评估，"
                                 "因此没有四象限图；请导入包含这些列的客户档案"),
    "note.past_data": ("{period} runs past the data: orders end {orders_end}, so {from} … {to} counts as a time "
                       "without orders (load the exports of the whole period)",
                       "{period} 超出已导入的数据：订单截至 {orders_end}，{from} 至 {to} 按无订单计算（请导入整个期间的订单）"),
    "chart.lorenz": ("Lorenz curve (ABC)", "洛伦兹曲线（ABC分类）"),
    "chart.lorenz.x": ("Share of customers", "客户累计占比"),
    "chart.lorenz.y": ("Share of volume", "指标累计占比"),
    "chart.lorenz.curve": ("Lorenz curve", "洛伦兹曲线"),
    "chart.lorenz.equal": ("Equal distribution", "绝对平均线"),
    "chart.quadrant": ("Value × strategic fit (four quadrants)", "两维四象限：价值 × 战略匹配度"),
    "chart.quadrant.x": ("Value score", "价值得分"),
    "chart.quadrant.y": ("Fit score", "战略匹配度得分"),
    "chart.idle": ("Customers by months without a purchase", "客户未购月数分布"),
    "chart.idle.x": ("Months without a purchase", "未购月数"),
    "chart.customers": ("Customers", "客户数"),
    "chart.ranking": ("Manager ranking by score", "客户经理能力评价排名"),
    "chart.ranking.x": ("Score", "得分"),
    "chart.trend": ("Monthly volume by category", "分品类月度销量趋势"),
    "chart.trend.y": ("Volume (t)", "销量(吨)"),
    "chart.status": ("Customers by churn status", "客户流失状态分布"),
    "chart.segments": ("Customers by RFM segment", "RFM客户价值分类"),
    "chart.levels": ("Customers by suggested level", "各建议级别客户数"),
    "chart.customer_volume": ("Monthly volume by category", "分品类月度购油量"),
    "table.managers_by_region": ("Managers — {region}", "客户经理 — {region}"),
    "table.migration": ("Level migration", "级别迁移"),
    "table.lorenz": ("Lorenz curve", "洛伦兹曲线"),
    "table.overview_managers": ("YTD volume by manager", "客户经理年累计销量"),
    "table.attainment_groups": ("Attainment by group", "分组达标情况"),
    "table.attainment_under": ("Under target", "未达标客户"),
    "table.campaign_customers": ("Campaign customers", "活动客户明细"),
    "table.campaign_managers": ("Campaign by manager", "活动分经理效果"),
    "table.campaign_sensitivity": ("Campaign sensitivity", "活动敏感度"),
    "table.freight_trend": ("Freight by month", "月度运费趋势"),
    "table.freight_carriers": ("Freight by carrier", "承运商运费"),
    "table.freight_routes": ("Freight by route", "线路运费"),
    "table.pivot_wide": ("Volume by month and category", "分月分品类销量"),
    "customer.profile": ("Profile", "客户档案"),
    "customer.level_history": ("Level history", "级别变化"),
    "customer.level_history_short": ("Fewer than two level snapshots are stored ({n}): run `crmtool grade level` "
                                     "each month to build a history.",
                                     "已存级别快照少于两期（{n} 期）：每月运行 `crmtool grade level` 以形成级别历史。"),
    "customer.volume": ("Volume, last {months} months", "近 {months} 个月购油量"),
    "customer.warnings": ("Warnings", "购油预警"),
    "customer.no_warnings": ("No warning stored for this customer.", "该客户无已存预警记录。"),
    "customer.visits": ("Visits", "拜访记录"),
    "customer.no_visits": ("No visit recorded.", "无拜访记录。"),
    "customer.contacts_masked": ("Phone numbers are masked; --show-contacts shows them.",
                                 "电话已隐藏中间四位；--show-contacts 可显示完整号码。"),
}


def report_text(key: str, lang: str = "en", **values: object) -> str:
    """A report text in ``lang``, with ``{placeholders}`` filled from ``values``."""
    en, zh = REPORT_TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text
