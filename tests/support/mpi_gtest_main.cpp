// GoogleTest main for tests run under mpirun: every rank runs every test; only rank 0 prints.
//
// Two things plain gtest_main gets wrong under MPI:
//  - a failure on one rank leaves the others waiting in the next collective until ctest's timeout;
//    here the first failed assertion on any rank prints itself (with its rank) and MPI_Abort ends
//    the job at once, with a non-zero status;
//  - a run in which every test skipped itself (no GPU, say) would read as passed; it exits 77,
//    which the ctest entries declare as SKIP_RETURN_CODE.
#include <gtest/gtest.h>
#include <mpi.h>

#include <iostream>
#include <string>

namespace {

class AbortOnFailure : public ::testing::EmptyTestEventListener {
 public:
  explicit AbortOnFailure(int rank) : rank_(rank) {}
  // The name is kept here: OnTestPartResult runs under GoogleTest's lock, and asking it for the
  // current test there (current_test_info) waits on that same lock forever.
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::cerr << "[  FAILED  ] rank " << rank_ << ": " << test_ << " at " << (result.file_name() ? result.file_name() : "?")
              << ":" << result.line_number() << "\n" << result.message() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

 private:
  int rank_;
  std::string test_ = "?";
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());
  listeners.Append(new AbortOnFailure(rank));
  int failed = RUN_ALL_TESTS();
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  const auto& unit = *::testing::UnitTest::GetInstance();
  const bool all_skipped = unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count();
  MPI_Finalize();
  if (failed) return failed;
  return all_skipped ? 77 : 0;
}
