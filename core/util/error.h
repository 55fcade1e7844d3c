// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>
#include <string>

namespace mf {

/// A user-facing error: bad input, missing file, mismatched checkpoints.
/// The message is one line that names the file, tensor or key at fault.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message)
        : std::runtime_error(message)
    {
    }
};

/// The operation was stopped by its progress callback.
class Cancelled : public Error {
public:
    Cancelled()
        : Error("cancelled")
    {
    }
};

/// errno as text, for messages about system calls.
std::string systemErrorText(int errnum);

} // namespace mf
