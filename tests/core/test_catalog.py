"""The curated catalog file and the hardware-fit and personalization rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.catalog import (
    FIT,
    NO_FIT,
    SLOW,
    CatalogError,
    Hardware,
    can_personalize,
    detect_hardware,
    find_entry,
    fit_label,
    load_catalog,
    personalize_reason,
    ram_needed,
    recommended,
)
from desktop.core.paths import resource_path

GB = 1024**3


def test_catalog_covers_the_families_and_sizes_asked_for() -> None:
    entries = load_catalog()
    families = " ".join(e.family for e in entries)
    for family in ("Qwen", "Llama 3", "Gemma 3", "SmolLM", "Phi"):
        assert family in families
    params = [e.parameters for e in entries]
    assert min(params) <= 0.5e9 and max(params) >= 7.5e9 and max(params) <= 8.1e9
    assert len({e.name for e in entries}) == len(entries)
    for e in entries:
        assert e.file.endswith(".gguf") and e.repo.count("/") == 1
        assert e.licence and e.context_length >= 4096 and e.size_bytes > 1e8


def test_catalog_says_which_facts_are_estimates() -> None:
    raw = json.loads(resource_path("catalog", "models.json").read_text())
    prov = raw["provenance"]
    assert "licence" in prov["from_model_cards"]
    assert any(s.startswith("size_bytes") for s in prov["estimates"])
    assert any(s.startswith("ram_bytes") for s in prov["estimates"])


def test_the_file_follows_the_ram_and_personalization_rules() -> None:
    """ram_bytes and can_personalize in the data file are what the documented rules give,
    so a change of rule without regenerating the file fails here."""
    for e in load_catalog():
        assert e.ram_bytes == ram_needed(e.size_bytes, e.kv_bytes_per_token), e.name
        assert e.can_personalize == can_personalize(e.architecture, e.parameters), e.name
    assert find_entry("gemma-3-270m-it") is not None
    assert find_entry("GEMMA-3-270M-IT").can_personalize  # type: ignore[union-attr]
    assert not find_entry("llama-3.1-8b-instruct").can_personalize  # type: ignore[union-attr]
    assert not can_personalize("qwen2", 100_000_000)  # architecture not supported yet


def test_fit_labels_on_three_machines() -> None:
    laptop8 = Hardware(ram_bytes=8 * GB)
    laptop16 = Hardware(ram_bytes=16 * GB)
    gpu = Hardware(ram_bytes=8 * GB, vram_bytes=12 * GB)
    small = find_entry("qwen2.5-0.5b-instruct")
    big = find_entry("llama-3.1-8b-instruct")
    assert small and big
    assert fit_label(small.ram_bytes, small.size_bytes, laptop8) == FIT
    assert fit_label(big.ram_bytes, big.size_bytes, laptop8) == SLOW  # 5.7 GB of 8 GB
    assert fit_label(big.ram_bytes, big.size_bytes, Hardware(ram_bytes=4 * GB)) == NO_FIT
    assert fit_label(big.ram_bytes, big.size_bytes, laptop16) == SLOW  # > 4 GB file on a CPU
    assert fit_label(big.ram_bytes, big.size_bytes, gpu) == FIT


def test_the_recommended_model_is_the_largest_that_fits() -> None:
    entries = load_catalog()
    on8 = recommended(entries, Hardware(ram_bytes=8 * GB))
    on16 = recommended(entries, Hardware(ram_bytes=16 * GB))
    assert on8 and on16 and on8.parameters <= on16.parameters
    assert fit_label(on16.ram_bytes, on16.size_bytes, Hardware(ram_bytes=16 * GB)) == FIT
    assert all(e.parameters <= on16.parameters for e in entries
               if fit_label(e.ram_bytes, e.size_bytes, Hardware(ram_bytes=16 * GB)) == FIT)
    assert recommended(entries, Hardware(ram_bytes=GB // 4)) is None


def test_few_cpu_cores_make_a_large_file_slow() -> None:
    # a 2-core machine had been told "gemma-3-4b-it ★ recommended" (eleventh trial)
    two_cores = Hardware(ram_bytes=24 * GB, cpu_cores=2)
    gemma4b, qwen15 = find_entry("gemma-3-4b-it"), find_entry("qwen2.5-1.5b-instruct")
    assert gemma4b and qwen15
    assert fit_label(gemma4b.ram_bytes, gemma4b.size_bytes, two_cores) == SLOW
    assert fit_label(gemma4b.ram_bytes, gemma4b.size_bytes, Hardware(ram_bytes=24 * GB, cpu_cores=8)) == FIT
    assert fit_label(qwen15.ram_bytes, qwen15.size_bytes, two_cores) == FIT
    suggested = recommended(load_catalog(), two_cores)
    assert suggested and suggested.size_bytes <= 2 * 600_000_000


def test_the_personalize_column_says_why_not() -> None:
    phi = find_entry("phi-3-mini-4k-instruct")
    big = find_entry("llama-3.1-8b-instruct")
    small = find_entry("smollm2-360m-instruct")
    assert phi and big and small
    assert "cannot yet train adapters for" in personalize_reason(phi)
    assert "GB of memory" in personalize_reason(big) and not big.can_personalize
    assert personalize_reason(small).startswith("Hearth can train")


def test_this_machine_is_measured() -> None:
    hw = detect_hardware()
    assert hw.ram_bytes > 1 * GB and hw.vram_bytes >= 0


def test_damaged_catalog_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "models.json"
    bad.write_text('{"models": [{"name": "x"}]}')
    with pytest.raises(CatalogError, match=r"models\.json has a damaged entry 'x'"):
        load_catalog(bad)
    bad.write_text("not json")
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(bad)
