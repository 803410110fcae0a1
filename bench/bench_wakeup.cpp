// Publish-to-receive latency between two processes: a writer process publishes a 1080p BGR frame
// every 10 ms; this process waits for each with Reader::wait and measures CLOCK_MONOTONIC from
// the publish stamp to its wake-up. Next to it, the floor: a bare futex wake-up between two
// processes through shared memory, measured the same way in the same run.
//
//   pvshm-bench-wakeup [FRAMES]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <linux/futex.h>
#include <signal.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <pvshm/pvshm.hpp>

namespace {

int64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void sleep_until(int64_t deadline_ns)
{
    const timespec ts{static_cast<time_t>(deadline_ns / 1000000000),
                      static_cast<long>(deadline_ns % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

void report(const char* what, std::vector<double> us)
{
    std::sort(us.begin(), us.end());
    auto at = [&](double f) { return us[static_cast<size_t>(f * (us.size() - 1))]; };
    std::printf("| %-44s | %6zu | %8.1f | %8.1f | %8.1f |\n", what, us.size(), at(0.5), at(0.99),
                us.back());
}

struct FutexPage
{
    std::atomic<uint32_t> word;
    std::atomic<int64_t> stamp;
};

std::vector<double> futex_floor(int frames)
{
    auto* page = static_cast<FutexPage*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    const pid_t child = fork();
    if (child == 0) {
        int64_t next = monotonic_ns() + 20'000'000;
        for (int i = 0; i < frames + 1; ++i, next += 10'000'000) {
            sleep_until(next);
            page->stamp.store(monotonic_ns());
            page->word.fetch_add(1);
            syscall(SYS_futex, &page->word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
        _exit(0);
    }
    std::vector<double> us;
    uint32_t seen = page->word.load();
    while (static_cast<int>(us.size()) < frames) {
        syscall(SYS_futex, &page->word, FUTEX_WAIT, seen, nullptr, nullptr, 0);
        const uint32_t now_word = page->word.load();
        if (now_word == seen)
            continue;
        us.push_back((monotonic_ns() - page->stamp.load()) / 1e3);
        seen = now_word;
    }
    waitpid(child, nullptr, 0);
    munmap(page, 4096);
    return us;
}

std::vector<double> pvshm_wakeup(int frames)
{
    const std::string id = "bench-wakeup-" + std::to_string(getpid());
    pvshm::Reader reader(id);
    int ready[2];
    if (pipe(ready) != 0)
        return {};
    const pid_t child = fork();
    if (child == 0) {
        pvshm::Writer writer(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, 1920, 1080);
        std::vector<uint8_t> bytes(info.payload_size, 1);
        writer.write(info, bytes.data());
        (void)!write(ready[1], "r", 1);
        int64_t next = monotonic_ns() + 20'000'000;
        for (int i = 0; i < frames + 1; ++i, next += 10'000'000) {
            // The frame is filled first, as a camera would; the stamp is the publish time.
            auto loan = writer.loan(info.payload_size);
            std::memset(loan->data(), i, info.payload_size);
            sleep_until(next);
            writer.publish(*loan, info);
        }
        _exit(0);
    }
    char byte;
    (void)!read(ready[0], &byte, 1);
    reader.wait(std::chrono::seconds(5));
    reader.view_latest();
    std::vector<double> us;
    while (static_cast<int>(us.size()) < frames && reader.wait(std::chrono::seconds(5))) {
        const int64_t woke = monotonic_ns();
        auto view = reader.view_latest();
        if (view)
            us.push_back((woke - view->info().timestamp_monotonic_ns) / 1e3);
    }
    waitpid(child, nullptr, 0);
    pvshm::dev_clear_shared_memory(id);
    return us;
}

} // namespace

int main(int argc, char** argv)
{
    const int frames = argc > 1 ? std::atoi(argv[1]) : 2000;
    std::printf("| %-44s | %6s | %8s | %8s | %8s |\n", "publish-to-receive, 100 frames/s", "frames",
                "p50 us", "p99 us", "max us");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(8, '-').c_str(),
                std::string(10, '-').c_str(), std::string(10, '-').c_str(),
                std::string(10, '-').c_str());
    report("floor: bare futex wake-up between processes", futex_floor(frames));
    report("pvshm Reader::wait, 1080p BGR frames", pvshm_wakeup(frames));
    return 0;
}
