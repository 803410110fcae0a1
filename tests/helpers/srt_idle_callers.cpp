// SPDX-License-Identifier: LGPL-2.1-or-later
// pvshm-srt-idle-callers HOST PORT COUNT STREAM_ID [PASSPHRASE]: COUNT SRT callers that connect
// to a sender (with the passphrase when given, so that it takes them) and never read what it
// sends. Prints "connected COUNT" once all are, then holds them until its input ends.
#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <srt/srt.h>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc < 5 || argc > 6) {
        std::fprintf(stderr, "usage: %s HOST PORT COUNT STREAM_ID [PASSPHRASE]\n", argv[0]);
        return 2;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(std::atoi(argv[2])));
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
        std::fprintf(stderr, "not an IPv4 address: %s\n", argv[1]);
        return 2;
    }
    const int count = std::atoi(argv[3]);
    const std::string stream_id = argv[4];
    srt_startup();
    srt_setloglevel(LOG_CRIT);
    // A listener may refuse a caller that comes while it takes another (GStreamer's srtsink
    // takes one at a time): each caller tries a few times.
    constexpr int kAttempts = 10;
    std::vector<SRTSOCKET> callers;
    for (int i = 0; i < count; ++i) {
        for (int attempt = 1;; ++attempt) {
            const SRTSOCKET caller = srt_create_socket();
            srt_setsockflag(caller, SRTO_STREAMID, stream_id.data(), int(stream_id.size()));
            if (argc == 6)
                srt_setsockflag(caller, SRTO_PASSPHRASE, argv[5], int(std::strlen(argv[5])));
            if (srt_connect(caller, reinterpret_cast<sockaddr*>(&address), sizeof address) !=
                SRT_ERROR) {
                callers.push_back(caller);
                break;
            }
            srt_close(caller);
            if (attempt == kAttempts) {
                std::fprintf(stderr, "caller %d: %s\n", i, srt_getlasterror_str());
                return 1;
            }
        }
    }
    std::printf("connected %d\n", count);
    std::fflush(stdout);
    while (std::getchar() != EOF) {
    }
    for (const SRTSOCKET caller : callers)
        srt_close(caller);
    srt_cleanup();
    return 0;
}
