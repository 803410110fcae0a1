// SPDX-License-Identifier: LGPL-2.1-or-later
// The algorithm side of pvshm, each figure next to its floor measured in the same run:
//  - read_image_from_shared_memory on 1920x1080 frames stored as RGB, BGR (a raw array read with
//    color_space BGR, and PixelFormat::BGR), GRAY8, NV12 and JPEG q90, versus the same work done
//    by OpenCV alone on the same bytes in the same process (memcpy, cv::cvtColor, cv::imdecode);
//  - the zero-copy Reader::view_latest versus a copying Reader::read_latest, 1080p and 4K;
//  - CPU time per frame of a reading process: pvshm (a pvshmsink producer child, Reader::wait,
//    view_latest and normalize_to_rgb per frame) versus cv::VideoCapture over shmsrc with
//    videoconvert (a shmsink producer child), both fed by the same videotestsrc stream.
// Prints JSON lines in bench/report.py's format.
//
//   pvshm-bench-read [--quick] [--only=read|view|cpu]
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <pvshm/pvshm.hpp>

#include "build_tree_plugin.hpp"
#include "child_process.hpp"
#include "report_row.hpp"
#include "shmsink_leftovers.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using pvshm::test::ChildProcess;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;

struct Mode
{
    bool quick = false;
    int repeats = 15;       // measurements per figure
    int batch = 10;         // calls per measurement of a frame-sized operation
    int view_batch = 2000;  // calls per measurement of Reader::view_latest
    int frames = 80;        // frames per CPU measurement window
    int cpu_repeats = 5;    // CPU measurement windows
    int warmup_frames = 30; // frames read before the first window
};

