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
