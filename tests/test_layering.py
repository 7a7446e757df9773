"""The layering of DESIGN.md, checked: the core never imports streamlit; pages hold no SQL."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# o2o_ops/ui (streamlit) and o2o_ops/bench (the benchmark, which drives the UI) are not core
CORE = sorted(p for p in (ROOT / "o2o_ops").rglob("*.py")
              if not {"ui", "bench"} & set(p.relative_to(ROOT / "o2o_ops").parts))
PAGES = sorted((ROOT / "pages").glob("*.py"))


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_does_not_import_streamlit(path):
    imports = _top_level_imports(path)
    assert "streamlit" not in imports
    assert not any(name.startswith("o2o_ops.ui") for name in imports)


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
