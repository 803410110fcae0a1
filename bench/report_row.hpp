// SPDX-License-Identifier: LGPL-2.1-or-later
// One measurement, printed as a JSON line in bench/report.py's format: `values` and
// `anchor_values` are repeated measurements (report.py takes their medians); no anchor when
// `anchor` is empty.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

inline void report_row(const std::string& section, const std::string& name,
                       const std::string& metric, const std::string& unit,
                       const std::vector<double>& values, const std::string& anchor = "",
                       const std::vector<double>& anchor_values = {})
{
    const nlohmann::json row = {
        {"section", section},
        {"case", name},
        {"metric", metric},
        {"unit", unit},
        {"value", values},
        {"anchor", anchor.empty() ? nlohmann::json() : nlohmann::json(anchor)},
        {"anchor_value", anchor.empty() ? nlohmann::json() : nlohmann::json(anchor_values)},
    };
    std::printf("%s\n", row.dump().c_str());
    std::fflush(stdout);
}
