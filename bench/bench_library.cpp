// The library's hot paths on a 1920x1080 frame, next to their floors (memcpy, cv::cvtColor) in
// the same run.
#include <benchmark/benchmark.h>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include <opencv2/imgproc.hpp>

#include <pvshm/pvshm.hpp>

namespace {

constexpr uint32_t kWidth = 1920;
constexpr uint32_t kHeight = 1080;

std::string bench_id(const char* what)
{
    return std::string("bench-") + what + "-" + std::to_string(getpid());
}

std::vector<uint8_t> test_pattern(size_t size)
{
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(i * 7 + i / 4093);
    return bytes;
}

void memcpy_frame(benchmark::State& state)
{
    const auto source = test_pattern(kWidth * kHeight * 3);
    std::vector<uint8_t> target(source.size());
    for (auto _ : state) {
        std::memcpy(target.data(), source.data(), source.size());
        benchmark::DoNotOptimize(target.data());
    }
    state.SetBytesProcessed(state.iterations() * source.size());
}

void cvtcolor_bgr_to_rgb(benchmark::State& state)
{
    cv::Mat bgr(kHeight, kWidth, CV_8UC3, test_pattern(kWidth * kHeight * 3).data());
    cv::Mat rgb;
    for (auto _ : state)
        cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
}

void writer_write_bgr(benchmark::State& state)
{
    const std::string id = bench_id("write");
    {
        pvshm::Writer writer(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, kWidth, kHeight);
        const auto bytes = test_pattern(info.payload_size);
        for (auto _ : state)
            writer.write(info, bytes.data());
        state.SetBytesProcessed(state.iterations() * info.payload_size);
    }
    pvshm::dev_clear_shared_memory(id);
}

void writer_loan_publish(benchmark::State& state)
{
    const std::string id = bench_id("loan");
    {
        pvshm::Writer writer(id);
        const auto info = pvshm::packed_frame_info(pvshm::PixelFormat::BGR, kWidth, kHeight);
        for (auto _ : state) {
            auto loan = writer.loan(info.payload_size);
            writer.publish(*loan, info);
        }
    }
    pvshm::dev_clear_shared_memory(id);
}

// A segment holding one 1080p frame of `format`, written once; cleared at the end.
class StoredFrame
{
public:
    explicit StoredFrame(pvshm::PixelFormat format) : id_(bench_id("read")), writer_(id_)
    {
        const auto info = pvshm::packed_frame_info(format, kWidth, kHeight);
        const auto bytes = test_pattern(info.payload_size);
        writer_.write(info, bytes.data());
    }
    ~StoredFrame() { pvshm::dev_clear_shared_memory(id_); }
    const std::string& id() const { return id_; }

private:
    std::string id_;
    pvshm::Writer writer_;
};

void reader_view_latest(benchmark::State& state)
{
    StoredFrame frame(pvshm::PixelFormat::BGR);
    pvshm::Reader reader(frame.id());
    for (auto _ : state)
        benchmark::DoNotOptimize(reader.view_latest());
}

void reader_read_latest_copy(benchmark::State& state)
{
    StoredFrame frame(pvshm::PixelFormat::BGR);
    pvshm::Reader reader(frame.id());
    for (auto _ : state)
        benchmark::DoNotOptimize(reader.read_latest());
}

void seed_read(benchmark::State& state, pvshm::PixelFormat format)
{
    StoredFrame frame(format);
    pvshm::ImageMeta meta;
    meta.width = kWidth;
    meta.height = kHeight;
    for (auto _ : state)
        benchmark::DoNotOptimize(pvshm::read_image_from_shared_memory(frame.id(), meta));
}

} // namespace

BENCHMARK(memcpy_frame)->Name("floor/memcpy 1080p BGR")->Unit(benchmark::kMicrosecond);
BENCHMARK(cvtcolor_bgr_to_rgb)
    ->Name("floor/cv::cvtColor BGR2RGB 1080p")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(writer_write_bgr)
    ->Name("Writer::write 1080p BGR (one copy)")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(writer_loan_publish)
    ->Name("Writer::loan+publish (zero copy)")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(reader_view_latest)
    ->Name("Reader::view_latest (zero copy)")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(reader_read_latest_copy)
    ->Name("Reader::read_latest 1080p BGR (copy)")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(seed_read, bgr, pvshm::PixelFormat::BGR)
    ->Name("read_image_from_shared_memory 1080p BGR")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(seed_read, rgb, pvshm::PixelFormat::RGB)
    ->Name("read_image_from_shared_memory 1080p RGB")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(seed_read, nv12, pvshm::PixelFormat::NV12)
    ->Name("read_image_from_shared_memory 1080p NV12")
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