double elapsed_us(Clock::time_point start)
{
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

volatile uint8_t g_sink;

// Mean time per call of `batch` calls, `repeats` times; the two operations alternate so that
// drift (frequency, other load) hits both alike.
struct Pair
{
    std::vector<double> measured;
    std::vector<double> anchor;
};

Pair time_pair(int repeats, int batch, const std::function<void()>& measured,
               const std::function<void()>& anchor)
{
    for (int i = 0; i < 2; ++i) {
        measured();
        anchor();
    }
    Pair result;
    for (int r = 0; r < repeats; ++r) {
        auto start = Clock::now();
        for (int i = 0; i < batch; ++i)
            measured();
        result.measured.push_back(elapsed_us(start) / batch);
        start = Clock::now();
        for (int i = 0; i < batch; ++i)
            anchor();
        result.anchor.push_back(elapsed_us(start) / batch);
    }
    return result;
}

std::string unique_id(const char* what)
{
    return std::string("bench-read-") + what + "-" + std::to_string(getpid());
}

// A 1080p BGR scene with gradients, shapes, text and mild noise: something a JPEG encoder
// compresses like a camera image, not like a flat test pattern.
cv::Mat scene()
{
    cv::Mat image(kHeight, kWidth, CV_8UC3);
    uint32_t state = 12345;
    for (int y = 0; y < kHeight; ++y) {
        auto* row = image.ptr<uint8_t>(y);
        for (int x = 0; x < kWidth; ++x) {
            state = state * 1664525u + 1013904223u;
            const int noise = static_cast<int>((state >> 24) % 13) - 6;
            row[3 * x + 0] = cv::saturate_cast<uint8_t>(x * 255 / kWidth + noise);
            row[3 * x + 1] = cv::saturate_cast<uint8_t>(y * 255 / kHeight + noise);
            row[3 * x + 2] = cv::saturate_cast<uint8_t>((x + y) * 255 / (kWidth + kHeight) + noise);
        }
    }
    for (int i = 0; i < 40; ++i) {
        const cv::Point center((i * 379) % kWidth, (i * 211) % kHeight);
        cv::circle(image, center, 20 + (i * 37) % 120,
                   cv::Scalar((i * 50) % 256, (i * 90) % 256, (i * 130) % 256), i % 3 ? 4 : -1,
                   cv::LINE_AA);
        cv::rectangle(image, cv::Rect((i * 97) % kWidth, (i * 53) % kHeight, 80, 40),
                      cv::Scalar(255 - (i * 20) % 256, (i * 70) % 256, 40), 2);
    }
    for (int i = 0; i < 12; ++i)
        cv::putText(image, "PART 4711-" + std::to_string(i), cv::Point(60, 80 + i * 80),
                    cv::FONT_HERSHEY_SIMPLEX, 1.5, cv::Scalar(240, 240, 240), 3, cv::LINE_AA);
    return image;
}

// NV12 bytes of `bgr`: the Y plane, then interleaved U,V at half resolution.
std::vector<uint8_t> nv12_of(const cv::Mat& bgr)
{
    cv::Mat i420;
    cv::cvtColor(bgr, i420, cv::COLOR_BGR2YUV_I420);
    const size_t luma = static_cast<size_t>(kWidth) * kHeight;
    const size_t chroma = luma / 4;
    std::vector<uint8_t> nv12(luma + 2 * chroma);
    std::memcpy(nv12.data(), i420.data, luma);
    for (size_t i = 0; i < chroma; ++i) {
        nv12[luma + 2 * i] = i420.data[luma + i];
        nv12[luma + 2 * i + 1] = i420.data[luma + chroma + i];
    }
    return nv12;
}

pvshm::ImageMeta meta_1080p(const char* color_space = "RGB")
{
    pvshm::ImageMeta meta;
    meta.width = kWidth;
    meta.height = kHeight;
    meta.color_space = color_space;
    return meta;
}

// One frame stored under its own id for the duration of a case, and a view of it for the floor.
class StoredFrame
{
public:
    // Through a pvshm::Writer, as a pvshmsink or a C++ producer would store it.
    StoredFrame(const char* name, const pvshm::FrameInfo& info, const uint8_t* payload)
        : id_(unique_id(name)), writer_(std::make_unique<pvshm::Writer>(id_))
    {
        writer_->write(info, payload);
        open_view();
    }
    // Through the seed API (write_image_array_to_shared_memory or dev_write_image_...).
    StoredFrame(const char* name, const std::function<void(const std::string&)>& store)
        : id_(unique_id(name))
    {
        store(id_);
        open_view();
    }
    ~StoredFrame()
    {
        view_ = {};
        reader_.reset();
        writer_.reset();
        pvshm::dev_clear_shared_memory(id_);
    }
    StoredFrame(const StoredFrame&) = delete;
    StoredFrame& operator=(const StoredFrame&) = delete;

    const std::string& id() const { return id_; }
    const pvshm::FrameView& view() const { return view_; }
    cv::Mat mat(int rows, int cols, int type) const
    {
        return cv::Mat(rows, cols, type, const_cast<uint8_t*>(view_.data()));
    }

private:
    void open_view()
    {
        reader_ = std::make_unique<pvshm::Reader>(id_);
        auto view = reader_->view_latest();
        if (!view)
            throw std::runtime_error("no frame under " + id_);
        view_ = *view;
    }

    std::string id_;
    std::unique_ptr<pvshm::Writer> writer_;
    std::unique_ptr<pvshm::Reader> reader_;
    pvshm::FrameView view_;
};

void seed_read_rows(const Mode& mode, const cv::Mat& bgr)
{
    const std::string section = "read_image_from_shared_memory, 1920x1080, in process";
    const std::string metric = "time per read";
    auto read = [](const std::string& id, const pvshm::ImageMeta& meta) {
        return [id, meta] {
            cv::Mat image = pvshm::read_image_from_shared_memory(id, meta);
            g_sink = image.data[image.total() * 3 / 2];
        };
    };
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::Mat out(kHeight, kWidth, CV_8UC3);

    {
        StoredFrame frame("rgb", pvshm::packed_frame_info(pvshm::PixelFormat::RGB, kWidth, kHeight),
                          rgb.data);
        const size_t size = frame.view().size();
        auto pair = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p()), [&] {
            std::memcpy(out.data, frame.view().data(), size);
            g_sink = out.data[size / 2];
        });
        report_row(section, "RGB frame (PixelFormat::RGB)", metric, "us", pair.measured,
                   "memcpy into a reused buffer", pair.anchor);
        auto fresh = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p()), [&] {
            cv::Mat target(kHeight, kWidth, CV_8UC3);
            std::memcpy(target.data, frame.view().data(), size);
            g_sink = target.data[size / 2];
        });
        report_row(section, "RGB frame (PixelFormat::RGB)", metric, "us", fresh.measured,
                   "memcpy into a new cv::Mat per call", fresh.anchor);
    }
    {
        StoredFrame frame("bgr-array", [&](const std::string& id) {
            pvshm::write_image_array_to_shared_memory(id, bgr);
        });
        auto pair = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p("BGR")), [&] {
            cv::cvtColor(frame.mat(kHeight, kWidth, CV_8UC3), out, cv::COLOR_BGR2RGB);
            g_sink = out.data[out.total() * 3 / 2];
        });
        report_row(section, "BGR raw array (Rgb3Unordered, color_space BGR)", metric, "us",
                   pair.measured, "cv::cvtColor BGR2RGB", pair.anchor);
    }
    {
        StoredFrame frame("bgr", pvshm::packed_frame_info(pvshm::PixelFormat::BGR, kWidth, kHeight),
                          bgr.data);
        auto pair = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p()), [&] {
            cv::cvtColor(frame.mat(kHeight, kWidth, CV_8UC3), out, cv::COLOR_BGR2RGB);
            g_sink = out.data[out.total() * 3 / 2];
        });
        report_row(section, "BGR frame (PixelFormat::BGR)", metric, "us", pair.measured,
                   "cv::cvtColor BGR2RGB", pair.anchor);
    }
    {
        cv::Mat gray;
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        StoredFrame frame("gray",
                          pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, kWidth, kHeight),
                          gray.data);
        auto pair = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p()), [&] {
            cv::cvtColor(frame.mat(kHeight, kWidth, CV_8UC1), out, cv::COLOR_GRAY2RGB);
            g_sink = out.data[out.total() * 3 / 2];
        });
        report_row(section, "GRAY8 frame", metric, "us", pair.measured, "cv::cvtColor GRAY2RGB",
                   pair.anchor);
    }
    const auto nv12 = nv12_of(bgr);
    struct Nv12Case
    {
        const char* name;
        pvshm::ColorMatrix matrix;
        pvshm::ColorRange range;
    };
    const Nv12Case nv12_cases[] = {
        {"NV12 frame, colorimetry unspecified (BT.709 limited at 1080p)",
         pvshm::ColorMatrix::Unspecified, pvshm::ColorRange::Unspecified},
        {"NV12 frame, BT.601 limited (the floor's matrix)", pvshm::ColorMatrix::BT601,
         pvshm::ColorRange::Limited},
    };
    for (const Nv12Case& c : nv12_cases) {
        auto info = pvshm::packed_frame_info(pvshm::PixelFormat::NV12, kWidth, kHeight);
        info.matrix = c.matrix;
        info.range = c.range;
        StoredFrame frame("nv12", info, nv12.data());
        auto pair = time_pair(mode.repeats, mode.batch, read(frame.id(), meta_1080p()), [&] {
            cv::cvtColor(frame.mat(kHeight * 3 / 2, kWidth, CV_8UC1), out, cv::COLOR_YUV2RGB_NV12);
            g_sink = out.data[out.total() * 3 / 2];
        });
        report_row(section, c.name, metric, "us", pair.measured,
                   "cv::cvtColor YUV2RGB_NV12 (BT.601 limited)", pair.anchor);
    }
    {
        std::vector<uint8_t> jpeg;
        cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
        StoredFrame frame("jpeg", [&](const std::string& id) {
            pvshm::dev_write_image_to_shared_memory(id, jpeg);
        });
        const int size = static_cast<int>(frame.view().size());
        const std::string name = "JPEG q90 frame (" + std::to_string(size / 1024) + " KiB)";
        auto pair = time_pair(
            mode.repeats, std::max(1, mode.batch / 4), read(frame.id(), meta_1080p()), [&] {
                cv::Mat decoded =
                    cv::imdecode(cv::_InputArray(frame.view().data(), size), cv::IMREAD_COLOR);
                cv::cvtColor(decoded, out, cv::COLOR_BGR2RGB);
                g_sink = out.data[out.total() * 3 / 2];
            });
        report_row(section, name, metric, "us", pair.measured, "cv::imdecode + cvtColor BGR2RGB",
                   pair.anchor);
        auto alone = time_pair(
            mode.repeats, std::max(1, mode.batch / 4), read(frame.id(), meta_1080p()), [&] {
                cv::Mat decoded =
                    cv::imdecode(cv::_InputArray(frame.view().data(), size), cv::IMREAD_COLOR);
                g_sink = decoded.data[decoded.total() * 3 / 2];
            });
        report_row(section, name, metric, "us", alone.measured, "cv::imdecode alone", alone.anchor);
    }
}

