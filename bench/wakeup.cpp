// SPDX-License-Identifier: LGPL-2.1-or-later
#include "wakeup.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <linux/futex.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

namespace pvshm::bench {

using namespace std::chrono_literals;
using pvshm::test::ChildProcess;

int64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double monotonic_s()
{
    return double(monotonic_ns()) / 1e9;
}

void sleep_until(int64_t deadline_ns)
{
    const timespec ts{static_cast<time_t>(deadline_ns / 1000000000),
                      static_cast<long>(deadline_ns % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

Percentiles percentiles(std::vector<double> us)
{
    Percentiles p;
    if (us.empty())
        return p;
    std::sort(us.begin(), us.end());
    auto at = [&](double f) { return us[static_cast<size_t>(f * double(us.size() - 1))]; };
    p.ok = true;
    p.p50 = at(0.5);
    p.p99 = at(0.99);
    p.max = us.back();
    p.count = us.size();
    return p;
}

void print_result(const Percentiles& p)
{
    printf("result n=%zu p50=%.3f p99=%.3f max=%.3f\n", p.count, p.p50, p.p99, p.max);
    fflush(stdout);
}

Percentiles parse_result(const std::optional<std::string>& line)
{
    Percentiles p;
    if (!line || sscanf(line->c_str(), "result n=%zu p50=%lf p99=%lf max=%lf", &p.count, &p.p50,
                        &p.p99, &p.max) != 4)
        return p;
    p.ok = p.count > 0;
    return p;
}

void reap(ChildProcess& child, std::chrono::milliseconds timeout)
{
    if (child.wait_exit(timeout))
        return;
    fprintf(stderr, "latency: child %d overran its deadline, killed\n", int(child.pid()));
    child.stop(SIGKILL, 10s);
}

namespace {

struct FutexPage
{
    std::atomic<uint32_t> word;
    std::atomic<int64_t> stamp;
};

// Seconds a producer of `frames` may run before its alarm ends it.
unsigned producer_limit_s(int frames, const Pattern& pattern)
{
    return unsigned(double(frames) * double(pattern.period_ns) / 1e9 + 30);
}

} // namespace

// With `pattern.paint`, the producer fills a 1080p BGR frame between wake-ups, as the library's
// does right after each publish, so that a reader the kernel wakes on the producer's core waits
// as it does there.
Percentiles futex_floor(int frames, const Pattern& pattern)
{
    auto* page = static_cast<FutexPage*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (page == MAP_FAILED)
        return {};
    ChildProcess child([&] {
        alarm(producer_limit_s(frames, pattern));
        std::vector<uint8_t> frame(pattern.paint ? size_t(kWidth) * kHeight * 3 : 0);
        int64_t next = monotonic_ns() + 20 * pattern.period_ns;
        for (int i = 0; i < frames + kWarm + 1; ++i, next += pattern.period_ns) {
            std::memset(frame.data(), i & 0xff, frame.size());
            sleep_until(next);
            page->stamp.store(monotonic_ns());
            page->word.fetch_add(1);
            syscall(SYS_futex, &page->word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
        return 0;
    });
    std::vector<double> us;
    uint32_t seen = page->word.load();
    int received = 0;
    const timespec slice{0, 100'000'000};
    const double deadline = monotonic_s() + producer_limit_s(frames, pattern) - 10;
    while (static_cast<int>(us.size()) < frames && monotonic_s() < deadline) {
        syscall(SYS_futex, &page->word, FUTEX_WAIT, seen, &slice, nullptr, 0);
        const uint32_t now_word = page->word.load();
        if (now_word == seen)
            continue;
        const int64_t woke = monotonic_ns();
        if (++received > kWarm)
            us.push_back(double(woke - page->stamp.load()) / 1e3);
        seen = now_word;
    }
    reap(child, 5s);
    munmap(page, 4096);
    return percentiles(std::move(us));
}

Percentiles pvshm_library(int frames, const Pattern& pattern, std::chrono::nanoseconds spin)
{
    const std::string id = "bench-latency-lib-" + std::to_string(getpid());
    pvshm::dev_clear_shared_memory(id);
    std::vector<double> us;
    {
        pvshm::ReaderOptions options;
        options.spin = spin;
        pvshm::Reader reader(id, options);
        ChildProcess child([&] {
            alarm(producer_limit_s(frames, pattern));
            pvshm::Writer writer(id);
            const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, kWidth, kHeight);
            int64_t next = monotonic_ns() + 20 * pattern.period_ns;
            for (int i = 0; i < frames + kWarm + 10; ++i, next += pattern.period_ns) {
                // Filled first, as a camera would, then stamped just before it is published.
                auto loan = writer.loan(info.payload_size);
                if (!loan)
                    continue;
                if (pattern.paint)
                    std::memset(loan->data(), i & 0xff, info.payload_size);
                sleep_until(next);
                const int64_t stamp = monotonic_ns();
                std::memcpy(loan->data(), &stamp, sizeof stamp);
                writer.publish(*loan, info);
            }
            return 0;
        });
        int received = 0;
        const double deadline = monotonic_s() + producer_limit_s(frames, pattern) - 10;
        while (static_cast<int>(us.size()) < frames && monotonic_s() < deadline &&
               reader.wait(std::chrono::seconds(5))) {
            const int64_t woke = monotonic_ns();
            auto view = reader.view_latest();
            if (!view || view->size() < 8)
                continue;
            int64_t stamp = 0;
            std::memcpy(&stamp, view->data(), sizeof stamp);
            if (++received > kWarm)
                us.push_back(double(woke - stamp) / 1e3);
        }
        reap(child, 5s);
    }
    pvshm::dev_clear_shared_memory(id);
    return percentiles(std::move(us));
}

} // namespace pvshm::bench
