// SPDX-License-Identifier: LGPL-2.1-or-later
// The fixture of tests that own one id: a unique id, cleared and checked gone afterwards, and
// the newest frame read and checked intact.
#pragma once

#include <cstdint>
#include <gtest/gtest.h>
#include <string>

#include <pvshm/pvshm.hpp>

#include "stamp.hpp"
#include "test_ids.hpp"

namespace pvshm::test {

class SegmentTest : public ::testing::Test
{
protected:
    void TearDown() override
    {
        pvshm::dev_clear_shared_memory(id);
        EXPECT_TRUE(segment_absent(id));
    }

    // The newest frame, checked intact; returns its stamp (0 when there is none).
    uint64_t newest_stamp(pvshm::Reader& reader)
    {
        auto view = reader.view_latest();
        EXPECT_TRUE(view) << "no frame";
        if (!view)
            return 0;
        auto stamp = read_stamp(view->data(), view->size());
        EXPECT_TRUE(stamp) << "torn frame, sequence " << view->info().sequence;
        return stamp.value_or(0);
    }

    const std::string id = unique_id();
};

} // namespace pvshm::test
