// SPDX-License-Identifier: LGPL-2.1-or-later
// Copies into shared memory that the copying process will not read again.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvshm::detail {

// memcpy, but a copy too large to stay in cache alongside the writer's own working set (a
// slot is written once per frame and read by other processes) uses non-temporal stores: they
// skip reading each destination line before writing it and leave the cache to what the writer
// reads. Measured on a 1080p BGR frame written into two alternating slots: half of memcpy's time.
void copy_past_cache(uint8_t* destination, const uint8_t* source, size_t size);

} // namespace pvshm::detail
