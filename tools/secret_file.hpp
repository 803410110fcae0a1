// SPDX-License-Identifier: LGPL-2.1-or-later
// Secrets kept in files (`pvshm rtsp --password-file`, `pvshm serve/mirror --passphrase-file`),
// so that they never appear in a process list.
#pragma once

#include <cstddef>
#include <string>

namespace pvshm::cli {

// The largest secret file read: a passphrase or a password is one short line.
inline constexpr size_t kMaxSecretFileBytes = 4096;

// The first line of `file`, without a trailing CR. Throws std::runtime_error naming the file as
// `what`'s ("password", "passphrase") when it cannot be read, is not a regular file (a FIFO is
// never waited on, a device never read) or holds more than kMaxSecretFileBytes.
std::string read_secret_line(const std::string& file, const std::string& what);

// The password of `--user NAME --password-file FILE` (pvshm rtsp, pvshm web): the first line of
// `file`, read as read_secret_line reads it. Throws std::runtime_error naming the file when it
// cannot be read or its first line is empty.
std::string read_password(const std::string& file);

// Whether users other than its owner may read or write `file` (worth a warning).
bool readable_by_others(const std::string& file);

} // namespace pvshm::cli
