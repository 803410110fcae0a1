// SPDX-License-Identifier: LGPL-2.1-or-later
// Survives another process truncating a mapped segment.
//
// Touching a page of a shared mapping beyond the end of its object raises SIGBUS, and any process
// of the same user can truncate a segment. libwayland-server faces the same threat from client
// shm pools (wl_shm_buffer_begin_access): its SIGBUS handler maps anonymous memory over the pool
// so that the faulting access completes, and marks the pool broken. pvshm does the same for every
// mapping it makes, for their whole life rather than around each access, because zero-copy views
// (numpy arrays, GStreamer buffers) are read long after the library returned them:
//
//   SIGBUS at address A --A inside a guarded range?--> yes: mmap(MAP_FIXED) zero pages over the
//                                                           range, mark it lost, return (the
//                                                           access completes, reading zeros)
//                                                      no:  the previous handler (default: die)
//
// A lost range never turns back into the segment: its owner checks lost() after reading or
// writing a frame (one relaxed load, nothing else per frame) and treats the frame as torn.
#pragma once

#include <cstddef>

namespace pvshm {

class FaultGuard
{
public:
    // Guards [address, address + length), mapped with `prot`. Installs the process's SIGBUS
    // handler on first use. When the fixed table of guarded ranges is full the range stays
    // unguarded (logged once).
    FaultGuard(void* address, size_t length, int prot);
    ~FaultGuard();
    FaultGuard(const FaultGuard&) = delete;
    FaultGuard& operator=(const FaultGuard&) = delete;

    // True once a SIGBUS replaced the range with zero pages.
    bool lost() const;

private:
    int entry_ = -1;
};

} // namespace pvshm
