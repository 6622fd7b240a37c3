"""Typed defaults, TOML overrides, lookup order, errors that name the key."""

from __future__ import annotations

import pytest

from crmtool.config import Settings, commented_template, load_settings, settings_from_dict, to_toml
from crmtool.errors import ConfigError

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib


def test_defaults_hold_every_spec_number():
    s = Settings()
    assert (s.rfm.window_months, s.rfm.metric) == (12, "amount")
    assert (s.pareto.a, s.pareto.b, s.pareto.metric) == (0.80, 0.95, "volume")
    assert s.level.weights == {"volume": 0.30, "gross_profit": 0.25, "purchase_months": 0.20,
                               "share_of_wallet": 0.15, "annual_demand": 0.10}
    assert [(t.id, t.quota) for t in s.level.effective_tiers()] == [
        ("diamond", 0.05), ("platinum", 0.10), ("gold", 0.25), ("ordinary", 0.60)]
    assert s.level.effective_key_levels() == ["diamond", "platinum", "gold"]
    assert s.scorecard.weights == {"completion": 0.35, "balance": 0.15, "volume": 0.35, "special": 0.15}
    assert [(g.id, g.quota) for g in s.scorecard.grades][:3] == [("3A", 0.10), ("2A", 0.20), ("A", 0.30)]
    assert (s.quadrant.fit_cut, s.quadrant.value_cut) == (60.0, None)
    assert (s.churn.active_max, s.churn.churned_max, s.churn.overdue_factor) == (3, 7, 2.0)
    assert (s.warning.ratio, s.warning.baseline_months) == (0.70, 3)
    assert s.units.density == {"gasoline": 0.737, "diesel": 0.84}
    assert s.classes.demand_bounds == [500.0, 2000.0, 10000.0]


def test_toml_overrides_merge_and_hash_changes(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[warning]\nratio = 0.6\n[units.density]\nother = 0.9\n[level]\nscheme = "group"\n'
                 '[columns.orders]\norder_id = "凭证号"\n', encoding="utf-8")
    s = load_settings(p)
    assert s.warning.ratio == 0.6 and s.warning.baseline_months == 3
    assert s.units.density == {"gasoline": 0.737, "diesel": 0.84, "other": 0.9}
    assert s.level.effective_tiers()[0].zh == "集团级"
    assert s.columns == {"orders": {"order_id": "凭证号"}}
    assert s.config_hash() != Settings().config_hash()
    assert s.source == str(p)


def test_lookup_order_env_then_local_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRMTOOL_CONFIG", raising=False)
    assert load_settings().source == "defaults"
    (tmp_path / "crmtool.toml").write_text("[rfm]\nwindow_months = 6\n", encoding="utf-8")
    assert load_settings().rfm.window_months == 6
    env = tmp_path / "env.toml"
    env.write_text("[rfm]\nwindow_months = 9\n", encoding="utf-8")
    monkeypatch.setenv("CRMTOOL_CONFIG", str(env))
    assert load_settings().rfm.window_months == 9


@pytest.mark.parametrize("text, fragment", [
    ("[rfm]\nwindw = 3\n", "rfm.windw: unknown setting"),
    ("[rfm]\nwindow_months = 'x'\n", "rfm.window_months: expected a whole number"),
    ("[pareto]\na = 0.99\nb = 0.9\n", "pareto"),
    ("[level]\nscheme = 'nope'\n", "level.scheme"),
    ("[warning\n", "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, fragment):
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[")):
        load_settings(p)


def test_show_round_trips_and_template_is_all_comments():
    s = settings_from_dict({"warning": {"ratio": 0.65}})
    again = settings_from_dict(tomllib.loads(to_toml(s)))
    assert again.to_dict() == s.to_dict() | {"level": again.to_dict()["level"]}
    assert again.warning.ratio == 0.65
    body = [ln for ln in commented_template().splitlines() if ln.strip()]
    assert all(ln.startswith("#") for ln in body)
    assert tomllib.loads(commented_template()) == {}


def test_a_column_mapping_for_an_unknown_table_or_column_is_a_config_error():
    """[columns.orderz] was ignored (the headers stayed unmapped) and [columns.orders] order_idd failed
    only at load time, exit 1; both are config errors (exit 2) as soon as the file is read."""
    assert ConfigError.exit_code == 2
    with pytest.raises(ConfigError, match="columns.orderz: not a table"):
        settings_from_dict({"columns": {"orderz": {"order_id": "凭证号"}}})
    with pytest.raises(ConfigError, match="columns.orders.order_idd: not a column of orders"):
        settings_from_dict({"columns": {"orders": {"order_idd": "凭证号"}}})
    s = settings_from_dict({"columns": {"orders": {"order_id": "单号", "customer": "客户"}}})
    assert s.columns["orders"] == {"order_id": "单号", "customer": "客户"}
