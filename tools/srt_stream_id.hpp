// SPDX-License-Identifier: LGPL-2.1-or-later
// Which id a receiver asks `pvshm serve` for: the SRT stream id `pvshm mirror` sends, in SRT's
// access-control syntax (#!::r=RESOURCE,...), and the sender's reading of it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pvshm::cli {

// The stream id of a receiver asking for `remote`. `named`: the user named it (--remote-id);
// otherwise it is the receiver's own id, which a sender of one id takes as "whatever you send"
// (key any=1), so that `serve A` and `mirror ... B` on one host keep working.
std::string srt_stream_id(const std::string& remote, bool named);

// The id of `served` a receiver's stream id asks for, or nullopt when it asks for none of them.
// A plain stream id (not #!::) names an id; an empty one asks for the only id of a sender of one.
std::optional<std::string> requested_id(const std::string& stream_id,
                                        const std::vector<std::string>& served);

// The id a stream id names, for messages ("" when it names none), printable: every byte outside
// printable ASCII as \xNN.
std::string named_id(const std::string& stream_id);

} // namespace pvshm::cli
