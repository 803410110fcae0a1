#include "json.hpp"

#include <cmath>
#include <cstdio>

namespace pvshm::cli {

size_t utf8_sequence_length(std::string_view text)
{
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (text.size() < length || byte(1) < low || byte(1) > high)
        return 0;
    for (size_t i = 2; i < length; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xbf)
            return 0;
    return length;
}

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else if (c >= 0x80) {
            const size_t length = utf8_sequence_length(text.substr(i));
            if (length == 0) {
                out += "\\ufffd";
                ++i;
                continue;
            }
            out.append(text.substr(i, length));
            i += length;
            continue;
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
    return out + "\"";
}

JsonObject& JsonObject::add_raw(std::string_view key, std::string_view json)
{
    if (!members_.empty())
        members_ += ", ";
    members_ += json_string(key);
    members_ += ": ";
    members_ += json;
    return *this;
}

JsonObject& JsonObject::add(std::string_view key, std::string_view value)
{
    return add_raw(key, json_string(value));
}

JsonObject& JsonObject::add(std::string_view key, int64_t value)
{
    return add_raw(key, std::to_string(value));
}

JsonObject& JsonObject::add(std::string_view key, uint64_t value)
{
    return add_raw(key, std::to_string(value));
}

JsonObject& JsonObject::add(std::string_view key, bool value)
{
    return add_raw(key, value ? "true" : "false");
}

JsonObject& JsonObject::add(std::string_view key, double value)
{
    if (!std::isfinite(value)) // JSON has no NaN or infinity
        return add_null(key);
    char number[32];
    std::snprintf(number, sizeof number, "%.3f", value);
    return add_raw(key, number);
}

JsonObject& JsonObject::add_null(std::string_view key)
{
    return add_raw(key, "null");
}

} // namespace pvshm::cli
