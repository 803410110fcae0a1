// SPDX-License-Identifier: LGPL-2.1-or-later
// The library wake-up next to iceoryx, the zero-copy IPC of automotive and robotics, and the bare
// futex floor, in the same run: 1920x1080 BGR chunks loaned, stamped with CLOCK_MONOTONIC and
// published every 1 ms by one process; another, asleep until the publish (a pvshm::Reader's
// wait, an iceoryx WaitSet), computes now - stamp when it wakes and looks at the newest chunk.
//   floor    a futex wake-up between processes through shared memory
//   iceoryx  UntypedPublisher loan + publish -> WaitSet wait + UntypedSubscriber take
//   pvshm    Writer loan + publish -> Reader::wait + view_latest
// This program starts its own RouDi (iceoryx's broker) and stops it. Each of 5 rounds (1 with
// --quick) of 2000 frames (200) runs every case, pvshm and iceoryx taking turns at going first;
// a figure is the median of its rounds'. Prints JSON lines for report.py.
//
//   pvshm-bench-iceoryx [--quick]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/popo/untyped_publisher.hpp>
#include <iceoryx_posh/popo/untyped_subscriber.hpp>
#include <iceoryx_posh/popo/wait_set.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>
#include <optional>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "child_process.hpp"
#include "report_row.hpp"
#include "wakeup.hpp"

namespace {

using namespace std::chrono_literals;
using namespace pvshm::bench;
using pvshm::test::ChildProcess;

constexpr Pattern kPattern{1'000'000, false}; // every 1 ms; the chunk stamped, not painted
constexpr uint32_t kChunkSize = uint32_t(kWidth) * kHeight * 3;
const iox::capro::ServiceDescription kService{"pvshm", "bench", "wakeup"};

// RouDi's memory: chunks of a 1080p BGR frame (and its header), and the small ones RouDi's own
// introspection uses.
constexpr const char* kRoudiConfig = R"([general]
version = 1

[[segment]]

[[segment.mempool]]
size = 1024
count = 1000

[[segment.mempool]]
size = 6291456
count = 16
)";

// A RouDi of this run, with the configuration above; stopped when it goes by SIGINT, on which it
// removes its shared memory (on SIGTERM it leaves it behind).
class Roudi
{
public:
    Roudi()
    {
        char path[] = "/tmp/pvshm-bench-roudi-XXXXXX";
        const int fd = mkstemp(path);
        if (fd < 0 || write(fd, kRoudiConfig, strlen(kRoudiConfig)) < 0)
            return;
        close(fd);
        config_ = path;
        process_.emplace(PVSHM_IOX_ROUDI,
                         std::vector<std::string>{"-c", config_, "-l", "info", "-m", "off"},
                         ChildProcess::Stderr::Discarded);
        ready_ = process_->wait_for_line("RouDi is ready for clients", 20s).has_value();
    }
    ~Roudi()
    {
        if (process_ && !process_->stop(SIGINT, 10s))
            fprintf(stderr, "iceoryx: RouDi did not stop, killed\n");
        if (!config_.empty())
            unlink(config_.c_str());
    }
    Roudi(const Roudi&) = delete;
    Roudi& operator=(const Roudi&) = delete;
    bool ready() const { return ready_; }

private:
    std::string config_;
    std::optional<ChildProcess> process_;
    bool ready_ = false;
};

// True when stdin has a line or its end: the driver's signal to stop publishing.
bool asked_to_stop()
{
    pollfd fd{0, POLLIN, 0};
    return poll(&fd, 1, 0) > 0;
}

// Publishes until asked to stop (or its alarm): loan, sleep until the frame's time, stamp, publish.
int publish(int frames)
{
    alarm(unsigned(frames / 1000 + 60));
    const std::string name = "pvshm-bench-publisher-" + std::to_string(getpid());
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    iox::popo::UntypedPublisher publisher(kService);
    printf("ready\n");
    fflush(stdout);
    int64_t next = monotonic_ns() + 20 * kPattern.period_ns;
    for (; !asked_to_stop(); next += kPattern.period_ns) {
        auto loan = publisher.loan(kChunkSize, alignof(int64_t));
        if (loan.has_error())
            continue;
        void* chunk = loan.value();
        sleep_until(next);
        const int64_t stamp = monotonic_ns();
        std::memcpy(chunk, &stamp, sizeof stamp);
        publisher.publish(chunk);
    }
    return 0;
}

