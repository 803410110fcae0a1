// SPDX-License-Identifier: LGPL-2.1-or-later
#include "command_suggestion.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace pvshm::cli {
namespace {

// A misspelling is a letter or two away (lst, lsit, inf, snapshto); beyond that a suggestion
// guesses more than it helps.
constexpr size_t kMaxEdits = 2;

// Levenshtein distance, one row at a time; a swap of neighbours counts as one edit.
size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<size_t> before_previous(b.size() + 1);
    std::vector<size_t> previous(b.size() + 1);
    std::vector<size_t> current(b.size() + 1);
    std::iota(previous.begin(), previous.end(), 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before_previous[j - 2] + 1);
        }
        before_previous.swap(previous);
        previous.swap(current);
    }
    return previous[b.size()];
}

} // namespace

std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands)
{
    const std::string start = "unknown command '" + word + "'; ";
    const auto closest = std::min_element(
        commands.begin(), commands.end(), [&](const std::string& a, const std::string& b) {
            return edit_distance(word, a) < edit_distance(word, b);
        });
    if (closest != commands.end() && edit_distance(word, *closest) <= kMaxEdits)
        return start + "did you mean '" + *closest + "'?";
    std::string list;
    for (const auto& command : commands)
        list += (list.empty() ? "" : ", ") + command;
    return start + "the commands are: " + list;
}

} // namespace pvshm::cli
