// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm.Reader and pvshm.wait_any: the library's Reader made safe to share between Python
// threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <pybind11/pybind11.h>

#include <pvshm/frame.hpp>
#include <pvshm/normalize.hpp>
#include <pvshm/reader.hpp>

namespace pvshm::python {

// Reader options of the Python classes: a refusal of another user's segment names
// allow_other_owner=True. `spin_seconds` is ReaderOptions::spin; ValueError unless it is 0 to
// 3600.
ReaderOptions reader_options(bool allow_other_owner, double spin_seconds = 0);

// Every call releases the GIL before taking `mutex_` and never takes the GIL while holding it,
// so a thread blocked in wait() stalls neither the interpreter nor other users of the reader.
class ReaderBinding
{
public:
    ReaderBinding(const std::string& shared_mem_id, bool allow_other_owner, double spin_seconds);

    // The newest frame normalized to a (H,W,3) RGB copy, or None before the first frame; with
    // `with_info`, (array, info dict) describing that frame.
    pybind11::object read(const std::string& color_space, bool with_info);
    // The newest frame in place (see array_from_view), or None before the first frame.
    pybind11::object view(bool with_info);
    // As read() and view(), for the oldest frame newer than the last one returned, or None.
    pybind11::object read_next(const std::string& color_space, bool with_info);
    pybind11::object view_next(bool with_info);
    // True once a frame newer than the last one returned is there; None waits forever.
    bool wait(std::optional<double> timeout_seconds);
    // Description of the last frame returned, or None.
    pybind11::object metadata();
    uint64_t frames_skipped();
    bool writer_alive();
    const std::string& id() const { return id_; }

private:
    friend pybind11::list wait_any(const pybind11::object& readers,
                                   std::optional<double> timeout_seconds);
    enum class Pick
    {
        Newest, // Reader::view_latest
        Next,   // Reader::view_next
    };
    // One frame as read() (order set: a normalized copy) or view() (no order) return it.
    pybind11::object take(Pick pick, std::optional<ColorOrder> order, bool with_info);

    const std::string id_;
    std::mutex mutex_;
    Reader reader_;
    std::optional<FrameInfo> last_;
};

// pvshm.wait_any(readers, timeout): the readers (as given) that have a frame newer than the last
// one each returned, empty on timeout; one sleep on all of them, without the GIL.
pybind11::list wait_any(const pybind11::object& readers, std::optional<double> timeout_seconds);

// Adds Reader and wait_any to `module`.
void bind_reader(pybind11::module_& module);

} // namespace pvshm::python
