// SPDX-License-Identifier: LGPL-2.1-or-later
#include "id.hpp"

#include <cstdlib>
#include <stdexcept>

namespace pvshm {
namespace {

constexpr size_t kMaxIdLength = 200;

bool is_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

std::string escaped(const std::string& id)
{
    std::string out;
    for (char c : id.substr(0, 64)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    if (id.size() > 64)
        out += "...";
    return out;
}

} // namespace

void validate_id(const std::string& id)
{
    bool valid = !id.empty() && id.size() <= kMaxIdLength && id[0] != '.';
    for (char c : id)
        valid = valid && is_id_char(c);
    if (!valid)
        throw std::invalid_argument("invalid shared_mem_id '" + escaped(id) + "' (" +
                                    std::to_string(id.size()) + " characters): an id is " +
                                    kIdRule);
}

const std::string& shm_dir()
{
    static const std::string dir = [] {
        const char* env = std::getenv("PVSHM_SHM_DIR");
        return std::string(env && *env ? env : "/dev/shm");
    }();
    return dir;
}

std::string segment_path(const std::string& id)
{
    return shm_dir() + "/" + kSegmentPrefix + id;
}

} // namespace pvshm
