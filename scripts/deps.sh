# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the scripts: installs the Debian 12 packages pvshm needs, when any is missing.
# shellcheck shell=bash

PVSHM_PACKAGES=(
    meson ninja-build pkg-config g++ git clang-format
    libopencv-dev libyuv-dev libcli11-dev nlohmann-json3-dev libturbojpeg0-dev libpng-dev zlib1g-dev
    libzstd-dev
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    # srtsink and srtsrc (pvshm serve, mirror) come with plugins-bad, built with libsrt.
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    # pvshm serve sends on libsrt itself (the GnuTLS flavour, as the SRT elements).
    libsrt-gnutls-dev
    libgstrtspserver-1.0-dev gstreamer1.0-rtsp gstreamer1.0-plugins-ugly gstreamer1.0-libav
    python3-opencv openssl
    # ip netns: the SRT tests between two network namespaces.
    iproute2
    # systemd-analyze verify: the systemd units (tools/systemd).
    systemd
    libgtest-dev clang libclang-rt-14-dev
    # The library wake-up benchmark's anchor (bench/iceoryx.cpp); meson finds it through cmake.
    iceoryx libiceoryx-posh-dev cmake
    python3 python3-dev python3-numpy python3-pytest pybind11-dev
    # tests/python/venv_install.sh: pip install of the tree into a virtual environment.
    python3-mesonpy python3-venv
    # pvshm web: libsoup 3 (TLS through glib-networking), the charting library its pages inline;
    # its tests drive headless Chromium through Selenium and check /metrics with promtool.
    libsoup-3.0-dev glib-networking libjs-dygraphs
    chromium chromium-driver python3-selenium prometheus
    # tests/aravis: Aravis' simulated GigE Vision camera and its GStreamer source (aravissrc).
    aravis-tools libaravis-0.8-0
)

pvshm_install_dependencies() {
    local missing=()
    local package
    for package in "${PVSHM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing missing packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

# Configures build/ (or reconfigures it when it exists) and builds everything.
pvshm_build() {
    if [ -f build/build.ninja ]; then
        meson setup --reconfigure build >/dev/null
    else
        meson setup build
    fi
    ninja -C build
}
