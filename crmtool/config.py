"""Every number SPEC names, in one typed place; a TOML file overrides any of them.

Lookup order for the file: ``--config``, then ``$CRMTOOL_CONFIG``, then ``./crmtool.toml`` when present.
``crmtool config show`` prints the effective values; ``crmtool init`` writes a commented copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from crmtool.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass
class Tier:
    """One level of a quota scheme: the best ``quota`` share of the ranked set gets ``id``."""

    id: str
    zh: str
    en: str
    quota: float  # share of the scored set; the last tier takes the rest (its quota is ignored)


@dataclass
class SpecialPeriod:
    """A period that counts for the scorecard's special indicator (特殊时段).

    ``start``/``end`` are ``MM-DD`` (every year) or ``YYYY-MM-DD`` (once), both inclusive.
    """

    name: str
    start: str
    end: str


@dataclass
class StoreSettings:
    # DuckDB's buffer: with 2.5GB every command on 10^8 order lines stays under 4 GB of memory on an
    # 8 GB office machine (benchmarks/RESULTS.md); what does not fit spills to temp_directory
    memory_limit: str = "2.5GB"
    threads: int = 2
    temp_directory: str = ""  # empty: a folder next to the store file
    wait_seconds: float = 30.0


@dataclass
class UnitSettings:
    base: str = "t"
    # kg per litre by product category; mass<->volume conversion needs one for the row's category
    density: dict[str, float] = field(default_factory=lambda: {"gasoline": 0.737, "diesel": 0.84})


@dataclass
class LoadSettings:
    # a date outside date_min .. today + date_max_days_ahead is rejected as out of range (every DATE and
    # MONTH column): one mistyped 9999-12-31 must not move every default as-of
    date_min: str = "2000-01-01"
    date_max_days_ahead: int = 31


@dataclass
class RfmSettings:
    window_months: int = 12
    metric: str = "amount"


@dataclass
class ParetoSettings:
    window_months: int = 12
    metric: str = "volume"
    a: float = 0.80
    b: float = 0.95


TIER_SCHEMES: dict[str, list[Tier]] = {
    "default": [
        Tier("diamond", "钻石", "Diamond", 0.05),
        Tier("platinum", "铂金", "Platinum", 0.10),
        Tier("gold", "黄金", "Gold", 0.25),
        Tier("ordinary", "普通", "Ordinary", 0.60),
    ],
    "group": [
        Tier("group", "集团级", "Group", 0.02),
        Tier("diamond", "钻石级", "Diamond", 0.05),
        Tier("gold", "黄金级", "Gold", 0.13),
        Tier("quality", "优质级", "Quality", 0.30),
        Tier("ordinary", "普通", "Ordinary", 0.50),
    ],
    "aaa": [
        Tier("3A", "3A", "3A", 0.10),
        Tier("2A", "2A", "2A", 0.20),
        Tier("A", "A", "A", 0.30),
        Tier("B", "B", "B", 0.40),
    ],
}

DEFAULT_KEY_LEVELS: dict[str, list[str]] = {
    "default": ["diamond", "platinum", "gold"],
    "group": ["group", "diamond", "gold"],
    "aaa": ["3A", "2A", "A"],
}


@dataclass
class LevelSettings:
    window_months: int = 12
    scheme: str = "default"  # default | group | aaa; `tiers` below overrides the scheme when set
    tiers: list[Tier] = field(default_factory=list)
    key_levels: list[str] = field(default_factory=list)  # empty: the scheme's key levels
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "volume": 0.30,
            "gross_profit": 0.25,
            "purchase_months": 0.20,
            "share_of_wallet": 0.15,
            "annual_demand": 0.10,
        }
    )

    def effective_tiers(self) -> list[Tier]:
        if self.tiers:
            return self.tiers
        if self.scheme not in TIER_SCHEMES:
            raise ConfigError(f"level.scheme: unknown scheme {self.scheme!r}; use one of {', '.join(TIER_SCHEMES)}")
        return TIER_SCHEMES[self.scheme]

    def effective_key_levels(self) -> list[str]:
        """Configured key levels; else the scheme's; with custom tiers, all but the last tier."""
        if self.key_levels:
            return self.key_levels
        if self.tiers:
            return [t.id for t in self.tiers[:-1]]
        return DEFAULT_KEY_LEVELS.get(self.scheme, [t.id for t in self.effective_tiers()[:-1]])


