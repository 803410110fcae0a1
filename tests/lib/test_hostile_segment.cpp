// SPDX-License-Identifier: LGPL-2.1-or-later
// Objects under a segment's name that are truncated, corrupt, foreign or hostile: a clear error
// (or the seed API's zeros), never a crash.
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pvshm/pvshm.hpp>

#include "layout.hpp"
#include "test_ids.hpp"

using namespace pvshm::layout;

namespace {

class HostileSegment : public ::testing::Test
{
protected:
    void TearDown() override
    {
        pvshm::dev_clear_shared_memory(id);
        unlink(("/dev/shm/pvshm." + id + "-target").c_str());
    }

    std::string path() const { return "/dev/shm/pvshm." + id; }

    void plant(const void* bytes, size_t size, size_t file_size = 0)
    {
        const int fd = open(path().c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(ftruncate(fd, static_cast<off_t>(std::max(size, file_size))), 0);
        ASSERT_EQ(pwrite(fd, bytes, size, 0), static_cast<ssize_t>(size));
        close(fd);
    }

    // A valid segment with one frame, for corrupting afterwards.
    void write_valid_frame()
    {
        pvshm::Writer writer(id);
        auto info = pvshm::packed_frame_info(pvshm::PixelFormat::RGB, 4, 4);
        std::vector<uint8_t> bytes(info.payload_size, 50);
        ASSERT_TRUE(writer.write(info, bytes.data()));
    }

    template <typename F> void corrupt(F&& change)
    {
        const int fd = open(path().c_str(), O_RDWR);
        ASSERT_GE(fd, 0);
        struct stat st
        {
        };
        fstat(fd, &st);
        void* map = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ASSERT_NE(map, MAP_FAILED);
        auto* header = static_cast<SegmentHeader*>(map);
        auto* desc = reinterpret_cast<SlotDesc*>(static_cast<uint8_t*>(map) + kSlotDescOffset);
        change(*header, desc[latest_slot(header->latest)]);
        munmap(map, st.st_size);
        close(fd);
    }

    void expect_segment_error(const std::string& fragment)
    {
        pvshm::Reader reader(id);
        try {
            reader.view_latest();
            FAIL() << "no error for a bad segment";
        } catch (const pvshm::SegmentError& error) {
            EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
        }
        pvshm::ImageMeta meta;
        meta.width = 5;
        meta.height = 3;
        const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta);
        EXPECT_EQ(image.size(), cv::Size(5, 3));
        EXPECT_EQ(cv::countNonZero(image.reshape(1)), 0);
    }

    const std::string id = pvshm::test::unique_id();
};

} // namespace

TEST_F(HostileSegment, EmptyObjectIsTruncated)
{
    plant("", 0);
    expect_segment_error("truncated");
}