void view_rows(const Mode& mode)
{
    const std::string section = "Reader: zero-copy view versus copying read";
    struct Size
    {
        const char* name;
        uint32_t width;
        uint32_t height;
    };
    for (const Size& s : {Size{"1920x1080 BGR", 1920, 1080}, Size{"3840x2160 BGR", 3840, 2160}}) {
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, s.width, s.height);
        std::vector<uint8_t> bytes(info.payload_size);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i * 7 + i / 4093);
        StoredFrame frame("view", info, bytes.data());
        pvshm::Reader reader(frame.id());
        std::vector<uint8_t> target(info.payload_size);

        std::vector<double> view_us;
        std::vector<double> copy_us;
        auto view_once = [&] {
            auto view = reader.view_latest();
            g_sink = view->data()[0];
        };
        auto copy_once = [&] {
            auto copy = reader.read_latest();
            g_sink = copy->payload[copy->payload.size() / 2];
        };
        for (int i = 0; i < 10; ++i)
            view_once();
        for (int r = 0; r < mode.repeats; ++r) {
            auto start = Clock::now();
            for (int i = 0; i < mode.view_batch; ++i)
                view_once();
            view_us.push_back(elapsed_us(start) / mode.view_batch);
        }
        auto copy = time_pair(mode.repeats, mode.batch, copy_once, [&] {
            std::memcpy(target.data(), frame.view().data(), target.size());
            g_sink = target[target.size() / 2];
        });
        report_row(section, std::string("view_latest, ") + s.name, "time per call", "us", view_us,
                   "read_latest (copy)", copy.measured);
        report_row(section, std::string("read_latest, ") + s.name, "time per call", "us",
                   copy.measured, "memcpy into a reused buffer", copy.anchor);
    }
}