@dataclass
class ScorecardSettings:
    weights: dict[str, float] = field(
        default_factory=lambda: {"completion": 0.35, "balance": 0.15, "volume": 0.35, "special": 0.15}
    )
    special_periods: list[SpecialPeriod] = field(
        default_factory=lambda: [
            SpecialPeriod("三夏用油高峰", "05-25", "06-20"),
            SpecialPeriod("三秋用油高峰", "09-20", "10-20"),
            SpecialPeriod("年末冲刺", "12-01", "12-31"),
        ]
    )
    grades: list[Tier] = field(
        default_factory=lambda: [
            Tier("3A", "3A", "3A", 0.10),
            Tier("2A", "2A", "2A", 0.20),
            Tier("A", "A", "A", 0.30),
            Tier("B", "B", "B", 0.40),
        ]
    )


@dataclass
class QuadrantSettings:
    window_months: int = 12
    value_cut: float | None = None  # None: the median of value_score
    fit_cut: float = 60.0
    weights: dict[str, float] = field(
        default_factory=lambda: {"gross_profit": 0.4, "fulfilment": 0.2, "annual_demand": 0.2, "reputation": 0.2}
    )
    service_tiers: dict[str, str] = field(
        default_factory=lambda: {
            "strategic": "strategic_team",
            "key": "one_customer_one_plan",
            "potential": "one_customer_one_plan",
            "ordinary": "standardised",
            "unassessed": "standardised",
        }
    )


@dataclass
class ChurnSettings:
    active_max: int = 3
    churned_max: int = 7
    new_months: int = 3  # first purchase within M-2..M
    overdue_factor: float = 2.0
    cycle_window_months: int = 12
    cycle_min_purchases: int = 3
    winback_months: int = 12  # default win-back period: the N months ending at the judged month


@dataclass
class BacktestSettings:
    horizon: int = 6  # months ahead a churn counts
    months: int = 12  # judged months, ending `horizon` months before the data ends
    idle_months: int = 2  # the comparison rule: no purchase for N months


@dataclass
class WarningSettings:
    ratio: float = 0.70
    baseline_months: int = 3
    high_min_streak: int = 2
    # who is told when severity is high, by the archive's maintenance level (维护级别)
    roles: list[str] = field(default_factory=lambda: ["客户经理", "副主任", "主任", "分管经理", "总经理"])


@dataclass
class AliveSettings:
    """Purchase probability, BG/NBD (SPEC §4.12)."""

    window_months: int = 36  # customers with a purchase day in this trailing window are fitted and scored
    horizon_months: int = 3  # expected purchases over this many months after as-of
    threshold: float = 0.3  # backtest: p_alive under this at month m counts as a warning


@dataclass
class ClassSettings:
    window_months: int = 12
    demand_bounds: list[float] = field(default_factory=lambda: [500.0, 2000.0, 10000.0])
    mobile_cv: float = 1.0
    loyal_share: float = 0.8
    loyal_months: int = 9
    quality_share: float = 0.5
    scattered_months: int = 3


@dataclass
class ManagerSettings:
    """Account-manager scorecard (SPEC §4.9): factor weights and grades by quota."""

    weights: dict[str, float] = field(
        default_factory=lambda: {"volume": 0.35, "completion": 0.25, "retention": 0.20, "development": 0.20}
    )
    grades: list[Tier] = field(
        default_factory=lambda: [Tier("A", "A", "A", 0.20), Tier("B", "B", "B", 0.50), Tier("C", "C", "C", 0.30)]
    )


@dataclass
class OverviewSettings:
    """Sales overview (SPEC §4.10): warn when completion < progress - tolerance or yoy < min_yoy."""

    tolerance: float = 0.02
    min_yoy: float = 0.0


@dataclass
class AttainmentSettings:
    """Purchase-volume attainment (SPEC §4.10): under target when attainment < threshold."""

    threshold: float = 1.0


def _default_run_patterns() -> dict[str, list[str]]:
    return {
        "customers": ["*客户档案*", "*customers*"],
        "orders": ["*订单*", "*销售明细*", "*orders*"],
        "code_map": ["*编码映射*", "*code_map*", "*codemap*"],
        "managers": ["*客户经理*", "*managers*"],
        "plans": ["*计划*", "*plans*"],
        "contracts": ["*合同*", "*contracts*"],
        "campaigns": ["*营销活动*", "*campaigns*"],
        "freight": ["*运费*", "*freight*"],
        "leads": ["*线索*", "*leads*"],
        "visits": ["*拜访*", "*visits*"],
    }


