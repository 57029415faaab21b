"""llama.cpp's AMX weight buffer is kept out on processors that have AMX (its matrix
multiply crashed every decode on this project's Sapphire-Rapids-class machines)."""

from __future__ import annotations

from pathlib import Path

from desktop.core.engine.backends import avoid_amx, cpu_has_amx


def test_amx_is_read_from_the_processor_flags(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile amx_int8\n")
    assert cpu_has_amx(info)
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")  # an AMD EPYC
    assert not cpu_has_amx(info)
    # Windows, macOS: NumPy's CPU dispatch flags say
    from numpy._core._multiarray_umath import __cpu_features__

    assert cpu_has_amx(tmp_path / "missing") == bool(__cpu_features__.get("AVX512_SPR"))


def test_models_load_without_extra_buffers_where_amx_is() -> None:
    from llama_cpp import llama_cpp as bindings

    changed = avoid_amx()
    assert changed == cpu_has_amx()
    assert bindings.llama_model_default_params().use_extra_bufts is (not changed)
