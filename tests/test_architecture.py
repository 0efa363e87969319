"""The shape rules of the code base, checked so they stay true."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_settlement_library_imports_neither_streamlit_nor_duckdb() -> None:
    # __main__ is the command-line shell that wires the pure engine to the warehouse.
    modules = [p for p in (ROOT / "settlement").rglob("*.py") if p.name != "__main__.py"]
    assert modules, "settlement package has no modules"
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & {"streamlit", "duckdb", "warehouse"})
        for p in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_settlement_loads_no_io_library() -> None:
    probe = (
        "import sys, importlib, pkgutil, settlement\n"
        "for m in pkgutil.walk_packages(settlement.__path__, 'settlement.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print(sorted({'duckdb', 'streamlit'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_only_warehouse_db_module_connects_to_duckdb() -> None:
    connecting = [
        str(p.relative_to(ROOT))
        for p in ROOT.glob("[!.]*/**/*.py")
        if "duckdb.connect(" in p.read_text(encoding="utf-8")
        and not p.is_relative_to(ROOT / "tests")
        and not p.is_relative_to(ROOT / "bench")
    ]
    assert connecting == ["warehouse/db.py"]


def test_the_project_never_reads_the_shared_reference_folder() -> None:
    hits = [
        str(p.relative_to(ROOT))
        for p in ROOT.glob("[!.]*/**/*.py")
        if "shared/reference" in p.read_text(encoding="utf-8") and p != Path(__file__).resolve()
    ]
    assert hits == []