@dataclass
class RunSettings:
    """The monthly job (SPEC §5.1, `crmtool run monthly`).

    ``patterns``: table -> file name patterns (glob, case-insensitive); a file in a sub-folder of the
    inbox named after a table needs none. A file whose rejects exceed ``max_reject_share`` of its rows
    fails the run. Reports are written for each of ``formats`` × ``languages``; loaded files move to
    ``inbox/done/YYYY-MM/`` after the commit when ``move_done``."""

    patterns: dict[str, list[str]] = field(default_factory=_default_run_patterns)
    max_reject_share: float = 0.01
    formats: list[str] = field(default_factory=lambda: ["xlsx", "html"])
    languages: list[str] = field(default_factory=lambda: ["zh"])
    move_done: bool = True


# an Excel sheet holds 1,048,576 rows; a report table keeps room for its title, note and header
EXCEL_MAX_TABLE_ROWS = 1_048_000


@dataclass
class ReportSettings:
    """Reports at scale: a table with more than ``max_rows`` rows shows its first ``max_rows`` in the
    workbook and the HTML page (ranked: the analysis' own order, or the most urgent or largest first
    where that order is by id), and the whole result table is written beside the report as
    ``full_format`` (parquet or csv), named in the report's summary."""

    max_rows: int = 5000
    full_format: str = "parquet"


