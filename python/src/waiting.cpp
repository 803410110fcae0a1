// SPDX-License-Identifier: LGPL-2.1-or-later
#include "waiting.hpp"

#include <algorithm>
#include <string>

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace pvshm::python {
namespace {

// How long a wait blocks without the GIL before it looks for Ctrl-C; a frame ends the wait at
// once, so this bounds only the reaction to signals.
constexpr std::chrono::milliseconds kSignalCheckInterval{100};

} // namespace

void check_timeout(std::optional<double> timeout_seconds, const char* caller)
{
    if (timeout_seconds && !(*timeout_seconds >= 0))
        throw py::value_error(std::string(caller) +
                              ": timeout must be None or a number of seconds >= 0");
}

bool wait_in_slices(std::optional<double> timeout_seconds, const char* caller,
                    const std::function<bool(std::chrono::nanoseconds)>& attempt)
{
    using Clock = std::chrono::steady_clock;
    check_timeout(timeout_seconds, caller);
    std::optional<Clock::time_point> deadline;
    // Beyond a year the deadline's arithmetic could overflow; no caller means a finite wait then.
    if (timeout_seconds && *timeout_seconds < 365.0 * 24 * 3600)
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(*timeout_seconds));
    for (;;) {
        auto slice = std::chrono::nanoseconds(kSignalCheckInterval);
        if (deadline)
            slice = std::min(slice, std::max(std::chrono::nanoseconds::zero(),
                                             std::chrono::nanoseconds(*deadline - Clock::now())));
        bool arrived = false;
        {
            py::gil_scoped_release release;
            arrived = attempt(slice);
        }
        if (arrived)
            return true;
        if (deadline && Clock::now() >= *deadline)
            return false;
        if (PyErr_CheckSignals() != 0)
            throw py::error_already_set(); // KeyboardInterrupt, or whatever a handler raised
    }
}

} // namespace pvshm::python
