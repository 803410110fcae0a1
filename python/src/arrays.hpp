// SPDX-License-Identifier: LGPL-2.1-or-later
// Moving images between numpy and the library: numpy arrays in as cv::Mat without a copy when
// their rows allow it, cv::Mat and frame views out as numpy arrays that own what they point to.
#pragma once

#include <string_view>

#include <opencv2/core.hpp>
#include <pybind11/numpy.h>

#include <pvshm/frame.hpp>

namespace pvshm::python {

// A cv::Mat over a numpy array's pixels; `owner` keeps them alive (the caller's array, or a
// packed copy of it).
struct BorrowedImage
{
    pybind11::array owner;
    cv::Mat image; // CV_8UC3, CV_8UC1 or (with sixteen_bit) CV_16UC1
};

enum class SampleTypes
{
    Uint8,         // the seed API: uint8 (H,W,3), (H,W) or (H,W,1)
    Uint8OrUint16, // pvshm.Writer: also uint16 (H,W) or (H,W,1), 16-bit gray
};

// Accepts an array of shape (H,W,3), (H,W) or (H,W,1), contiguous or not. Arrays whose pixels
// are packed within rows (C-contiguous ones, crops of them) are used in place; others (a
// reversed channel axis, column steps, broadcasts, big-endian uint16) are copied once. Throws
// TypeError for another type or dtype and ValueError for another shape; `caller` starts the
// message.
BorrowedImage borrow_image(pybind11::handle object, std::string_view caller,
                           SampleTypes types = SampleTypes::Uint8);

// A (H,W,3) uint8 array that takes over `image` (CV_8UC3) without copying its pixels.
pybind11::array array_from_image(cv::Mat image);

// The frame's bytes in shared memory as read-only numpy arrays, without a copy, following the
// stored strides. Their base object owns `view`, so the frame's slot stays pinned exactly as long
// as any of them (or any array derived from them) lives. By format:
//   RGB, BGR, raw 3-channel arrays      (H,W,3) uint8
//   RGBA, BGRA, RGBx, BGRx              (H,W,4) uint8
//   GRAY8, Bayer                        (H,W,1) uint8
//   GRAY16_LE                           (H,W) uint16
//   YUY2, UYVY                          (H,2*ceil(W/2),2) uint8: the stored byte pairs (Y and U
//                                       or V), as cv2.cvtColor's COLOR_YUV2RGB_YUY2/UYVY take
//   NV12                                (Y (H,W), UV (ceil(H/2),ceil(W/2),2)) uint8
//   I420                                (Y (H,W), U (ceil(H/2),ceil(W/2)), V likewise) uint8
//   JPEG, PNG, other encoded bytes      (payload_size,) uint8
pybind11::object array_from_view(FrameView view);

} // namespace pvshm::python
