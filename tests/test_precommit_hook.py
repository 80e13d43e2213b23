"""The pre-commit hook checks spec files only (a directory named specs/), never a repository's
other YAML (CI workflows, compose files); docs/ci.md says how to widen it.  The test
constraints explain their torch pin in terms any contributor can act on."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _hook() -> dict[str, object]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "cnnstat-check"]
    return dict(hook)


def test_the_hook_matches_spec_files_only() -> None:
    files = re.compile(str(_hook()["files"]))
    # pre-commit matches `files` with re.search against repository-relative paths.
    for path in ("specs/vgg16.yaml", "specs/nested/net.yml", "models/specs/resnet.yaml"):
        assert files.search(path), path
    for path in (".github/workflows/ci.yml", "docker-compose.yaml", ".pre-commit-config.yaml",
                 "config/specs.yaml", "myspecs/net.yaml", "specs/README.md"):
        assert not files.search(path), path


def test_the_hook_covers_the_whole_zoo() -> None:
    files = re.compile(str(_hook()["files"]))
    zoo = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "specs").glob("*.yaml"))
    assert zoo and all(files.search(p) for p in zoo)


def test_the_docs_show_how_to_widen_the_hook() -> None:
    text = (ROOT / "docs" / "ci.md").read_text("utf-8")
    section = text[text.index("**pre-commit**"):text.index("**Baselines**")]
    assert str(_hook()["files"]) in section
    (widened,) = re.findall(r"files: (\S+)\s+#", section)
    assert re.search(widened, "models/arch/net.yaml") and re.search(widened, "specs/a.yaml")


def test_the_torch_pin_is_explained_for_any_contributor() -> None:
    text = (ROOT / "tests" / "constraints.txt").read_text("utf-8")
    comment = " ".join(line for line in text.splitlines() if line.startswith("#"))
    assert "torch==2.13.0" in text.splitlines()
    assert "CPU" in comment and "CUDA" in comment
    assert "download.pytorch.org/whl/cpu" in comment
    assert "workplace" not in comment and "disk" not in comment
