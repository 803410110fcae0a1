// SPDX-License-Identifier: LGPL-2.1-or-later
#include "test_ids.hpp"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_run.hpp"

namespace pvshm::test {

std::string unique_id(const std::string& hint)
{
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string id = test_id_prefix();
    id += info ? std::string(info->test_suite_name()) + "-" + info->name() : "test";
    if (!hint.empty())
        id += "-" + hint;
    id += "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    for (char& c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
            c = '_';
    return id;
}

std::string object_path(const std::string& id)
{
    const char* dir = std::getenv("PVSHM_SHM_DIR");
    return std::string(dir && *dir ? dir : "/dev/shm") + "/pvshm." + id;
}

bool segment_absent(const std::string& id)
{
    struct stat st
    {
    };
    return lstat(object_path(id).c_str(), &st) != 0;
}

} // namespace pvshm::test
