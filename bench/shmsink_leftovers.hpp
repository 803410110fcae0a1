// SPDX-License-Identifier: LGPL-2.1-or-later
// What GStreamer's shmsink leaves behind: it does not unlink its /dev/shm/shmpipe.PID.N areas
// when a client was connected, nor when killed.
#pragma once

#include <cstdio>
#include <dirent.h>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

// Removes the areas of the shmsink in process `producer`.
inline void remove_shmpipe_areas(pid_t producer)
{
    // shmsink names them "shmpipe.%5d.%5d" (pid, counter), space-padded.
    std::vector<std::string> leftovers;
    if (DIR* dir = opendir("/dev/shm")) {
        while (const dirent* entry = readdir(dir)) {
            int pid = 0;
            int serial = 0;
            if (std::sscanf(entry->d_name, "shmpipe.%d.%d", &pid, &serial) == 2 && pid == producer)
                leftovers.push_back(std::string("/dev/shm/") + entry->d_name);
        }
        closedir(dir);
    }
    for (const auto& path : leftovers)
        unlink(path.c_str());
}
