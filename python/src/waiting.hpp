// SPDX-License-Identifier: LGPL-2.1-or-later
// Blocking calls of the Python classes: timeouts in seconds, waits without the GIL that Ctrl-C
// still interrupts.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace pvshm::python {

// Raises ValueError unless `timeout_seconds` is None or a number of seconds >= 0; `caller`
// starts the message.
void check_timeout(std::optional<double> timeout_seconds, const char* caller);

// Calls `attempt(slice)` without the GIL, in slices of at most 100 ms, until it returns true
// (then true) or the timeout (seconds, None: forever) has passed (then false). Between slices,
// signal handlers run: Ctrl-C raises KeyboardInterrupt out of the wait.
bool wait_in_slices(std::optional<double> timeout_seconds, const char* caller,
                    const std::function<bool(std::chrono::nanoseconds)>& attempt);

} // namespace pvshm::python