// ---- Two processes: CPU per frame of the reading process ----------------------------------

struct Usage
{
    double user_us = 0;
    double system_us = 0;
    double minor_faults = 0;
};

Usage usage_now()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return {usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec,
            usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec,
            static_cast<double>(usage.ru_minflt)};
}

// `gst-launch-1.0 -q PIPELINE` (found on PATH by env), its errors discarded.
ChildProcess start_gst_launch(const std::string& pipeline)
{
    std::vector<std::string> args = {"gst-launch-1.0", "-q"};
    size_t pos = 0;
    while (pos < pipeline.size()) {
        const size_t end = std::min(pipeline.find(' ', pos), pipeline.size());
        if (end > pos)
            args.push_back(pipeline.substr(pos, end - pos));
        pos = end + 1;
    }
    return ChildProcess("/usr/bin/env", args, ChildProcess::Stderr::Discarded);
}

// Stops the producer (SIGINT: gst-launch stops its pipeline), killing it after 5 s, and removes
// what its shmsink may have left.
void stop_producer(ChildProcess& producer)
{
    producer.stop(SIGINT, std::chrono::seconds(5));
    remove_shmpipe_areas(producer.pid());
}

struct Stream
{
    const char* name;
    const char* format;
};

std::string raw_caps(const Stream& stream, int fps)
{
    return std::string("video/x-raw,format=") + stream.format + ",width=" + std::to_string(kWidth) +
           ",height=" + std::to_string(kHeight) + ",framerate=" + std::to_string(fps) + "/1";
}

