// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm.Writer: the one writer of an id, over the library's Writer, safe to share between
// Python threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <pybind11/pybind11.h>

#include <pvshm/writer.hpp>

namespace pvshm::python {

// write() holds `write_mutex_` without the GIL, also while a lossless writer waits for its
// readers; `handle_mutex_` only guards the pointer, so that close() and cancel_wait() can reach
// a writer whose write() is waiting.
class WriterBinding
{
public:
    WriterBinding(const std::string& shared_mem_id, WriterOptions options);

    // Stores `array` as the newest frame; returns its sequence number, or None when it was
    // dropped (readers held every slot, or a lossless wait was cancelled).
    pybind11::object write(pybind11::handle array, const pybind11::object& color_space,
                           const pybind11::object& metadata, std::optional<int64_t> timestamp_ns);
    pybind11::dict stats();
    void cancel_wait();
    // Gives the id up (its segment and last frame stay); later calls raise ValueError.
    void close();
    bool closed() const;
    const std::string& id() const { return id_; }

private:
    std::shared_ptr<Writer> current(const char* caller) const;

    const std::string id_;
    std::mutex write_mutex_;
    mutable std::mutex handle_mutex_;
    std::shared_ptr<Writer> writer_;
};

// Adds the Writer class to `module`.
void bind_writer(pybind11::module_& module);

} // namespace pvshm::python
