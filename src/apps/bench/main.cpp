// defines: ferret-bench — how fast are projection, reconstruction and a federated round, next to the
// machine's streaming floor and to the naive LibTorch way (the official Python code's)?
//
//   ferret-bench [sweep] [--d LIST --k LIST --blocks LIST --basis LIST --threads LIST]   the grid
//   ferret-bench quick                                        (under a minute; fixed last line)
//   ferret-bench project|reconstruct --d N --k K --blocks L --basis B --threads T   (one case)
//   ferret-bench rounds [--config FILE] [--rounds R] [-- ferret options...]  (per-round breakdown)
// Under mpirun, kernels are timed on rank 0 alone (the others wait) and rounds use every rank.
// Fixed-form last lines (compare versions with them):
//   project|reconstruct:  elements_per_s=<basis elements/s> floor_fraction=<floor s / our s>
//   quick:                speedup_vs_naive=<x> floor_fraction=<0..1> round_overhead_pct=<%>
// sweep, quick and rounds write an HDF5 file (--out; default bench/ferret-bench-<mode>-<time>.h5);
// analysis/plot_bench.py renders it.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "comm/mpi_comm.hpp"
#include "config/config.hpp"
#include "kernels.hpp"
#include "naive_torch.hpp"
#include "results_h5.hpp"
#include "rounds.hpp"

namespace po = boost::program_options;
using namespace ferret;
using namespace ferret::bench;

namespace {

struct Options {
  std::string mode = "sweep";
  std::vector<uint64_t> d;
  std::vector<uint32_t> k, blocks;
  std::vector<Basis> basis;
  std::vector<int> threads;
  std::vector<std::string> algorithms;
  double naive_budget = 2.0;
  bool naive = true;
  std::string out, config;
  int rounds = 3;
  std::vector<std::string> ferret_args;  // passed through to the rounds' runs
};

// "1e6,10000000" → numbers; each must be a whole number in [lo, hi].
template <class T>
std::vector<T> parse_numbers(const std::string& option, const std::string& text, double lo, double hi) {
  std::vector<T> values;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v != std::floor(v) || v < lo || v > hi)
      throw ConfigError("--" + option + " '" + item + "' is not allowed (whole numbers in [" + std::to_string((int64_t)lo) +
                        ", " + std::to_string((int64_t)hi) + "], comma-separated)");
    values.push_back(static_cast<T>(v));
  }
  if (values.empty()) throw ConfigError("--" + option + " is empty");
  return values;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  return items;
}

std::string usage(const po::options_description& desc) {
  std::ostringstream s;
  s << "usage: ferret-bench [sweep|quick|project|reconstruct|rounds] [options] [-- ferret options for the rounds]\n"
    << desc;
  return s.str();
}

