# Fault injection (docs/faults.md): each script starts its own sluiced on a
# free loopback port with a temporary data dir, and stops it by its PID. The
# CI versions are short; the long ones take options (crash_loop.py --kills 20,
# soak.py --seconds 600). The load-generating, timing-checked ones run alone
# (RUN_SERIAL): a loop starved by a parallel test would fail their bounds.
set(SL_FAULTS ${PROJECT_SOURCE_DIR}/tests/faults)

add_test(NAME fault.crash_loop
  COMMAND python3 ${SL_FAULTS}/crash_loop.py ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} --kills 5
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(fault.crash_loop PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE)

add_test(NAME fault.soak
  COMMAND python3 ${SL_FAULTS}/soak.py ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} --seconds 60
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(fault.soak PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE)

add_test(NAME fault.hostile_policies
  COMMAND python3 ${SL_FAULTS}/hostile_policies.py ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(fault.hostile_policies PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)

add_test(NAME fault.bad_http
  COMMAND python3 ${SL_FAULTS}/bad_http.py ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(fault.bad_http PROPERTIES TIMEOUT 180)
