// SPDX-License-Identifier: LGPL-2.1-or-later
#include "secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace pvshm::cli {

std::string read_secret_line(const std::string& file, const std::string& what)
{
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("cannot read the " + what + " file '" + file +
                                 "': " + std::strerror(errno));
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

bool readable_by_others(const std::string& file)
{
    struct stat status = {};
    return stat(file.c_str(), &status) == 0 && (status.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}

} // namespace pvshm::cli
