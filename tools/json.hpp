// SPDX-License-Identifier: LGPL-2.1-or-later
// JSON output for `pvshm list --json`, `pvshm info --json` and `pvshm rtsp --json`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pvshm::cli {

// One JSON object, members in the order they are added.
class JsonObject
{
public:
    template <typename T> JsonObject& add(std::string_view key, const T& value)
    {
        object_[std::string(key)] = value;
        return *this;
    }
    // `value` or null.
    template <typename T> JsonObject& add(std::string_view key, const std::optional<T>& value)
    {
        return value ? add(key, *value) : add_null(key);
    }
    JsonObject& add_null(std::string_view key)
    {
        object_[std::string(key)] = nullptr;
        return *this;
    }

    // Bytes that are not UTF-8 (a camera id read from a segment is untrusted) become U+FFFD,
    // so the output stays JSON.
    std::string str() const
    {
        return object_.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

private:
    nlohmann::ordered_json object_ = nlohmann::ordered_json::object();
};

} // namespace pvshm::cli
