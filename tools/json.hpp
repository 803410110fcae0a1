// Just enough JSON output for `pvshm list --json` and `pvshm info --json`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pvshm::cli {

// Length of the well-formed UTF-8 sequence starting at text[0], or 0 if there is none
// (overlong forms, surrogates and code points beyond U+10FFFF are not well formed).
size_t utf8_sequence_length(std::string_view text);

// `text` as a JSON string literal. Control characters are escaped and bytes that are not valid
// UTF-8 (a camera id read from a segment is untrusted) become U+FFFD, so the output stays JSON.
std::string json_string(std::string_view text);

// One JSON object, members in the order they are added.
class JsonObject
{
public:
    JsonObject& add(std::string_view key, std::string_view value);
    JsonObject& add(std::string_view key, const char* value)
    {
        return add(key, std::string_view(value));
    }
    JsonObject& add(std::string_view key, int64_t value);
    JsonObject& add(std::string_view key, uint64_t value);
    JsonObject& add(std::string_view key, uint32_t value) { return add(key, uint64_t{value}); }
    JsonObject& add(std::string_view key, int32_t value) { return add(key, int64_t{value}); }
    JsonObject& add(std::string_view key, bool value);
    JsonObject& add(std::string_view key, double value);
    JsonObject& add_null(std::string_view key);

    // `value` or null.
    template <typename T> JsonObject& add(std::string_view key, const std::optional<T>& value)
    {
        return value ? add(key, *value) : add_null(key);
    }

    std::string str() const { return "{" + members_ + "}"; }

private:
    JsonObject& add_raw(std::string_view key, std::string_view json);

    std::string members_;
};

} // namespace pvshm::cli
