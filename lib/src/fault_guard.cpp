// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault_guard.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <sys/mman.h>

#include "log.hpp"

namespace pvshm {
namespace {

// Enough for every segment a process could reasonably map at once (each reader and writer maps
// one, plus mappings kept alive by views); beyond it ranges go unguarded.
constexpr size_t kMaxGuardedRanges = 4096;

// Read by the signal handler: only lock-free atomics, written under table_mutex(). `start` is
// stored last on registration and cleared first on removal, so the handler never sees a start
// with another range's length.
struct Entry
{
    std::atomic<uintptr_t> start{0};
    std::atomic<size_t> length{0};
    std::atomic<int> prot{0};
    std::atomic<bool> lost{false};
};

std::array<Entry, kMaxGuardedRanges> entries;
struct sigaction previous_action;

std::mutex& table_mutex()
{
    static std::mutex mutex;
    return mutex;
}

void on_sigbus(int signal, siginfo_t* info, void* context)
{
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (auto& entry : entries) {
        const uintptr_t start = entry.start.load(std::memory_order_acquire);
        if (start == 0 || address < start ||
            address - start >= entry.length.load(std::memory_order_relaxed))
            continue;
        const int saved_errno = errno;
        void* replaced = mmap(reinterpret_cast<void*>(start), entry.length.load(),
                              entry.prot.load(), MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        errno = saved_errno;
        if (replaced == MAP_FAILED)
            break;
        entry.lost.store(true, std::memory_order_relaxed);
        return;
    }
    // Not one of ours: whatever handled SIGBUS before us, or death.
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
    } else {
        // Returning re-executes the access, which now meets the default action.
        ::signal(SIGBUS, SIG_DFL);
    }
}

void install_handler()
{
    struct sigaction action
    {
    };
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) != 0)
        log::warning("cannot install a SIGBUS handler: a truncated segment will kill this process");
}

} // namespace

FaultGuard::FaultGuard(void* address, size_t length, int prot)
{
    static std::once_flag installed;
    std::call_once(installed, install_handler);
    std::lock_guard lock(table_mutex());
    for (size_t i = 0; i < entries.size(); ++i) {
        auto& entry = entries[i];
        if (entry.start.load(std::memory_order_relaxed) != 0)
            continue;
        entry.length.store(length, std::memory_order_relaxed);
        entry.prot.store(prot, std::memory_order_relaxed);
        entry.lost.store(false, std::memory_order_relaxed);
        entry.start.store(reinterpret_cast<uintptr_t>(address), std::memory_order_release);
        entry_ = static_cast<int>(i);
        return;
    }
    log::warning_once("fault-guard-full", "more than " + std::to_string(kMaxGuardedRanges) +
                                              " segments mapped: a truncated one can kill this "
                                              "process");
}

FaultGuard::~FaultGuard()
{
    if (entry_ < 0)
        return;
    std::lock_guard lock(table_mutex());
    entries[static_cast<size_t>(entry_)].start.store(0, std::memory_order_release);
}

bool FaultGuard::lost() const
{
    return entry_ >= 0 && entries[static_cast<size_t>(entry_)].lost.load(std::memory_order_relaxed);
}

} // namespace pvshm