Options parse_options(int argc, char** argv, bool& help) {
  Options o;
  const int procs = omp_get_num_procs();
  std::string d = "1e6,1e7,1e8", k = "64,256,1024,4096", blocks = "1,8,64", basis = "rademacher,gaussian,truncnormal";
  std::string threads, algorithms = "ferret,fedavg,fedkseed";
  for (int t = 1; t <= procs; ++t) threads += (t > 1 ? "," : "") + std::to_string(t);
  po::options_description desc("options");
  desc.add_options()("help,h", "this text")
      ("d", po::value(&d), "parameters (sweep: list; single case: one value)")
      ("k", po::value(&k), "basis vectors K in total")
      ("blocks", po::value(&blocks), "blocks L (equal sizes; K split uniformly)")
      ("basis", po::value(&basis), "rademacher | gaussian | truncnormal")
      ("threads", po::value(&threads), "OpenMP / LibTorch threads (sweep default 1..cores)")
      ("naive-budget", po::value(&o.naive_budget), "seconds per case for the naive LibTorch reference before it is "
                                                   "extrapolated from the bases done (0: all bases; default 2)")
      ("no-naive", po::bool_switch(), "skip the naive reference")
      ("algorithms", po::value(&algorithms), "rounds: algorithms to time (default ferret,fedavg,fedkseed)")
      ("config", po::value(&o.config), "rounds: ferret config (default the source tree's configs/demo.ini)")
      ("rounds", po::value(&o.rounds), "rounds: rounds per algorithm (the first is not averaged; default 3)")
      ("out", po::value(&o.out), "HDF5 result file (never overwritten)");
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') o.mode = argv[1], first = 2;
  if (o.mode != "sweep" && o.mode != "quick" && o.mode != "project" && o.mode != "reconstruct" && o.mode != "rounds")
    throw ConfigError("mode '" + o.mode + "' is not allowed (sweep, quick, project, reconstruct, rounds)");
  const bool single = o.mode == "project" || o.mode == "reconstruct";
  if (single)  // one case: the headline d = 10 M, K = 256, L = 8, all cores
    d = "1e7", k = "256", blocks = "8", basis = "rademacher", threads = std::to_string(procs);
  // ferret's own options (for the rounds) follow "--": both programs have a --k, a --threads ...
  std::vector<std::string> own(argv + first, argv + argc);
  if (const auto dashes = std::find(own.begin(), own.end(), "--"); dashes != own.end()) {
    o.ferret_args.assign(dashes + 1, own.end());
    own.erase(dashes, own.end());
  }
  if (single && !o.ferret_args.empty()) throw ConfigError("mode " + o.mode + " takes no ferret options (after --)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(own).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + " (ferret's options for the rounds go after --)");
  }
  help = vm.count("help") > 0;
  if (help) {
    std::cout << usage(desc);
    return o;
  }
  o.naive = !vm["no-naive"].as<bool>();
  if (o.naive_budget < 0) throw ConfigError("--naive-budget " + std::to_string(o.naive_budget) + " is not allowed (>= 0)");
  if (o.rounds < 1) throw ConfigError("--rounds " + std::to_string(o.rounds) + " is not allowed (>= 1)");
  o.d = parse_numbers<uint64_t>("d", d, 1, 4e9);
  o.k = parse_numbers<uint32_t>("k", k, 1, 1 << 24);
  o.blocks = parse_numbers<uint32_t>("blocks", blocks, 1, 1 << 20);
  o.threads = parse_numbers<int>("threads", threads, 1, 4096);
  for (const auto& b : split(basis)) o.basis.push_back(parse_basis(b));
  o.algorithms = split(algorithms);
  for (const auto& a : o.algorithms)
    if (a != "ferret" && a != "fedavg" && a != "fedkseed")
      throw ConfigError("--algorithms '" + a + "' is not allowed (ferret, fedavg, fedkseed)");
  if (single && (o.d.size() > 1 || o.k.size() > 1 || o.blocks.size() > 1 || o.basis.size() > 1 || o.threads.size() > 1))
    throw ConfigError("mode " + o.mode + " takes one value per option (lists are for sweep)");
  if (o.config.empty()) o.config = std::string(FERRET_SOURCE_DIR) + "/configs/demo.ini";
  return o;
}

std::string now_stamp(const char* format) {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, format, std::localtime(&t));
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// ---- kernel cases ---------------------------------------------------------------------------------

struct KernelRow {
  KernelCase c;
  double seconds = 0, floor_seconds = 0, philox_seconds = 0;
  NaiveTiming naive;  // seconds 0 when not measured
  double elements_per_s() const { return basis_elements(c) / seconds; }
  double gb_per_s() const { return kernel_bytes(c) / seconds / 1e9; }
  double floor_fraction() const { return floor_seconds / seconds; }
  double philox_fraction() const { return philox_seconds / seconds; }  // share of our time that is Philox alone
  double speedup() const { return naive.seconds > 0 ? naive.seconds / seconds : NAN; }
};

void print_kernel_header() {
  std::printf("%-11s %-11s %11s %5s %4s %3s %10s %10s %7s %6s %6s %10s %9s\n", "op", "basis", "d", "K", "L", "T",
              "seconds", "elem/s", "GB/s", "floor", "philox", "naive s", "speedup");
}

void print_kernel_row(const KernelRow& r) {
  std::printf("%-11s %-11s %11llu %5u %4u %3d %10.4g %10.3e %7.2f %6.3f %6.3f ", std::string(to_string(r.c.op)).c_str(),
              std::string(to_string(r.c.basis)).c_str(), static_cast<unsigned long long>(r.c.d), r.c.k, r.c.blocks,
              r.c.threads, r.seconds, r.elements_per_s(), r.gb_per_s(), r.floor_fraction(), r.philox_fraction());
  if (r.naive.seconds > 0)
    std::printf("%10.4g%s %8.1fx\n", r.naive.seconds, r.naive.bases_timed < r.naive.bases_total ? "*" : " ", r.speedup());
  else
    std::printf("%10s  %9s\n", "-", "-");
  std::fflush(stdout);
}

// Floors are per (d, threads); computed once each.
double floor_for(std::vector<std::pair<std::pair<uint64_t, int>, double>>& cache, uint64_t d, int threads) {
  for (const auto& [key, s] : cache)
    if (key == std::make_pair(d, threads)) return s;
  const double s = stream_floor_seconds(d, threads);
  cache.push_back({{d, threads}, s});
  return s;
}

KernelRow measure(const KernelCase& c, const Options& o, std::vector<std::pair<std::pair<uint64_t, int>, double>>& floors) {
  check_case(c);
  KernelRow r{c, 0, 0, 0, {}};
  r.floor_seconds = floor_for(floors, c.d, c.threads);
  r.philox_seconds = philox_floor_seconds(c);
  r.seconds = time_ours(c);
  if (o.naive) r.naive = time_naive_torch(c, o.naive_budget);
  return r;
}

Table kernel_table(const std::vector<KernelRow>& rows) {
  std::vector<std::string> op, basis;
  std::vector<double> d, k, blocks, threads, seconds, eps, gbs, floor_s, floor_frac, philox_s, philox_frac, naive_s,
      naive_timed, speedup;
  for (const auto& r : rows) {
    op.emplace_back(to_string(r.c.op)), basis.emplace_back(to_string(r.c.basis));
    d.push_back(double(r.c.d)), k.push_back(r.c.k), blocks.push_back(r.c.blocks), threads.push_back(r.c.threads);
    seconds.push_back(r.seconds), eps.push_back(r.elements_per_s()), gbs.push_back(r.gb_per_s());
    floor_s.push_back(r.floor_seconds), floor_frac.push_back(r.floor_fraction());
    philox_s.push_back(r.philox_seconds), philox_frac.push_back(r.philox_fraction());
    naive_s.push_back(r.naive.seconds > 0 ? r.naive.seconds : NAN);
    naive_timed.push_back(r.naive.bases_total ? double(r.naive.bases_timed) / double(r.naive.bases_total) : NAN);
    speedup.push_back(r.speedup());
  }
  return {"kernels",
          {{"op", op}, {"basis", basis}, {"d", d}, {"k", k}, {"blocks", blocks}, {"threads", threads},
           {"seconds", seconds}, {"elements_per_s", eps}, {"gb_per_s", gbs}, {"floor_seconds", floor_s},
           {"floor_fraction", floor_frac}, {"philox_seconds", philox_s}, {"philox_fraction", philox_frac},
           {"naive_seconds", naive_s}, {"naive_fraction_timed", naive_timed},
           {"speedup_vs_naive", speedup}}};
}

// ---- rounds ---------------------------------------------------------------------------------------

std::vector<std::string> round_args(const Options& o) {
  std::vector<std::string> args{"--config", o.config, "--rounds", std::to_string(o.rounds), "--eval-every",
                                std::to_string(o.rounds)};
  args.insert(args.end(), o.ferret_args.begin(), o.ferret_args.end());  // the user's options win
  return args;
}

void print_round_header() {
  std::printf("%-9s %5s %11s %5s %9s %9s %9s %9s %9s %9s %9s %12s %12s %9s\n", "algorithm", "ranks", "d", "K", "local s",
              "wait s", "project s", "comm s", "recon s", "eval s", "round s", "bytes up", "bytes down", "overhead");
}

void print_round_row(const RoundBreakdown& b) {
  std::printf("%-9s %5lld %11lld %5lld %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %12.0f %12.0f %8.2f%%\n",
              b.algorithm.c_str(), (long long)b.ranks, (long long)b.num_params, (long long)b.k, b.local, b.wait, b.project,
              b.comm, b.reconstruct,
              b.eval, b.round, b.bytes_up, b.bytes_down, b.overhead_pct());
  std::fflush(stdout);
}

Table round_table(const std::vector<RoundBreakdown>& rows) {
  std::vector<std::string> algorithm;
  std::vector<double> ranks, d, k, rounds, local, wait, project, comm, reconstruct, eval, round, up, down, overhead;
  for (const auto& b : rows) {
    algorithm.push_back(b.algorithm), ranks.push_back(double(b.ranks)), d.push_back(double(b.num_params));
    k.push_back(double(b.k)), rounds.push_back(double(b.rounds)), local.push_back(b.local), wait.push_back(b.wait);
    project.push_back(b.project), comm.push_back(b.comm), reconstruct.push_back(b.reconstruct);
    eval.push_back(b.eval), round.push_back(b.round), up.push_back(b.bytes_up), down.push_back(b.bytes_down);
    overhead.push_back(b.overhead_pct());
  }
  return {"rounds",
          {{"algorithm", algorithm}, {"ranks", ranks}, {"d", d}, {"k", k}, {"rounds", rounds}, {"time_local", local},
           {"time_wait", wait}, {"time_project", project}, {"time_comm", comm}, {"time_reconstruct", reconstruct}, {"time_eval", eval},
           {"time_round", round}, {"bytes_up", up}, {"bytes_down", down}, {"overhead_pct", overhead}}};
}

std::vector<RoundBreakdown> run_rounds(const Options& o, const std::vector<std::string>& algorithms, Comm& comm) {
  std::vector<RoundBreakdown> rows;
  if (comm.is_root()) print_round_header();
  for (const auto& a : algorithms) {
    rows.push_back(time_rounds(a, round_args(o), comm));
    if (comm.is_root()) print_round_row(rows.back());
  }
  return rows;
}

void save(const Options& o, Comm& comm, const std::vector<Table>& tables, int argc, char** argv) {
  if (!comm.is_root()) return;
  const std::string path = o.out.empty() ? "bench/ferret-bench-" + o.mode + "-" + now_stamp("%Y%m%d-%H%M%S") + ".h5" : o.out;
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  write_results(path, tables,
                {{"version", FERRET_VERSION}, {"mode", o.mode}, {"command", command}, {"host", host},
                 {"cpu", cpu_model()}, {"cores", std::to_string(omp_get_num_procs())}, {"ranks", std::to_string(comm.size())},
                 {"date", now_stamp("%Y-%m-%dT%H:%M:%S")}});
  std::printf("results: %s\n", path.c_str());
}

int run(const Options& o, Comm& comm, int argc, char** argv) {
  std::vector<std::pair<std::pair<uint64_t, int>, double>> floors;
  if (o.mode == "project" || o.mode == "reconstruct") {
    KernelRow r;
    if (comm.is_root()) {
      Options single = o;
      single.naive = false;
      const KernelCase c{parse_kernel_op(o.mode), o.d[0], o.k[0], o.blocks[0], o.basis[0], o.threads[0]};
      check_case(c);  // before any output
      print_kernel_header();
      r = measure(c, single, floors);
      print_kernel_row(r);
      if (!o.out.empty()) save(o, comm, {kernel_table({r})}, argc, argv);
      std::printf("elements_per_s=%.6e floor_fraction=%.4f\n", r.elements_per_s(), r.floor_fraction());
    }
    return 0;
  }
  if (o.mode == "rounds") {
    const auto rows = run_rounds(o, o.algorithms, comm);
    save(o, comm, {round_table(rows)}, argc, argv);
    return 0;
  }
  if (o.mode == "quick") {
    // The headline case of the issue: d = 10 M, K = 256, L = 8 (K_l = 32), Rademacher, all cores.
    std::vector<KernelRow> rows;
    if (comm.is_root()) {
      print_kernel_header();
      for (KernelOp op : {KernelOp::project, KernelOp::reconstruct}) {
        Options q = o;
        q.naive_budget = o.naive_budget > 0 ? std::min(o.naive_budget, 3.0) : 3.0;
        rows.push_back(measure({op, 10'000'000, 256, 8, Basis::rademacher, omp_get_num_procs()}, q, floors));
        print_kernel_row(rows.back());
      }
    }
    comm.barrier();
    Options q = o;
    if (q.ferret_args.empty())  // a short demo round: small evaluation, the model and clients of the demo
      q.ferret_args = {"--eval-samples", "16", "--rouge-samples", "2", "--max-new-tokens", "4"};
    const auto round_rows = run_rounds(q, {"ferret"}, comm);
    if (comm.is_root()) {
      save(o, comm, {kernel_table(rows), round_table(round_rows)}, argc, argv);
      double speedup = 1e300, floor = 1e300;
      for (const auto& r : rows) speedup = std::min(speedup, r.speedup()), floor = std::min(floor, r.floor_fraction());
      std::printf("speedup_vs_naive=%.1f floor_fraction=%.3f round_overhead_pct=%.2f\n", speedup, floor,
                  round_rows.front().overhead_pct());
    }
    return 0;
  }
  // sweep
  std::vector<KernelRow> rows;
  if (comm.is_root()) {
    print_kernel_header();
    for (uint64_t d : o.d)
      for (uint32_t k : o.k)
        for (uint32_t blocks : o.blocks)
          for (Basis basis : o.basis)
            for (int threads : o.threads)
              for (KernelOp op : {KernelOp::project, KernelOp::reconstruct}) {
                const KernelCase c{op, d, k, blocks, basis, threads};
                if (k < blocks || d < blocks) continue;  // not a valid split: skipped
                rows.push_back(measure(c, o, floors));
                print_kernel_row(rows.back());
              }
  }
  comm.barrier();
  const auto round_rows = run_rounds(o, o.algorithms, comm);
  save(o, comm, {kernel_table(rows), round_table(round_rows)}, argc, argv);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(&argc, &argv);
  Comm comm;
  try {
    bool help = false;
    const Options o = parse_options(argc, argv, help);
    if (help) return 0;
    return run(o, comm, argc, argv);
  } catch (const ConfigError& e) {
    if (comm.is_root()) std::cerr << "ferret-bench: error: " << e.what() << std::endl;
    return 2;
  } catch (const std::invalid_argument& e) {  // a bad case or basis name, found before any timing
    if (comm.is_root()) std::cerr << "ferret-bench: error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ferret-bench: error (rank " << comm.rank() << "): " << e.what() << std::endl;
    comm.abort(1);
  }
}