constexpr int kFps = 60;

int total_frames(const Mode& mode)
{
    return mode.warmup_frames + mode.cpu_repeats * mode.frames + kFps; // a second to spare
}

// Per frame, over `cpu_repeats` windows of `frames` frames each (`read_one` reads one frame):
// CPU time of the whole process (every thread, user + system), its system part, and minor page
// faults.
struct CpuPerFrame
{
    std::vector<double> total_us;
    std::vector<double> system_us;
    std::vector<double> minor_faults;
};

CpuPerFrame cpu_windows(const Mode& mode, const std::function<void()>& read_one)
{
    for (int i = 0; i < mode.warmup_frames; ++i)
        read_one();
    CpuPerFrame result;
    for (int r = 0; r < mode.cpu_repeats; ++r) {
        const Usage start = usage_now();
        for (int i = 0; i < mode.frames; ++i)
            read_one();
        const Usage end = usage_now();
        const double system = end.system_us - start.system_us;
        result.total_us.push_back((end.user_us - start.user_us + system) / mode.frames);
        result.system_us.push_back(system / mode.frames);
        result.minor_faults.push_back((end.minor_faults - start.minor_faults) / mode.frames);
    }
    return result;
}

// What the pvshm reading process does with each frame.
enum class Use
{
    NormalizeToRgb, // normalize_to_rgb into a reused cv::Mat: what read_image_from_shared_memory
                    // does
    CopyAsIs,       // one copy of the frame's bytes into a reused cv::Mat (BGR stays BGR)
    ViewOnly,       // the zero-copy view alone, one byte touched
};

CpuPerFrame pvshm_reader_cpu(const Mode& mode, const Stream& stream, Use use)
{
    const std::string id = unique_id("cpu");
    ChildProcess producer = start_gst_launch(
        "videotestsrc pattern=black num-buffers=" + std::to_string(total_frames(mode)) + " ! " +
        raw_caps(stream, kFps) + " ! pvshmsink shared-mem-id=" + id + " persist=false");
    CpuPerFrame result;
    try {
        pvshm::Reader reader(id);
        cv::Mat rgb;
        uint64_t last = 0;
        result = cpu_windows(mode, [&] {
            if (!reader.wait(std::chrono::seconds(10)))
                throw std::runtime_error("pvshmsink producer: no frame within 10 s");
            auto view = reader.view_latest();
            if (!view || view->info().sequence == last)
                throw std::runtime_error("pvshm reader: no new frame after wait()");
            last = view->info().sequence;
            switch (use) {
            case Use::NormalizeToRgb:
                pvshm::normalize_to_rgb(view->info(), view->data(), rgb);
                g_sink = rgb.data[rgb.total() * 3 / 2];
                break;
            case Use::CopyAsIs:
                rgb.create(1, static_cast<int>(view->size()), CV_8UC1);
                std::memcpy(rgb.data, view->data(), view->size());
                g_sink = rgb.data[view->size() / 2];
                break;
            case Use::ViewOnly:
                g_sink = view->data()[view->size() / 2];
                break;
            }
        });
    } catch (...) {
        stop_producer(producer);
        pvshm::dev_clear_shared_memory(id);
        throw;
    }
    stop_producer(producer);
    pvshm::dev_clear_shared_memory(id);
    return result;
}

