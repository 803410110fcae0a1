// SPDX-License-Identifier: LGPL-2.1-or-later
// Every public entry point rejects ids outside the contract's rule, naming the id and the rule.
#include <functional>
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

#include <pvshm/pvshm.hpp>

namespace {

const std::string kInvalidIds[] = {
    "",    "../x", "a/b",         ".hidden", std::string(201, 'a'),
    "a b", "id\n", "caf\xc3\xa9", "x:y",     "/abs",
};

void expect_rejected(const std::function<void(const std::string&)>& call)
{
    for (const auto& id : kInvalidIds) {
        try {
            call(id);
            ADD_FAILURE() << "accepted invalid id '" << id << "'";
        } catch (const std::invalid_argument& error) {
            EXPECT_NE(std::string(error.what()).find("[A-Za-z0-9._-]"), std::string::npos)
                << error.what();
        }
    }
}

} // namespace

TEST(Id, ValidIdsAreAccepted)
{
    const std::string valid[] = {"a",  "cam0", "Line-3_top.left", std::string(200, 'z'), "0",
                                 "a.", "-x"};
    for (const auto& id : valid)
        EXPECT_NO_THROW(pvshm::Reader{id}) << id;
}

TEST(Id, ReadRejectsInvalidIdsEvenForTheNoneCase)
{
    expect_rejected([](const std::string& id) { pvshm::read_image_from_shared_memory(id, {}); });
    expect_rejected([](const std::string& id) {
        pvshm::ImageMeta meta;
        meta.width = 4;
        meta.height = 4;
        pvshm::read_image_from_shared_memory(id, meta);
    });
}

TEST(Id, WritesAndClearRejectInvalidIds)
{
    expect_rejected([](const std::string& id) {
        pvshm::write_image_array_to_shared_memory(id, cv::Mat(2, 2, CV_8UC3, cv::Scalar(1)));
    });
    expect_rejected([](const std::string& id) {
        pvshm::dev_write_image_to_shared_memory(id, {1, 2, 3});
    });
    expect_rejected([](const std::string& id) { pvshm::dev_clear_shared_memory(id); });
}

TEST(Id, ClassesRejectInvalidIds)
{
    expect_rejected([](const std::string& id) { pvshm::Reader reader(id); });
    expect_rejected([](const std::string& id) { pvshm::Writer writer(id); });
}