@dataclass
class Settings:
    store: StoreSettings = field(default_factory=StoreSettings)
    units: UnitSettings = field(default_factory=UnitSettings)
    load: LoadSettings = field(default_factory=LoadSettings)
    # user header mapping per table: canonical column -> header in the file (overrides built-in aliases)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    rfm: RfmSettings = field(default_factory=RfmSettings)
    pareto: ParetoSettings = field(default_factory=ParetoSettings)
    level: LevelSettings = field(default_factory=LevelSettings)
    scorecard: ScorecardSettings = field(default_factory=ScorecardSettings)
    quadrant: QuadrantSettings = field(default_factory=QuadrantSettings)
    churn: ChurnSettings = field(default_factory=ChurnSettings)
    warning: WarningSettings = field(default_factory=WarningSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    classes: ClassSettings = field(default_factory=ClassSettings)
    alive: AliveSettings = field(default_factory=AliveSettings)
    managers: ManagerSettings = field(default_factory=ManagerSettings)
    overview: OverviewSettings = field(default_factory=OverviewSettings)
    attainment: AttainmentSettings = field(default_factory=AttainmentSettings)
    run: RunSettings = field(default_factory=RunSettings)
    report: ReportSettings = field(default_factory=ReportSettings)

    source: str = field(default="defaults", compare=False, metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "source"}

    def config_hash(self) -> str:
        """Short stable hash of the effective values, stored with every snapshot."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# building Settings from TOML, with a message naming the key that does not fit


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(tp, value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if args and type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return None if value is None else _coerce(value, inner, where)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    return value


def _build(cls: Any, data: dict[str, Any], where: str = "", base: Any = None) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    if base is None:
        unknown = [k for k in data if k not in names]
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}: unknown setting")
        try:
            return cls(**{k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()})
        except TypeError:
            need = [f.name for f in dataclasses.fields(cls) if f.name not in data
                    and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
            raise ConfigError(f"{where}: missing {', '.join(need)}") from None
    obj = base
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise ConfigError(f"{path}: unknown setting (see `crmtool config show` for the valid keys)")
        tp = hints[key]
        current = getattr(obj, key)
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            setattr(obj, key, _build(tp, value, path, base=current))
        elif get_origin(tp) is dict and isinstance(value, dict) and isinstance(current, dict):
            merged = dict(current)
            merged.update(_coerce(value, tp, path))
            setattr(obj, key, merged)
        else:
            setattr(obj, key, _coerce(value, tp, path))
    return obj


MAX_DENSITY = 5.0  # kg/L


def _check_tiers(name: str, tiers: list[Tier]) -> None:
    """Quotas between 0 and 1 that leave the last tier a rest, and each id once."""
    if not tiers:
        raise ConfigError(f"{name}: at least one tier")
    seen: set[str] = set()
    for t in tiers:
        if t.id in seen:
            raise ConfigError(f"{name}: the id {t.id!r} is given twice; each tier needs its own")
        seen.add(t.id)
        if t is not tiers[-1] and not 0 <= float(t.quota) <= 1:  # (the last takes the rest, its quota unread)
            raise ConfigError(f"{name}: the quota of {t.id!r} is {t.quota:g}; quotas are shares from 0 to 1")
    head = sum(float(t.quota) for t in tiers[:-1])
    if head > 1 + 1e-9:
        raise ConfigError(f"{name}: the quotas before the last tier sum to {head:g}, more than the whole set (1)")


def _validate(s: Settings) -> None:
    for name, w, factors in (("level.weights", s.level.weights, LevelSettings().weights),
                             ("scorecard.weights", s.scorecard.weights, ScorecardSettings().weights),
                             ("quadrant.weights", s.quadrant.weights, QuadrantSettings().weights),
                             ("managers.weights", s.managers.weights, ManagerSettings().weights)):
        if any(v < 0 for v in w.values()):
            raise ConfigError(f"{name}: weights must not be negative")
        unknown = sorted(set(w) - set(factors))
        if unknown:  # (the factors are the defaults' keys)
            raise ConfigError(f"{name}: unknown weight {unknown[0]!r}; use {', '.join(factors)}")
        if sum(w.get(k, 0.0) for k in factors) <= 0:
            raise ConfigError(f"{name}: the weights must not all be zero")
    from crmtool.io.schema import TABLES as _TABLES

    for tname, mapping in s.columns.items():
        seen: dict[str, str] = {}
        cols = _TABLES[tname].columns if tname in _TABLES else ()
        for key, header in mapping.items():
            # (a column and one of its aliases mapped to the same header are one column)
            canonical = next((c.name for c in cols if c.name == key or key in c.aliases), key)
            other = seen.setdefault(str(header).strip().lower(), canonical)
            if other != canonical:  # one header read as two columns: every row would be a reject
                raise ConfigError(f"columns.{tname}: {other} and {key} both map to header {header!r}; "
                                  "a header is one column: map each column to its own header")
    if not 0 < s.pareto.a < s.pareto.b <= 1:
        raise ConfigError("pareto: need 0 < a < b <= 1")
    if not 1 <= s.report.max_rows <= EXCEL_MAX_TABLE_ROWS:
        raise ConfigError(f"report.max_rows: must be between 1 and {EXCEL_MAX_TABLE_ROWS:,} (an Excel sheet's rows)")
    if s.report.full_format not in ("parquet", "csv"):
        raise ConfigError(f"report.full_format: {s.report.full_format!r}; use parquet or csv")
    if not 0 < s.warning.ratio <= 1:
        raise ConfigError("warning.ratio: must be in (0, 1]")
    if s.warning.baseline_months < 1:
        raise ConfigError("warning.baseline_months: must be at least 1")
    if not 0 <= s.churn.active_max < s.churn.churned_max:
        raise ConfigError("churn: need 0 <= active_max < churned_max")
    # (custom tiers override the scheme, whose name then names nothing; key levels may name archive levels
    # outside the scheme, which churn warn reads from the archive's own level column)
    for name, tiers in (("level.tiers", s.level.effective_tiers()), ("scorecard.grades", s.scorecard.grades),
                        ("managers.grades", s.managers.grades)):
        _check_tiers(name, tiers)
    for section in dataclasses.fields(s):
        value = getattr(s, section.name)
        for key in ("window_months", "cycle_window_months"):
            if hasattr(value, key) and int(getattr(value, key)) < 1:
                raise ConfigError(f"{section.name}.{key}: must be at least 1 (months)")
    from crmtool.io.schema import unit_id

    base = unit_id(s.units.base)
    if base is None:
        raise ConfigError(f"units.base: unknown unit {s.units.base!r}; use t, kg, L, kL or m3")
    s.units.base = base
    for key, d in s.units.density.items():
        if d <= 0:
            raise ConfigError("units.density: densities must be positive (kg/L)")
        if d > MAX_DENSITY:  # no fuel or chemical a seller books by volume is that dense: kg/m³ typed for kg/L
            raise ConfigError(f"units.density.{key}: {d:g} kg/L is no density of a fuel; densities are in kg/L "
                              f"(LNG 0.45, diesel 0.84): {d:g} looks like kg/m³, which is {d / 1000:g} kg/L")
    import datetime as _dt

    try:
        _dt.date.fromisoformat(s.load.date_min)
    except ValueError:
        raise ConfigError(f"load.date_min: {s.load.date_min!r} is not a date (YYYY-MM-DD)") from None
    if s.load.date_max_days_ahead < 0:
        raise ConfigError("load.date_max_days_ahead: must not be negative")
    from crmtool.io.schema import TABLES

    for tname, mapping in s.columns.items():  # [columns.<table>] canonical (or English) name = header
        if tname not in TABLES:
            raise ConfigError(f"columns.{tname}: not a table; tables are {', '.join(TABLES)}")
        cols = TABLES[tname].columns
        for key in mapping:
            if not any(c.name == key or key in c.aliases for c in cols):
                raise ConfigError(f"columns.{tname}.{key}: not a column of {tname}; columns are "
                                  f"{', '.join(c.name for c in cols)} (`crmtool columns {tname}` lists them)")
    unknown = [t for t in s.run.patterns if t not in TABLES]
    if unknown:
        raise ConfigError(f"run.patterns.{unknown[0]}: not a table; tables are {', '.join(TABLES)}")
    if not 0 <= s.run.max_reject_share <= 1:
        raise ConfigError("run.max_reject_share: must be a share from 0 to 1 (0.01 = 1 %)")
    for name, value, allowed in (("run.formats", s.run.formats, ("xlsx", "html")),
                                 ("run.languages", s.run.languages, ("zh", "en"))):
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ConfigError(f"{name}: {bad[0]!r} is not one of {', '.join(allowed)}")
        if not value:
            raise ConfigError(f"{name}: empty; give at least one of {', '.join(allowed)}")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The TOML file in force: ``--config``, else ``$CRMTOOL_CONFIG``, else ``./crmtool.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CRMTOOL_CONFIG")
    if env:
        return Path(env)
    local = Path("crmtool.toml")
    return local if local.is_file() else None


def load_settings(path: str | os.PathLike[str] | None = None, *, search: bool = True) -> Settings:
    """Defaults overridden by the TOML file (``path``, or the usual lookup when ``search``)."""
    p = config_path(path) if search else (Path(path) if path else None)
    settings = Settings()
    if p is None:
        return settings
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: config file must be UTF-8") from None
    try:
        settings = _build(Settings, data, base=settings)
        settings.source = str(p)
        _validate(settings)
    except ConfigError as exc:  # the file the setting is in, as a --set error names the option
        raise ConfigError(f"{p}: {exc}") from None
    return settings


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Defaults overridden by a nested dict (the TOML shape); for library callers and tests."""
    s = _build(Settings, data, base=Settings())
    _validate(s)
    return s


def with_overrides(settings: Settings, pairs: list[str]) -> Settings:
    """A copy of ``settings`` with ``KEY=VALUE`` overrides applied (``level.weights.volume=0.4``,
    ``pareto.a=0.7``, ``level.scheme="group"``); VALUE is read as TOML, else taken as text."""
    import copy

    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: use KEY=VALUE, e.g. level.weights.volume=0.4")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        node = data
        parts = [p.strip() for p in key.split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r}: {key} conflicts with another override")
        node[parts[-1]] = value
    if not data:
        return settings
    out = _build(Settings, data, base=copy.deepcopy(settings))
    out.source = f"{settings.source} + --set"
    _validate(out)
    return out


# ---------------------------------------------------------------------------------------------
# writing TOML (config show, init): a small writer for the shapes Settings holds


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k, ensure_ascii=False)


