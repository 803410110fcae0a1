// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm.SyncReader: the library's SyncReader (the frames of several ids that belong together,
// whole sets or none) made safe to share between Python threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include <pvshm/normalize.hpp>
#include <pvshm/sync_reader.hpp>

namespace pvshm::python {

// As ReaderBinding: every call releases the GIL before taking `mutex_`.
class SyncReaderBinding
{
public:
    SyncReaderBinding(std::vector<std::string> shared_mem_ids, SyncOptions options);

    // The next set as a list of one frame per id, in the order of the ids, each as Reader.read()
    // (read_set) or Reader.view() (view_set) return it; None when no set completed within the
    // timeout (seconds, None: forever).
    pybind11::object read_set(std::optional<double> timeout_seconds, const std::string& color_space,
                              bool with_info);
    pybind11::object view_set(std::optional<double> timeout_seconds, bool with_info);
    uint64_t frames_unmatched();
    // SyncReader::closest_spread() in seconds.
    std::optional<double> closest_spread();
    const std::vector<std::string>& ids() const { return ids_; }

private:
    pybind11::object take_set(std::optional<double> timeout_seconds,
                              std::optional<ColorOrder> order, bool with_info, const char* caller);

    const std::vector<std::string> ids_;
    std::mutex mutex_;
    SyncReader sync_;
};

// Adds SyncReader to `module`.
void bind_sync_reader(pybind11::module_& module);

} // namespace pvshm::python
