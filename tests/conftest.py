"""Shared fixtures: golden-file handling (``--overwrite`` regenerates), a CLI runner, and the
hypothesis profiles (``ci`` is derandomized so CI is repeatable)."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

# The suite's own cache of analysed built-in specs (cnnstat.analysis.cache): fresh for each run,
# never the user's ~/.cache/cnnstat.  Set before cnnstat is imported; subprocesses inherit it.
os.environ["CNNSTAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="cnnstat-test-cache-")
atexit.register(shutil.rmtree, os.environ["CNNSTAT_CACHE_DIR"], ignore_errors=True)
os.environ.pop("CNNSTAT_NO_CACHE", None)

from cnnstat.cli.main import main  # noqa: E402

# A suite started where SIGINT is ignored (a background job of a shell without job control)
# would pass that on to every child it starts, and the Ctrl-C tests need the default: an
# ignored signal stays ignored across exec, a handled one does not.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = ["pytester"]  # tests/test_golden_fixture.py runs the golden fixture in pytest

# Hypothesis profiles, registered once for every property test: no deadline (two shared cores,
# first calls into torch are slow) and no too-slow/too-large health checks (the generated specs
# are big on purpose).  "dev" (the default) draws fresh examples on each run; "ci", chosen when
# CI is set, is derandomized so CI is repeatable.  A test sets only its own max_examples where it
# differs from hypothesis's 100 on purpose; ``--hypothesis-profile`` overrides the choice.
_SHARED: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("dev", **_SHARED)
settings.register_profile("ci", derandomize=True, print_blob=True, **_SHARED)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The slow tier (CONTRIBUTING.md, "Tests"): ``pytest -m "not slow"`` is the edit loop, CI runs
# everything.  A test is slow when it runs a whole corpus through real processes or live tools;
# each entry is a node-id prefix and why (tests/test_markers.py checks that each still names a
# test).
SLOW: dict[str, str] = {
    "tests/test_verify_zoo.py": "every zoo spec built and verified live, fvcore on real tensors",
    "tests/test_counters_live.py::test_preset_equals_the_tool": "six counters run live per net",
    "tests/test_hostile_modules.py": "the hostile-module corpus, each in its own child process",
    "tests/test_receptive_cli.py::test_zoo_": "the receptive-field overview of the whole zoo",
    "tests/test_receptive.py::test_zoo_fields_are_exact_and_consistent": "exact fields, whole zoo",
    "tests/test_bench_gpu_check.py": "the GPU check's dry run: a benchmark script end to end",
    "tests/test_zoo_unet.py::test_unet_verifies_against_the_reference_implementation":
        "U-Net built and verified against a reference module",
    "tests/test_import.py": "cnnstat import round trips, each a child process",
    "tests/test_text_table.py::test_every_figure_shown_is_whole_on_a_real_terminal":
        "the CLI in a real pseudo-terminal at four widths",
    "tests/test_text_table.py::test_every_table_command_fits_by_choosing_columns":
        "every table command in a real pseudo-terminal at four widths",
    "tests/test_text_table.py::test_verify_fits_by_choosing_columns": "verify in a pty",
    "tests/test_docs_examples.py::test_console_examples_print_what_the_page_says":
        "every console example of the docs run",
    "tests/test_trust_bounds.py": "hostile cases, each a child process bounded in memory and time",
    "tests/test_trust_sweep.py": "hostile sweep cases, each a bounded child process",
    "tests/test_zoo_hierarchical.py": "DLA-34 and HRNet verified against reference modules",
    "tests/test_import_soundness.py::test_cli_": "cnnstat import of timm-like subclasses, children",
    "tests/test_verify_census.py::test_cli_": "verify --module of a timm-like module, children",
    "tests/test_verify_isolation.py": "verify --module children: signals, memory, the guard",
    "tests/test_verify_cli.py::test_module_": "verify --module children",
    "tests/test_verify_rf.py::test_live_support_equals_the_analytic_rows": "gradients in float64",
    "tests/test_report_browser.py": "headless Chromium",
    "tests/test_fuzz.py": "mutated corpora through the loader and the command line",
    "tests/test_cli_boundary.py::test_ctrl_c_exits_130": "a real process interrupted",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    prefixes = tuple(SLOW)
    for item in items:
        if item.nodeid.startswith(prefixes):
            item.add_marker(pytest.mark.slow)


GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--overwrite", action="store_true",
                     help="rewrite golden files from the current output")


def check_golden(path: Path, text: str, *, overwrite: bool) -> None:
    """Compare ``text`` with the golden file at ``path``; with ``overwrite``, (re)write it first.

    A missing golden file is a failure, not a silent first write: only ``pytest --overwrite``
    creates golden files, so a renamed or deleted one cannot pass unnoticed."""
    if overwrite:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    elif not path.exists():
        pytest.fail(f"golden file {path} is missing; run `pytest --overwrite` to create it, "
                    "then review and commit it", pytrace=False)
    assert text == path.read_text(encoding="utf-8"), f"{path} differs from its golden file"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: compare ``text`` with tests/golden/name (``--overwrite`` rewrites
    it; a missing one fails)."""
    overwrite = bool(request.config.getoption("--overwrite"))

    def check(name: str, text: str) -> None:
        check_golden(GOLDEN / name, text, overwrite=overwrite)

    return check


@pytest.fixture(scope="session")
def cli() -> Callable[..., Result]:
    """Run the CLI in-process; ``result.stdout`` and ``result.stderr`` are kept apart.  Every
    in-process CLI test goes through this fixture (session-scoped: the runner holds no state, so
    module-scoped fixtures can use it too); only the cold-start tests spawn an interpreter."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Tiny tensors on two shared cores: intra-op threads only contend (10x slower here)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


HEAVY = ("torch", "fvcore", "numpy", "rich", "click")


def fresh_imports(modules: tuple[str, ...] = (),
                  argv: list[str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                          set[str]]:
    """In a new interpreter, import ``modules`` and then (with ``argv``) run the CLI; return the
    process and which of :data:`HEAVY` ended up imported (the layering and start-up tests)."""
    code = "".join(f"import {m}\n" for m in modules)
    if argv is not None:
        code += f"from cnnstat.cli.main import main\nmain({argv!r}, standalone_mode=False)\n"
    code += (f"import sys\nsys.stderr.write('\\nLOADED=' + ','.join(m for m in {HEAVY!r} "
             "if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    last = proc.stderr.strip().rsplit("\n", 1)[-1]
    loaded = set(last.removeprefix("LOADED=").split(",")) - {""} if last.startswith("LOADED=") \
        else set(HEAVY)
    return proc, loaded
