// SPDX-License-Identifier: LGPL-2.1-or-later
#include "metadata.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include <pvshm/error.hpp>

namespace pvshm {

std::string serialize_metadata(const UserMetadata& metadata)
{
    if (metadata.empty())
        return {};
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, value] : metadata) {
        if (key.empty())
            throw std::invalid_argument("metadata keys must not be empty");
        if (const double* number = std::get_if<double>(&value); number && !std::isfinite(*number))
            throw std::invalid_argument("metadata value of '" + key + "' is not finite");
        std::visit([&, &key = key](const auto& v) { object[key] = v; }, value);
    }
    std::string stored;
    try {
        stored = object.dump();
    } catch (const nlohmann::json::type_error&) {
        throw std::invalid_argument("metadata keys and string values must be UTF-8");
    }
    if (stored.size() > kMaxMetadataBytes)
        throw std::invalid_argument("metadata takes " + std::to_string(stored.size()) +
                                    " bytes serialized, more than the " +
                                    std::to_string(kMaxMetadataBytes) + " a frame carries");
    return stored;
}

UserMetadata parse_metadata(std::string_view stored)
{
    UserMetadata metadata;
    if (stored.empty())
        return metadata;
    const auto object = nlohmann::json::parse(stored, nullptr, false);
    if (!object.is_object())
        throw SegmentError("frame metadata is not a JSON object");
    for (const auto& [key, value] : object.items()) {
        if (value.is_string())
            metadata[key] = value.get<std::string>();
        else if (value.is_number_integer() && !value.is_number_unsigned())
            metadata[key] = value.get<int64_t>();
        else if (value.is_number_unsigned() &&
                 value.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()))
            metadata[key] = static_cast<int64_t>(value.get<uint64_t>());
        else if (value.is_number_float())
            metadata[key] = value.get<double>();
        else
            throw SegmentError("frame metadata value of '" + key +
                               "' is not a string, an integer or a number");
    }
    return metadata;
}

} // namespace pvshm