def _dump_table(prefix: str, data: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and not (
        isinstance(v, list) and v and isinstance(v[0], dict))}
    if prefix:
        out.append(f"[{prefix}]")
    for k, v in scalars.items():
        if v is None:
            out.append(f"# {_toml_key(k)} = (unset)")
        else:
            out.append(f"{_toml_key(k)} = {_toml_value(v)}")
    out.append("")
    for k, v in data.items():
        name = f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k)
        if isinstance(v, dict):
            _dump_table(name, v, out)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                out.append(f"[[{name}]]")
                for ik, iv in item.items():
                    out.append(f"{_toml_key(ik)} = {_toml_value(iv)}")
                out.append("")


def to_toml(settings: Settings) -> str:
    data = settings.to_dict()
    # show the tiers and key levels in force, not the empty "use the scheme" markers
    data["level"]["tiers"] = [dataclasses.asdict(t) for t in settings.level.effective_tiers()]
    data["level"]["key_levels"] = settings.level.effective_key_levels()
    out: list[str] = []
    for section, body in data.items():
        if isinstance(body, dict):
            _dump_table(section, body, out)
    return "\n".join(out).rstrip() + "\n"


def commented_template() -> str:
    """The file `crmtool init` writes: every default, commented out, with a short header."""
    lines = [
        "# crmtool configuration. Every line below is a default; uncomment a line to change it.",
        "# Map your export's headers to canonical columns under [columns.<table>], e.g.",
        "#   [columns.orders]",
        '#   order_id = "凭证号"',
        "#   quantity = \"实发数量\"",
        "",
    ]
    for line in to_toml(Settings()).splitlines():
        lines.append(f"# {line}" if line else "")
    return "\n".join(lines) + "\n"
