// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Debian's qcustomplot.h uses Qt's lower-case keywords (signals, slots, foreach), which this
// project turns off (QT_NO_KEYWORDS: LibTorch and others use those names). Map them for the
// header alone.
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef foreach
