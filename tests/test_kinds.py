"""Layer kinds by family, and the hint for a kind that does not exist: a near miss is matched
within its family first (never 'upsample' -> 'subsample'), other frameworks' names map to ours,
and with no match the hint points at the manual's layer table, not the JSON schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.spec.kinds import ALIASES, FAMILIES, LAYER_TABLE, family_of, kind_hint
from cnnstat.spec.expand import COMPOSITES
from cnnstat.spec.models import LAYER_ARGS
from tests.conftest import write

SPEC_LANGUAGE = Path(__file__).resolve().parents[1] / "docs" / "spec-language.md"


def test_every_kind_has_exactly_one_family() -> None:
    members = [k for kinds in FAMILIES.values() for k in kinds]
    assert sorted(members) == sorted(LAYER_ARGS)


def test_every_alias_names_a_kind() -> None:
    assert set(ALIASES.values()) <= set(LAYER_ARGS)


def test_the_layer_table_the_hint_names_exists() -> None:
    text = SPEC_LANGUAGE.read_text("utf-8")
    assert "# Writing a spec" in text and "\n## Layers\n" in text and "| kind | arguments |" in text
    assert "(docs/spec-language.md, Layers)" in LAYER_TABLE


@pytest.mark.parametrize(("word", "hint"), [
    ("upsampel", "did you mean 'upsample'?"),
    ("deconv", "did you mean 'conv_transpose'?"),
    ("ConvTranspose2d", "did you mean 'conv_transpose'?"),
    ("BatchNorm2d", "did you mean 'bn'?"),
    ("AdaptiveMaxPool2d", "did you mean 'adaptive_maxpool'?"),
    ("adaptive_maxpol", "did you mean 'adaptive_maxpool'?"),
    ("rleu", "did you mean 'relu'?"),
    ("pad_chanels", "did you mean 'pad_channels'?"),
    ("resdual", "did you mean 'residual'?"),
])
def test_a_near_miss_gets_the_kind_it_meant(word: str, hint: str) -> None:
    assert kind_hint(word, LAYER_ARGS, [*COMPOSITES, "repeat"]) == hint


def test_upsample_is_never_offered_subsample() -> None:
    # Before 'upsample' was a kind, it was offered LeNet's trainable pooling; without it in the
    # list of kinds, the hint now names the resampling family instead.
    kinds = [k for k in LAYER_ARGS if k != "upsample"]
    hint = kind_hint("upsample", kinds, [*COMPOSITES, "repeat"])
    assert family_of("upsample") == "resampling" and family_of("subsample") == "pooling"
    assert "subsample" not in hint
    assert hint == ("the resampling kinds are conv_transpose, crop, pad, pixel_shuffle, "
                    f"pixel_unshuffle; {LAYER_TABLE}")


def test_no_match_points_at_the_manuals_layer_table(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n  - wibble\n")
    result = cli("check", spec)
    assert result.exit_code == 1
    assert f"{spec}:4:5: error[E204]: unknown layer kind or block 'wibble'" in result.stderr
    assert "hint: The layer kinds are listed in the manual's layer table " \
        "(docs/spec-language.md, Layers)" in result.stderr
    assert "cnnstat schema" not in result.stderr


def test_a_block_of_the_spec_is_still_suggested(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, "name: t\ninput: [3, 8, 8]\nblocks:\n  upblock:\n    layers: [relu]\n"
                           "layers:\n  - upblok\n")
    result = cli("check", spec)
    assert result.exit_code == 1 and "hint: did you mean 'upblock'?" in result.stderr


@pytest.mark.parametrize(("name", "kind"), [("unknown-kind-deconv.yaml", "conv_transpose"),
                                             ("unknown-kind-upsampel.yaml", "upsample")])
def test_corpus_near_misses_get_their_kind(name: str, kind: str, cli: Callable) -> None:
    result = cli("check", str(Path(__file__).parent / "bad_specs" / name))
    assert result.exit_code == 1 and f"hint: did you mean '{kind}'?" in result.stderr