TEST_F(HostileSegment, GarbageHeaderIsNotASegment)
{
    std::vector<uint8_t> garbage(8192);
    for (size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<uint8_t>(i * 131 + 17);
    plant(garbage.data(), garbage.size());
    expect_segment_error("not a pvshm segment");
}

TEST_F(HostileSegment, OtherLayoutVersionIsNamed)
{
    write_valid_frame();
    corrupt([](SegmentHeader& header, SlotDesc&) { header.version = 99; });
    expect_segment_error("version 99");
}

TEST_F(HostileSegment, HeaderClaimingMoreThanTheObjectHoldsIsTruncated)
{
    write_valid_frame();
    const int fd = open(path().c_str(), O_RDWR);
    ASSERT_EQ(ftruncate(fd, 8192), 0);
    close(fd);
    expect_segment_error("truncated");
}

TEST_F(HostileSegment, HugeSlotSizeIsRejectedWithoutOverflow)
{
    write_valid_frame();
    corrupt([](SegmentHeader& header, SlotDesc&) {
        header.slot_stride = UINT64_MAX - 4095;
        header.total_size = header.payload_offset + header.slot_count * header.slot_stride;
    });
    expect_segment_error("slot size");
}

TEST_F(HostileSegment, HugeWidthAndHeightInAFrameAreRejected)
{
    write_valid_frame();
    corrupt([](SegmentHeader&, SlotDesc& desc) {
        desc.width = 0xffffffff;
        desc.height = 0xffffffff;
        desc.strides[0] = 0xffffffff;
    });
    expect_segment_error("invalid frame");
}

TEST_F(HostileSegment, PlaneBeyondTheSlotIsRejected)
{
    write_valid_frame();
    corrupt([](SegmentHeader&, SlotDesc& desc) { desc.plane_offsets[0] = uint64_t{1} << 62; });
    expect_segment_error("invalid frame");
}

TEST_F(HostileSegment, PayloadLargerThanTheSlotIsRejected)
{
    write_valid_frame();
    corrupt(
        [](SegmentHeader& header, SlotDesc& desc) { desc.payload_size = header.slot_stride + 1; });
    expect_segment_error("corrupt frame descriptor");
}

TEST_F(HostileSegment, NewestSlotOutOfRangeIsRejected)
{
    write_valid_frame();
    corrupt([](SegmentHeader& header, SlotDesc&) { header.latest = pack_latest(1, 200); });
    expect_segment_error("newest slot");
}

TEST_F(HostileSegment, SymlinkUnderTheNameIsNeverFollowed)
{
    const std::string target = "/dev/shm/pvshm." + id + "-target";
    const int fd = open(target.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    close(fd);
    ASSERT_EQ(symlink(target.c_str(), path().c_str()), 0);
    expect_segment_error("symbolic link");
    EXPECT_THROW(pvshm::Writer{id}, pvshm::SegmentError);
    struct stat st
    {
    };
    ASSERT_EQ(stat(target.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0); // untouched
}

TEST_F(HostileSegment, WriterReplacesAnUnusableObjectOfItsOwnUser)
{
    plant("garbage", 7);
    pvshm::Writer writer(id);
    auto info = pvshm::packed_frame_info(pvshm::PixelFormat::GRAY8, 2, 2);
    const uint8_t bytes[4] = {1, 2, 3, 4};
    ASSERT_TRUE(writer.write(info, bytes));
    pvshm::Reader reader(id);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->data()[3], 4);
}

TEST_F(HostileSegment, AnotherUsersSegmentIsRefusedUnlessAllowed)
{
    write_valid_frame();
    constexpr uid_t kNobody = 65534;
    if (chown(path().c_str(), kNobody, kNobody) != 0)
        GTEST_SKIP() << "cannot give the segment to another user here (not root)";
    expect_segment_error("belongs to uid 65534");
    EXPECT_THROW(pvshm::Writer{id}, pvshm::SegmentError);
    pvshm::ReaderOptions options;
    options.allow_other_owner = true;
    pvshm::Reader reader(id, options);
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->data()[0], 50);
}

// Guards a bug: a FIFO under the name blocked open() in every reader forever.
TEST_F(HostileSegment, FifoUnderTheNameIsRefusedWithoutBlocking)
{
    ASSERT_EQ(mkfifo(path().c_str(), 0600), 0);
    expect_segment_error("is a FIFO");
    pvshm::Reader reader(id);
    EXPECT_THROW(reader.wait(std::chrono::seconds(1)), pvshm::SegmentError);
    EXPECT_THROW(pvshm::Writer{id}, pvshm::SegmentError);
    unlink(path().c_str());
}

TEST_F(HostileSegment, SocketUnderTheNameIsRefused)
{
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    ASSERT_LT(path().size(), sizeof address.sun_path);
    std::strcpy(address.sun_path, path().c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    expect_segment_error("is a socket");
    EXPECT_THROW(pvshm::Writer{id}, pvshm::SegmentError);
    close(fd);
    unlink(path().c_str());
}

TEST_F(HostileSegment, DirectoryUnderTheNameIsRefused)
{
    ASSERT_EQ(mkdir(path().c_str(), 0700), 0);
    expect_segment_error("is a directory");
    EXPECT_THROW(pvshm::Writer{id}, pvshm::SegmentError);
    rmdir(path().c_str());
}

// Another user's segment that this user may not even open: the library's error (with the
// owner), and zeros from the seed read. Run as user nobody in a child, against root's segment.
TEST_F(HostileSegment, UnreadableSegmentOfAnotherUserGivesTheReasonAndZeros)
{
    write_valid_frame();
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to act as another user";
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        constexpr uid_t kNobody = 65534;
        if (setgid(kNobody) != 0 || setuid(kNobody) != 0)
            _exit(10);
        pvshm::ImageMeta meta;
        meta.width = 4;
        meta.height = 4;
        const cv::Mat image = pvshm::read_image_from_shared_memory(id, meta);
        if (image.size() != cv::Size(4, 4) || cv::countNonZero(image.reshape(1)) != 0)
            _exit(11);
        pvshm::Reader reader(id);
        try {
            reader.view_latest();
            _exit(12);
        } catch (const pvshm::SegmentError& error) {
            _exit(std::string(error.what()).find("permission denied (owned by uid 0") ==
                          std::string::npos
                      ? 13
                      : 0);
        } catch (...) {
            _exit(14);
        }
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Guards a bug: `latest` naming a slot without a readable frame made wait() return true at once,
// again and again, while view_latest() found nothing: readers spun at 100% CPU.
TEST_F(HostileSegment, NewestSlotWithoutAReadableFrameMakesReadersSleep)
{
    write_valid_frame();
    corrupt([](SegmentHeader&, SlotDesc& desc) { desc.seqlock |= 1; });
    pvshm::Reader reader(id);
    EXPECT_FALSE(reader.view_latest());
    timespec cpu_before{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_before);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(reader.wait(std::chrono::milliseconds(500)));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    timespec cpu_after{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_after);
    const double cpu_s = double(cpu_after.tv_sec - cpu_before.tv_sec) +
                         double(cpu_after.tv_nsec - cpu_before.tv_nsec) * 1e-9;
    EXPECT_GE(elapsed, std::chrono::milliseconds(500));
    EXPECT_LT(cpu_s, 0.1) << "the reader spun while it waited";
}

// Guards a bug: a newest sequence above every slot's returned the same old frame as new forever.
TEST_F(HostileSegment, NewestSequenceAboveEverySlotsGivesTheFrameOnce)
{
    write_valid_frame();
    corrupt([](SegmentHeader& header, SlotDesc&) {
        header.latest = pack_latest(1000, latest_slot(header.latest));
    });
    pvshm::Reader reader(id);
    ASSERT_TRUE(reader.wait(std::chrono::milliseconds(100)));
    auto view = reader.view_latest();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->info().sequence, 1u);
    EXPECT_FALSE(reader.wait(std::chrono::milliseconds(300)));
}

// Guards a bug: status() read the newest frame through view_latest(), so that a frame it found
// being rewritten was remembered as unreadable and the next wait() did not report it once
// whole; it also pinned the slot while it looked.
TEST_F(HostileSegment, StatusChangesNothingTheNextWaitReports)
{
    write_valid_frame();
    pvshm::Reader reader(id);
    corrupt([](SegmentHeader&, SlotDesc& desc) { desc.seqlock |= 1; }); // being written
    const pvshm::Reader& looker = reader;
    auto status = looker.status();
    ASSERT_TRUE(status);
    EXPECT_FALSE(status->latest);
    EXPECT_FALSE(looker.writer_alive());
    corrupt([](SegmentHeader&, SlotDesc& desc) { desc.seqlock += 1; }); // whole again
    status = looker.status();
    ASSERT_TRUE(status && status->latest);
    EXPECT_EQ(status->latest->sequence, 1u);
    EXPECT_EQ(reader.last_sequence(), 0u);
    EXPECT_TRUE(reader.wait(std::chrono::seconds(0)));
    auto view = reader.view_next();
    ASSERT_TRUE(view);
    EXPECT_EQ(view->info().sequence, 1u);
}
