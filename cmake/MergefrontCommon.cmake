# SPDX-License-Identifier: GPL-3.0-or-later
# One INTERFACE target carrying the project's warnings and definitions; every target links it.
add_library(mergefront_common INTERFACE)
add_library(mergefront::common ALIAS mergefront_common)
target_compile_options(mergefront_common INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>)
# Torch headers use `slots` as an identifier: Qt keywords stay off everywhere.
target_compile_definitions(mergefront_common INTERFACE
    QT_NO_KEYWORDS
    MERGEFRONT_VERSION="${PROJECT_VERSION}")

# MERGEFRONT_SANITIZE builds everything instrumented: "address,undefined" (ASan + UBSan, any
# error fails: UBSan does not recover) or "thread" (TSan). `./run.sh sanitize` builds and runs
# both; tests/sanitizers/ holds the options and the few third-party suppressions, each named.
set(MERGEFRONT_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined | thread | empty")
if(MERGEFRONT_SANITIZE)
    add_compile_options(-fsanitize=${MERGEFRONT_SANITIZE} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${MERGEFRONT_SANITIZE})
    if(MERGEFRONT_SANITIZE MATCHES "undefined")
        add_compile_options(-fno-sanitize-recover=undefined)
    endif()
endif()
