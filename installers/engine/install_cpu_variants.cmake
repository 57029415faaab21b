# Included into llama-cpp-python's CMake project (CMAKE_PROJECT_llama_cpp_INCLUDE, set by
# installers/build.py's portable-engine recipe) so that its wheel carries llama.cpp's CPU
# backend variants.
#
# With GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS, llama.cpp builds one CPU backend library
# per instruction-set level (targets ggml-cpu-x64, ggml-cpu-sse42, ..., ggml-cpu-zen4 on
# x86; ggml-cpu-apple_m1 ... on Apple silicon), but llama-cpp-python (0.3.x) installs only
# a target named ggml-cpu, which such a build does not have: the wheel would hold no CPU
# backend at all.  At the end of the top-level CMakeLists (cmake_language DEFER), every
# variant target that exists is installed beside libllama in llama_cpp/lib, where
# desktop/core/engine/backends.py asks ggml to load the best one for the running CPU.
cmake_minimum_required(VERSION 3.21)

function(hearth_install_cpu_variants)
    set(_variants
        x64 sse42 sandybridge ivybridge piledriver haswell skylakex cannonlake cascadelake
        icelake cooperlake zen4 alderlake sapphirerapids
        apple_m1 apple_m2_m3 apple_m4
        armv8.0_1 armv8.2_1 armv8.2_2 armv8.2_3 armv8.6_1 armv8.6_2 armv9.2_1 armv9.2_2)
    set(_found "")
    foreach(_v IN LISTS _variants)
        if(TARGET ggml-cpu-${_v})
            list(APPEND _found ggml-cpu-${_v})
            set_target_properties(ggml-cpu-${_v} PROPERTIES
                INSTALL_RPATH "$ORIGIN" BUILD_WITH_INSTALL_RPATH TRUE)
            if(APPLE)
                set_target_properties(ggml-cpu-${_v} PROPERTIES INSTALL_RPATH "@loader_path")
            endif()
            install(TARGETS ggml-cpu-${_v}
                LIBRARY DESTINATION ${SKBUILD_PLATLIB_DIR}/llama_cpp/lib
                RUNTIME DESTINATION ${SKBUILD_PLATLIB_DIR}/llama_cpp/lib)
        endif()
    endforeach()
    message(STATUS "Hearth: installing llama.cpp CPU backend variants: ${_found}")
    if(GGML_CPU_ALL_VARIANTS AND NOT _found)
        message(FATAL_ERROR "GGML_CPU_ALL_VARIANTS is on but no ggml-cpu-* target exists")
    endif()
endfunction()

if(CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
    cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hearth_install_cpu_variants)
endif()
