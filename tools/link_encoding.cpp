// SPDX-License-Identifier: LGPL-2.1-or-later
#include "link_encoding.hpp"

#include <stdexcept>

namespace pvshm::cli {

LinkEncoding parse_link_encoding(const std::string& text)
{
    LinkEncoding encoding;
    const std::string forms = " (raw, jpeg, jpeg:QUALITY with QUALITY 1 to 100, or lossless)";
    if (text == "raw" || text == "lossless" || text == "jpeg") {
        encoding.name = text;
        return encoding;
    }
    const std::string prefix = "jpeg:";
    if (text.compare(0, prefix.size(), prefix) != 0)
        throw std::invalid_argument("'" + text + "' is no encoding" + forms);
    const std::string quality = text.substr(prefix.size());
    const bool digits = !quality.empty() && quality.size() <= 3 &&
                        quality.find_first_not_of("0123456789") == std::string::npos;
    const int value = digits ? std::stoi(quality) : 0;
    if (value < 1 || value > 100)
        throw std::invalid_argument("'" + text + "': the JPEG quality is a number from 1 to 100" +
                                    forms);
    encoding.name = "jpeg";
    encoding.quality = value;
    return encoding;
}

void add_encode_option(CLI::App& command, std::string& text)
{
    command
        .add_option("--encode", text,
                    "How frames travel: raw (as they are), jpeg[:QUALITY] (8-bit frames as JPEG, "
                    "quality 1 to 100, default 90: the mirrored id holds JPEG frames; 16-bit "
                    "frames go raw) or lossless (zstd: the mirrored id holds the same bytes)")
        ->check(CLI::Validator(
            [](std::string& value) {
                try {
                    parse_link_encoding(value);
                    return std::string();
                } catch (const std::invalid_argument& error) {
                    return std::string(error.what());
                }
            },
            "raw|jpeg[:QUALITY]|lossless", "encoding"))
        ->capture_default_str();
}

} // namespace pvshm::cli
