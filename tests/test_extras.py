"""The install extras: `cnnstat[all]` is every other extra, the README says what each adds, and a
command that lacks one says exactly what to install (issue 29)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def extras() -> dict[str, list[str]]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return dict(project["optional-dependencies"])


def test_all_is_torch_graph_and_plot() -> None:
    found = extras()
    assert sorted(found["all"]) == sorted(found["torch"] + found["graph"] + found["plot"])


def test_the_readme_says_what_each_extra_and_dot_add() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    install = readme[readme.index("## Two commands on a fresh machine"):readme.index("## Commands")]
    for extra in ("torch", "graph", "plot", "all"):
        assert f"cnnstat[{extra}]" in install, extra
    assert "dot" in install and "Graphviz" in install


def _without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """cnnstat with ``module`` impossible to import, as on a machine without it."""
    code = (f"import sys; sys.modules[{module!r}] = None; from cnnstat.cli.main import main; "
            f"main({list(args)!r})")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("module", "args", "hint"), [
    ("torch", ("verify", "lenet5"), "pip install 'cnnstat[torch]'"),
    ("torch", ("bench", "lenet5", "--device", "cpu"), "pip install 'cnnstat[torch]'"),
    ("fvcore", ("verify", "lenet5"), "pip install 'cnnstat[torch]'"),
    ("thop", ("verify", "lenet5", "--count", "thop"), "pip install ultralytics-thop"),
    ("matplotlib", ("plot", "layers", "lenet5", "-o", "/tmp/cnnstat-extras-test.svg"),
     "pip install 'cnnstat[plot]'"),
    ("graphviz", ("graph", "lenet5", "-o", "/tmp/cnnstat-extras-test.svg"),
     "pip install 'cnnstat[graph]'"),
])
def test_a_missing_extra_names_the_exact_install(module: str, args: tuple[str, ...],
                                                 hint: str) -> None:
    proc = _without(module, *args)
    assert proc.returncode == 2, proc.stderr
    assert re.search(rf"hint: .*{re.escape(hint)}", proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
