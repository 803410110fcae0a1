// SPDX-License-Identifier: LGPL-2.1-or-later
// `pvshm serve --encode raw|jpeg[:QUALITY]|lossless`: how frames travel (pvshmpay's encoding and
// quality).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace pvshm::cli {

struct LinkEncoding
{
    std::string name = "raw"; // pvshmpay's encoding: raw, jpeg or lossless
    int quality = 90;         // pvshmpay's quality, for jpeg
};

// Reads raw, jpeg, jpeg:QUALITY (1..100) or lossless. Throws std::invalid_argument saying what
// is wrong for anything else.
LinkEncoding parse_link_encoding(const std::string& text);

// --encode, checked as it is parsed (exit status 1 with the reason).
void add_encode_option(CLI::App& command, std::string& text);

} // namespace pvshm::cli