CpuPerFrame videocapture_reader_cpu(const Mode& mode, const Stream& stream)
{
    const std::string socket = "/tmp/" + unique_id("shm") + ".sock";
    ChildProcess producer = start_gst_launch(
        "videotestsrc pattern=black num-buffers=" + std::to_string(total_frames(mode)) + " ! " +
        raw_caps(stream, kFps) + " ! shmsink socket-path=" + socket +
        " wait-for-connection=true shm-size=" + std::to_string(64 << 20));
    CpuPerFrame result;
    try {
        struct stat st
        {
        };
        for (int i = 0; i < 1000 && stat(socket.c_str(), &st) != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        cv::VideoCapture capture("shmsrc socket-path=" + socket + " is-live=true ! " +
                                     raw_caps(stream, kFps) +
                                     " ! videoconvert ! video/x-raw,format=BGR ! appsink",
                                 cv::CAP_GSTREAMER);
        if (!capture.isOpened())
            throw std::runtime_error("cv::VideoCapture over shmsrc did not open");
        cv::Mat frame;
        result = cpu_windows(mode, [&] {
            if (!capture.read(frame) || frame.empty())
                throw std::runtime_error("cv::VideoCapture over shmsrc: no frame");
            g_sink = frame.data[frame.total() * 3 / 2];
        });
    } catch (...) {
        stop_producer(producer);
        unlink(socket.c_str());
        throw;
    }
    stop_producer(producer);
    unlink(socket.c_str());
    return result;
}

void cpu_rows(const Mode& mode)
{
    const std::string section =
        "reading process CPU per frame, 1920x1080 at 60 frames/s from a producer process";
    const std::string anchor = "cv::VideoCapture(shmsrc ! videoconvert ! BGR appsink) from shmsink";
    struct Variant
    {
        Use use;
        const char* what;
    };
    const Variant variants[] = {
        {Use::NormalizeToRgb, "Reader::wait + view_latest + normalize_to_rgb (RGB out)"},
        {Use::CopyAsIs, "Reader::wait + view_latest + memcpy (owned copy, as is)"},
        {Use::ViewOnly, "Reader::wait + view_latest (zero copy)"},
    };
    for (const Stream& stream : {Stream{"BGR", "BGR"}, Stream{"NV12", "NV12"}}) {
        CpuPerFrame capture;
        try {
            capture = videocapture_reader_cpu(mode, stream);
        } catch (const std::runtime_error& error) {
            // Seen once on a machine loaded by other work: one more try with a new producer.
            std::fprintf(stderr, "pvshm-bench-read: %s; trying again\n", error.what());
            capture = videocapture_reader_cpu(mode, stream);
        }
        for (const Variant& variant : variants) {
            const auto pvshm = pvshm_reader_cpu(mode, stream, variant.use);
            const std::string name =
                std::string(stream.name) + " stream, pvshmsink: " + variant.what;
            report_row(section, name, "CPU per frame", "us", pvshm.total_us, anchor,
                       capture.total_us);
            if (variant.use != Use::NormalizeToRgb)
                continue;
            report_row(section, name, "of which system", "us", pvshm.system_us, anchor,
                       capture.system_us);
            report_row(section, name, "minor page faults per frame", "faults", pvshm.minor_faults,
                       anchor, capture.minor_faults);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    Mode mode;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            mode.quick = true;
        } else if (std::strncmp(argv[i], "--only=", 7) == 0) {
            only = argv[i] + 7;
        } else {
            std::fprintf(stderr, "usage: %s [--quick] [--only=read|view|cpu]\n", argv[0]);
            return 2;
        }
    }
    if (mode.quick) {
        mode.repeats = 2;
        mode.cpu_repeats = 2;
        mode.batch = 2;
        mode.view_batch = 50;
        mode.frames = 10;
        mode.warmup_frames = 5;
    }
    use_build_tree_plugin();
    signal(SIGPIPE, SIG_IGN);
    try {
        if (only.empty() || only == "read")
            seed_read_rows(mode, scene());
        if (only.empty() || only == "view")
            view_rows(mode);
        if (only.empty() || only == "cpu")
            cpu_rows(mode);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "pvshm-bench-read: %s\n", error.what());
        return 1;
    }
    return 0;
}
