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
    cv::Mat image;
};

// Accepts a uint8 array of shape (H,W,3), (H,W) or (H,W,1), contiguous or not. Arrays whose
// pixels are packed within rows (C-contiguous ones, crops of them) are used in place; others
// (a reversed channel axis, column steps, broadcasts) are copied once. Throws TypeError for
// another type or dtype and ValueError for another shape; `caller` starts the message.
BorrowedImage borrow_image(pybind11::handle object, std::string_view caller);

// A (H,W,3) uint8 array that takes over `image` (CV_8UC3) without copying its pixels.
pybind11::array array_from_image(cv::Mat image);

// A read-only array over the frame's bytes in shared memory. Its base object owns `view`, so
// the frame's slot stays pinned exactly as long as the array (or any array derived from it)
// lives. Packed formats give (H,W,C) following the row stride; planar and encoded ones give the
// raw payload as a 1-D uint8 array.
pybind11::array array_from_view(FrameView view);

} // namespace pvshm::python