// Takes `frames` chunks after kWarm, each when the WaitSet wakes; prints the percentiles.
int subscribe(int frames)
{
    alarm(unsigned(frames / 1000 + 60));
    const std::string name = "pvshm-bench-subscriber-" + std::to_string(getpid());
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    iox::popo::SubscriberOptions options;
    options.queueCapacity = 1; // the newest chunk, as view_latest
    iox::popo::UntypedSubscriber subscriber(kService, options);
    iox::popo::WaitSet<> waitset;
    if (waitset.attachState(subscriber, iox::popo::SubscriberState::HAS_DATA).has_error())
        return 1;
    printf("ready\n");
    fflush(stdout);
    std::vector<double> us;
    int received = 0;
    const double deadline = monotonic_s() + frames / 1000.0 + 30;
    while (static_cast<int>(us.size()) < frames && monotonic_s() < deadline) {
        if (waitset.timedWait(iox::units::Duration::fromSeconds(1)).empty())
            continue;
        const int64_t woke = monotonic_ns();
        int64_t stamp = 0;
        bool taken = false;
        while (true) {
            auto chunk = subscriber.take();
            if (chunk.has_error())
                break;
            std::memcpy(&stamp, chunk.value(), sizeof stamp);
            subscriber.release(chunk.value());
            taken = true;
        }
        if (taken && ++received > kWarm)
            us.push_back(double(woke - stamp) / 1e3);
    }
    print_result(percentiles(std::move(us)));
    return 0;
}

// One iceoryx round: a subscriber and a publisher, each a process of its own (a process holds
// one iceoryx runtime for its life). Each ends with exit(), not the _exit() of a forked child:
// the runtime's static destructor tells RouDi the process is gone, or RouDi would wait for it
// when it stops and leave its shared memory behind.
Percentiles iceoryx_wakeup(int frames)
{
    ChildProcess subscriber([&]() -> int { std::exit(subscribe(frames)); });
    if (!subscriber.wait_for_line("ready", 20s))
        return {};
    ChildProcess publisher([&]() -> int { std::exit(publish(frames)); });
    const auto result =
        subscriber.wait_for_line("result ", std::chrono::seconds(frames / 1000 + 40));
    publisher.close_stdin();
    reap(publisher, 10s);
    reap(subscriber, 5s);
    return parse_result(result);
}

void row(const std::string& what, const char* metric, const std::vector<double>& value,
         const std::string& anchor, const std::vector<double>& anchor_value)
{
    report_row("latency, library wake-up, 1920x1080 BGR chunks published every 1 ms", what, metric,
               "us", value, anchor, anchor_value);
}

} // namespace

int main(int argc, char** argv)
{
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn);
    const int rounds = quick ? 1 : 5;
    const int frames = quick ? 200 : 2000;
    Series floor, iceoryx, library;
    {
        Roudi roudi;
        if (!roudi.ready()) {
            fprintf(stderr, "iceoryx: RouDi did not start (another one running?), no rows\n");
            return 0;
        }
        for (int round = 0; round < rounds; ++round) {
            fprintf(stderr, "iceoryx: round %d/%d, %d frames per case\n", round + 1, rounds,
                    frames);
            const Percentiles round_floor = futex_floor(frames, kPattern);
            Percentiles round_iceoryx, round_library;
            if (round % 2 == 0) {
                round_library = pvshm_library(frames, kPattern);
                round_iceoryx = iceoryx_wakeup(frames);
            } else {
                round_iceoryx = iceoryx_wakeup(frames);
                round_library = pvshm_library(frames, kPattern);
            }
            if (!round_floor.ok || !round_iceoryx.ok || !round_library.ok) {
                fprintf(stderr,
                        "iceoryx: round %d incomplete, left out (floor %d, iceoryx %d, "
                        "pvshm %d)\n",
                        round + 1, round_floor.ok, round_iceoryx.ok, round_library.ok);
                continue;
            }
            floor.add(round_floor);
            iceoryx.add(round_iceoryx);
            library.add(round_library);
        }
    }
    if (floor.empty()) {
        fprintf(stderr, "iceoryx: no complete round\n");
        return 1;
    }
    const std::string futex = "futex wake-up between processes";
    const std::string iox = "iceoryx UntypedPublisher → WaitSet + take";
    row("floor: " + futex, "p50", floor.p50, "", {});
    row("floor: " + futex, "p99", floor.p99, "", {});
    row(iox, "p50", iceoryx.p50, futex, floor.p50);
    row(iox, "p99", iceoryx.p99, futex, floor.p99);
    row(iox, "max", iceoryx.max, futex, floor.max);
    const std::string pvshm = "pvshm Writer loan/publish → Reader::wait + view_latest";
    row(pvshm, "p50", library.p50, iox, iceoryx.p50);
    row(pvshm, "p99", library.p99, iox, iceoryx.p99);
    row(pvshm, "max", library.max, iox, iceoryx.max);
    row(pvshm, "p50", library.p50, futex, floor.p50);
    return 0;
}
