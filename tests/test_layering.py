"""The layering of DESIGN.md, checked: the core never imports streamlit; pages hold no SQL."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# o2o_ops/ui (streamlit), o2o_ops/bench (the benchmark, which drives the UI) and the entry point
# o2o_ops/__main__.py (which wires every command) are not core
CORE = sorted(p for p in (ROOT / "o2o_ops").rglob("*.py")
              if not {"ui", "bench"} & set(p.relative_to(ROOT / "o2o_ops").parts) and p.name != "__main__.py")
PAGES = sorted((ROOT / "pages").glob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (inside functions and branches too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _forbidden(imports: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(n for n in imports if any(n == p or n.startswith(p + ".") for p in prefixes))


# the core may not reach up into the UI, the benchmark, the browser or the tests
CORE_MAY_NOT = ("streamlit", "o2o_ops.ui", "o2o_ops.bench", "playwright", "browser_util", "tests", "apptest_util")
# the benchmark drives the UI, but never through the tests' helpers
BENCH_MAY_NOT = ("browser_util", "tests", "apptest_util", "tiny")


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_does_not_import_streamlit(path):
    assert _forbidden(_imports(path), CORE_MAY_NOT) == []


@pytest.mark.parametrize("path", sorted((ROOT / "o2o_ops" / "bench").glob("*.py")), ids=lambda p: p.name)
def test_benchmark_does_not_import_the_tests(path):
    assert _forbidden(_imports(path), BENCH_MAY_NOT) == []
    assert "sys.path" not in path.read_text(encoding="utf-8")


def test_import_scan_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    if True:\n        from o2o_ops.ui import frame\n        import streamlit as st\n")
    assert _forbidden(_imports(module), CORE_MAY_NOT) == ["o2o_ops.ui", "o2o_ops.ui.frame", "streamlit"]


def test_importing_the_core_loads_no_streamlit_and_opens_nothing():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in CORE if p.name != "__main__.py"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "assert 'streamlit' not in sys.modules, 'streamlit imported'\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"O2O_WAREHOUSE": "/nonexistent/o2o.duckdb", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_are_thin(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\b(SELECT|GROUP BY|INSERT|UPDATE)\b", text), "SQL belongs in o2o_ops"
    assert "db.run(" not in text and "duckdb" not in text and ".groupby(" not in text
