"""The README documents every setting and every command; the definitions page covers every KPI."""

from __future__ import annotations

from pathlib import Path

from o2o_ops import config, metrics
from o2o_ops.__main__ import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [s.name for s in config.SETTINGS if f"`{s.name}`" not in README]
    assert missing == []


def test_every_command_is_documented():
    commands = build_parser()._subparsers._group_actions[0].choices
    missing = [name for name in commands if f"python -m o2o_ops {name}" not in README]
    assert missing == []


def test_definitions_cover_the_registry():
    table = metrics.definitions_frame()
    assert table["name"].tolist() == list(metrics.KPIS)
    assert table["definition"].str.len().min() > 20
