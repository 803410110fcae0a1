// SPDX-License-Identifier: LGPL-2.1-or-later
// The writer's side in one process: Writer::write (one copy in) of a 1920x1080 and a 3840x2160
// BGR frame next to a memcpy of the same bytes between two reused buffers, and the zero-copy
// Writer::loan + publish. Prints JSON lines in bench/report.py's format.
//
//   pvshm-bench-write [--quick]
#include <chrono>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include <pvshm/pvshm.hpp>

#include "report_row.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Mean microseconds per call over `batch` calls.
template <typename F> double time_batch(int batch, F&& call)
{
    const auto start = Clock::now();
    for (int i = 0; i < batch; ++i)
        call();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / batch;
}

void bench_frame(const char* name, uint32_t width, uint32_t height, int repeats, int batch)
{
    const std::string section = "writer, one process";
    const std::string id = std::string("bench-write-") + std::to_string(getpid());
    {
        pvshm::Writer writer(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, width, height);
        std::vector<uint8_t> frame(info.payload_size, 7);
        std::vector<uint8_t> target(info.payload_size);
        std::vector<double> write_us, memcpy_us, loan_us;
        writer.write(info, frame.data()); // the segment grows once, before measuring
        for (int r = 0; r < repeats; ++r) {
            write_us.push_back(time_batch(batch, [&] { writer.write(info, frame.data()); }));
            memcpy_us.push_back(time_batch(batch, [&] {
                std::memcpy(target.data(), frame.data(), frame.size());
                asm volatile("" : : "r"(target.data()) : "memory");
            }));
            loan_us.push_back(time_batch(batch, [&] {
                auto loan = writer.loan(info.payload_size);
                writer.publish(*loan, info);
            }));
        }
        report_row(section, std::string("Writer::write, ") + name, "time per frame", "us", write_us,
                   "memcpy of the frame", memcpy_us);
        report_row(section, std::string("Writer::loan + publish, ") + name, "time per frame", "us",
                   loan_us);
    }
    pvshm::dev_clear_shared_memory(id);
}

} // namespace

int main(int argc, char** argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int repeats = quick ? 2 : 9;
    bench_frame("1920x1080 BGR", 1920, 1080, repeats, quick ? 5 : 50);
    bench_frame("3840x2160 BGR", 3840, 2160, repeats, quick ? 2 : 15);
    return 0;
}
