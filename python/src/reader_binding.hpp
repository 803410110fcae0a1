// pvshm.Reader: the library's Reader made safe to share between Python threads.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include <pybind11/pybind11.h>

#include <pvshm/frame.hpp>
#include <pvshm/reader.hpp>

namespace pvshm::python {

// Every call releases the GIL before taking `mutex_` and never takes the GIL while holding it,
// so a thread blocked in wait() stalls neither the interpreter nor other users of the reader.
class ReaderBinding
{
public:
    ReaderBinding(const std::string& shared_mem_id, bool allow_other_owner);

    // The newest frame normalized to a (H,W,3) RGB copy, or None before the first frame.
    pybind11::object read(const std::string& color_space);
    // The newest frame in place (see array_from_view), or None before the first frame.
    pybind11::object view();
    // True once a frame newer than the last one read or viewed is there; None waits forever.
    bool wait(std::optional<double> timeout_seconds);
    // Description of the last frame read or viewed, or None.
    pybind11::object metadata();
    bool writer_alive();
    const std::string& id() const { return id_; }

private:
    const std::string id_;
    std::mutex mutex_;
    Reader reader_;
    std::optional<FrameInfo> last_;
};

// Adds the Reader class to `module`.
void bind_reader(pybind11::module_& module);

} // namespace pvshm::python
