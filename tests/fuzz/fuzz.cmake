# libFuzzer targets (tests/fuzz/fuzz_<target>.c), built only with
# -DSLUICE_FUZZ=ON and clang; tests/fuzz/run.sh configures such a build in
# build-fuzz/ (with ASan+UBSan) and runs each target for a bounded time.
# Here every library is instrumented for coverage, each target is linked with
# libFuzzer, and one CTest entry per target replays its checked-in seeds and
# crash reproducers (fuzz.<target>), so a fixed bug stays fixed.
option(SLUICE_FUZZ "Build the libFuzzer targets (clang only; see docs/fuzzing.md)" OFF)
if(NOT SLUICE_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(WARNING "SLUICE_FUZZ needs clang (CC=clang-14): no fuzz targets")
  return()
endif()

set(SL_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
foreach(lib sluice_core sluice_lua sluice_store sluice_server)
  target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link -fno-sanitize-recover=all)
endforeach()

add_library(sluice_fuzz_common STATIC ${SL_FUZZ_DIR}/fuzz_common.c)
target_include_directories(sluice_fuzz_common PUBLIC ${SL_FUZZ_DIR})
target_compile_definitions(sluice_fuzz_common PUBLIC SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_compile_options(sluice_fuzz_common PRIVATE ${SL_WARNINGS} -fsanitize=fuzzer-no-link)
target_link_libraries(sluice_fuzz_common PUBLIC sluice_server)

set(SL_FUZZ_TARGETS http api config admin policy metrics state)
add_custom_target(fuzz_all)
foreach(t ${SL_FUZZ_TARGETS})
  add_executable(fuzz_${t} ${SL_FUZZ_DIR}/fuzz_${t}.c)
  target_compile_options(fuzz_${t} PRIVATE ${SL_WARNINGS} -fsanitize=fuzzer
                         -fno-sanitize-recover=all)
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_${t} PRIVATE sluice_fuzz_common)
  target_include_directories(fuzz_${t} PRIVATE ${PROJECT_SOURCE_DIR}/src/store)
  set_target_properties(fuzz_${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  add_dependencies(fuzz_all fuzz_${t})
  # Replay every seed and reproducer once, named as files (directories would
  # make libFuzzer write new inputs into them).
  add_test(NAME fuzz.${t}
    COMMAND sh -c "exec \"$0\" -timeout=25 $(find \"$1\" \"$2\" -type f 2>/dev/null | sort)"
            $<TARGET_FILE:fuzz_${t}> ${SL_FUZZ_DIR}/${t}/seeds ${SL_FUZZ_DIR}/${t}/crashes
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endforeach()
