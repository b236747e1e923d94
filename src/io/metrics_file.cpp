// defines: MetricsWriter, read_metrics (see metrics_file.hpp for the schema)
//
// Every per-round dataset is listed once, in the tables below; create, resume, append and read
// walk those tables, so the four cannot disagree about the layout.
#include "io/metrics_file.hpp"
#include "io/write_guard.hpp"

#include <algorithm>
#include <limits>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "io/h5_handle.hpp"

namespace ferret {
using namespace h5;
namespace {

namespace fs = std::filesystem;

// ---- metrics layout ----------------------------------------------------------------------------

// Bumped whenever the metrics layout changes; readers refuse other versions instead of misreading.
constexpr int64_t kMetricsSchemaVersion = 5;  // 2: time_eval; 3: time_wait; 4: /config_history; 5: dp_epsilon
constexpr int64_t kOldestReadableSchema = 3;  // a version-3 file reads as one without option changes

constexpr const char* kConfigHistory = "/config_history";

// The /config_history attribute of the configuration in effect from `from_round` (1-based) on.
std::string segment_name(int64_t from_round) {
  std::string digits = std::to_string(from_round);
  return "from_round_" + std::string(digits.size() < 6 ? 6 - digits.size() : 0, '0') + digits;
}

constexpr const char* kEvalLoss = "/rounds/eval_loss";  // R + 1 entries

template <class T>
struct RoundColumn {  // one value per round
  using value_type = T;
  const char* name;
  T RoundRecord::*in;
  std::vector<T> MetricsData::*out;
};
constexpr RoundColumn<double> kDoubleColumns[] = {
    {"/rounds/train_loss", &RoundRecord::train_loss, &MetricsData::train_loss},
    {"/rounds/rouge_l", &RoundRecord::rouge_l, &MetricsData::rouge_l},
    {"/rounds/time_local", &RoundRecord::time_local, &MetricsData::time_local},
    {"/rounds/time_project", &RoundRecord::time_project, &MetricsData::time_project},
    {"/rounds/time_comm", &RoundRecord::time_comm, &MetricsData::time_comm},
    {"/rounds/time_reconstruct", &RoundRecord::time_reconstruct, &MetricsData::time_reconstruct},
    {"/rounds/time_round", &RoundRecord::time_round, &MetricsData::time_round},
    {"/rounds/time_eval", &RoundRecord::time_eval, &MetricsData::time_eval},
    {"/rounds/time_wait", &RoundRecord::time_wait, &MetricsData::time_wait},
    {"/rounds/dp_epsilon", &RoundRecord::dp_epsilon, &MetricsData::dp_epsilon},
};
// Round columns newer than the oldest readable schema: absent in such files, read as NaN, and
// added (NaN for the rounds already there) when such a file is resumed.
constexpr const char* kNewerColumns[] = {"/rounds/dp_epsilon"};
bool is_newer_column(const std::string& name) {
  return std::find(std::begin(kNewerColumns), std::end(kNewerColumns), name) != std::end(kNewerColumns);
}
constexpr RoundColumn<uint64_t> kU64Columns[] = {
    {"/rounds/bytes_up", &RoundRecord::bytes_up, &MetricsData::bytes_up},
    {"/rounds/bytes_down", &RoundRecord::bytes_down, &MetricsData::bytes_down},
    {"/rounds/bytes_control", &RoundRecord::bytes_control, &MetricsData::bytes_control},
};
constexpr RoundColumn<int32_t> kI32Columns[] = {
    {"/rounds/participants", &RoundRecord::participants, &MetricsData::participants},
    {"/rounds/senders", &RoundRecord::senders, &MetricsData::senders},
};

template <class T>
struct RowColumn {  // one row of `width` values per round; no dataset when width is 0
  using value_type = T;
  const char* name;
  std::vector<T> RoundRecord::*in;
  std::vector<std::vector<T>> MetricsData::*out;
  int64_t RunAttributes::*width;
};
constexpr RowColumn<float> kFloatRowColumns[] = {
    {"/coefficients", &RoundRecord::coefficients, &MetricsData::coefficients, &RunAttributes::k},
    {"/clients/train_loss", &RoundRecord::client_train_loss, &MetricsData::client_train_loss,
     &RunAttributes::num_clients},
};
constexpr RowColumn<int32_t> kI32RowColumns[] = {
    {"/allocation", &RoundRecord::allocation, &MetricsData::allocation, &RunAttributes::num_blocks},
};

template <class F>
void for_each_round_column(F&& f) {
  for (const auto& c : kDoubleColumns) f(c);
  for (const auto& c : kU64Columns) f(c);
  for (const auto& c : kI32Columns) f(c);
}

template <class F>
void for_each_row_column(F&& f) {
  for (const auto& c : kFloatRowColumns) f(c);
  for (const auto& c : kI32RowColumns) f(c);
}

struct IntAttribute {
  const char* name;
  int64_t RunAttributes::*field;
};
constexpr IntAttribute kIntAttributes[] = {
    {"k", &RunAttributes::k},           {"num_clients", &RunAttributes::num_clients},
    {"ranks", &RunAttributes::ranks},   {"rounds", &RunAttributes::rounds},
    {"seed", &RunAttributes::seed},     {"num_params", &RunAttributes::num_params},
    {"num_blocks", &RunAttributes::num_blocks},
};
struct StringAttribute {
  const char* name;
  std::string RunAttributes::*field;
};
constexpr StringAttribute kStringAttributes[] = {
    {"algorithm", &RunAttributes::algorithm},
    {"config", &RunAttributes::config},
    {"version", &RunAttributes::version},
};

// ---- attributes and creation -------------------------------------------------------------------

// `with_config`: false on resume, where /config stays the configuration the run started with.
void write_run_attributes(const File& f, const RunAttributes& attrs, bool with_config = true) {
  Handle root = open_group(f, "/");
  write_attr<int64_t>(f, root.get(), "/", "schema_version", kMetricsSchemaVersion);
  for (const auto& a : kStringAttributes)
    if (with_config || a.field != &RunAttributes::config) write_string_attr(f, root.get(), "/", a.name, attrs.*a.field);
  for (const auto& a : kIntAttributes) write_attr<int64_t>(f, root.get(), "/", a.name, attrs.*a.field);
}

RunAttributes read_run_attributes(const File& f) {
  Handle root = open_group(f, "/");
  const int64_t schema = read_attr<int64_t>(f, root.get(), "/", "schema_version");
  if (schema < kOldestReadableSchema || schema > kMetricsSchemaVersion)
    fail(f.path, "unsupported", attr_desc("/", "schema_version"),
         "version " + std::to_string(schema) + " (this ferret reads " + std::to_string(kOldestReadableSchema) + " to " +
             std::to_string(kMetricsSchemaVersion) + ")");
  RunAttributes attrs;
  for (const auto& a : kStringAttributes) attrs.*a.field = read_string_attr(f, root.get(), "/", a.name);
  for (const auto& a : kIntAttributes) attrs.*a.field = read_attr<int64_t>(f, root.get(), "/", a.name);
  return attrs;
}

void check_widths_not_negative(const std::string& path, const RunAttributes& attrs) {
  for_each_row_column([&](const auto& c) {
    if (attrs.*c.width < 0) fail(path, "cannot create", dataset_desc(c.name), "negative width");
  });
}

void create_metrics_layout(const File& f, const RunAttributes& attrs) {
  write_run_attributes(f, attrs);
  Handle history = create_group(f, kConfigHistory);
  write_string_attr(f, history.get(), kConfigHistory, segment_name(1), attrs.config);
  create_group(f, "/rounds");
  create_group(f, "/clients");
  create_growing_dataset<double>(f, kEvalLoss, std::nullopt);
  for_each_round_column([&](const auto& c) {
    create_growing_dataset<typename std::remove_cvref_t<decltype(c)>::value_type>(f, c.name, std::nullopt);
  });
  for_each_row_column([&](const auto& c) {
    using T = typename std::remove_cvref_t<decltype(c)>::value_type;
    if (attrs.*c.width > 0) create_growing_dataset<T>(f, c.name, static_cast<hsize_t>(attrs.*c.width));
  });
}

// ---- configuration history ---------------------------------------------------------------------
// /config_history holds one string attribute per configuration the run used: from_round_NNNNNN is
// the INI text in effect from round NNNNNN (1-based) on.

std::vector<ConfigSegment> read_config_history(const File& f, const std::string& initial_config) {
  if (!link_exists(f, kConfigHistory)) return {{1, initial_config}};  // schema 3
  Handle group = open_group(f, kConfigHistory);
  std::vector<ConfigSegment> history;
  for (const std::string& name : attr_names(f, group.get(), kConfigHistory)) {
    const std::string digits = name.rfind("from_round_", 0) == 0 ? name.substr(11) : "";
    if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos)
      fail(f.path, "unexpected", attr_desc(kConfigHistory, name), "(allowed: from_round_NNNNNN)");
    history.push_back({std::stoll(digits), read_string_attr(f, group.get(), kConfigHistory, name)});
  }
  return history;  // sorted: the names are zero-padded and listed by name
}

// Drops the configurations of rounds after `completed_rounds` (they are redone) and, when the
// resumed run changed a recorded option, adds the one it starts round completed_rounds + 1 with.
void update_config_history(const File& f, const std::string& initial_config, int64_t completed_rounds,
                           const std::optional<std::string>& changed_config) {
  const bool existed = link_exists(f, kConfigHistory);
  Handle group = existed ? open_group(f, kConfigHistory) : create_group(f, kConfigHistory);
  if (!existed) write_string_attr(f, group.get(), kConfigHistory, segment_name(1), initial_config);
  for (const auto& segment : read_config_history(f, initial_config))
    if (segment.from_round > completed_rounds && segment.from_round > 1)
      delete_attr_if_present(f, group.get(), kConfigHistory, segment_name(segment.from_round));
  if (changed_config)
    write_string_attr(f, group.get(), kConfigHistory, segment_name(completed_rounds + 1), *changed_config);
}

// ---- resume ------------------------------------------------------------------------------------

// The file's attributes must equal this run's where they fix the dataset shapes (k, num_clients,
// num_blocks) or what the stored rows mean (algorithm, num_params).
void check_resume_attributes(const std::string& path, const RunAttributes& stored, const RunAttributes& run) {
  auto mismatch = [&](const std::string& name, const std::string& in_file, const std::string& in_run) {
    fail(path, "cannot resume", "", "attribute '" + name + "' is " + in_file + " in the file but " + in_run + " in this run");
  };
  if (stored.algorithm != run.algorithm) mismatch("algorithm", "'" + stored.algorithm + "'", "'" + run.algorithm + "'");
  const IntAttribute fixed[] = {{"k", &RunAttributes::k},
                                {"num_clients", &RunAttributes::num_clients},
                                {"num_blocks", &RunAttributes::num_blocks},
                                {"num_params", &RunAttributes::num_params}};
  for (const auto& a : fixed)
    if (stored.*a.field != run.*a.field) mismatch(a.name, std::to_string(stored.*a.field), std::to_string(run.*a.field));
}

// A planned truncation: checked for every dataset before any is changed.
struct Truncation {
  std::string name;
  std::vector<hsize_t> dims;
};

Truncation plan_truncation(const File& f, const std::string& name, hsize_t keep_rows, std::optional<hsize_t> cols,
                           int64_t completed_rounds) {
  Handle dset = open_dataset(f, name);
  std::vector<hsize_t> dims = extent(f, dset.get(), name);
  if (dims.size() != (cols ? 2u : 1u) || (cols && dims[1] != *cols))
    fail(f.path, "cannot resume", dataset_desc(name), "shape does not match the run's attributes");
  if (dims[0] < keep_rows)
    fail(f.path, "cannot resume", dataset_desc(name),
         "holds " + std::to_string(dims[0]) + " entries but " + std::to_string(completed_rounds) +
             " completed rounds need " + std::to_string(keep_rows));
  dims[0] = keep_rows;
  return {name, dims};
}

std::vector<Truncation> plan_resume(const File& f, const RunAttributes& attrs, int64_t completed_rounds) {
  const auto rounds = static_cast<hsize_t>(completed_rounds);
  std::vector<Truncation> plan;
  // eval_loss[0] may be missing only when no round completed (the job died before evaluating).
  Handle eval = open_dataset(f, kEvalLoss);
  const hsize_t eval_entries = extent(f, eval.get(), kEvalLoss).at(0);
  const hsize_t eval_keep = completed_rounds == 0 ? std::min<hsize_t>(eval_entries, 1) : rounds + 1;
  plan.push_back(plan_truncation(f, kEvalLoss, eval_keep, std::nullopt, completed_rounds));
  for_each_round_column([&](const auto& c) {
    plan.push_back(plan_truncation(f, c.name, rounds, std::nullopt, completed_rounds));
  });
  for_each_row_column([&](const auto& c) {
    if (attrs.*c.width > 0)
      plan.push_back(plan_truncation(f, c.name, rounds, static_cast<hsize_t>(attrs.*c.width), completed_rounds));
  });
  return plan;
}

// An older file gains the columns of newer schemas, NaN for its `rows` rounds (the fill value).
void add_newer_columns(const File& f, int64_t rows) {
  for (const char* name : kNewerColumns) {
    if (link_exists(f, name)) continue;
    create_growing_dataset<double>(f, name, std::nullopt);
    Handle dset = open_dataset(f, name);
    set_extent(f, dset.get(), name, {static_cast<hsize_t>(rows)});
  }
}

void apply_truncations(const File& f, const std::vector<Truncation>& plan) {
  for (const auto& t : plan) {
    Handle dset = open_dataset(f, t.name);
    set_extent(f, dset.get(), t.name, t.dims);
  }
}

// ---- appending ---------------------------------------------------------------------------------

// Grows a per-round dataset to `row + 1` rows and writes row `row`.
template <class T>
void write_row(const File& f, const std::string& name, hsize_t row, const std::vector<T>& values) {
  Handle dset = open_dataset(f, name);
  const hsize_t cols = values.size();
  set_extent(f, dset.get(), name, {row + 1, cols});
  write_block<T>(f, dset.get(), name, {row, 0}, {1, cols}, values.data());
}

template <class T>
void write_entry(const File& f, const std::string& name, hsize_t index, T value) {
  Handle dset = open_dataset(f, name);
  set_extent(f, dset.get(), name, {index + 1});
  write_block<T>(f, dset.get(), name, {index}, {1}, &value);
}

void check_round_widths(const std::string& path, const RunAttributes& attrs, const RoundRecord& round, int64_t index) {
  for_each_row_column([&](const auto& c) {
    const size_t have = (round.*c.in).size();
    if (have != static_cast<size_t>(attrs.*c.width))
      fail(path, "cannot append round " + std::to_string(index) + " to", dataset_desc(c.name),
           std::to_string(have) + " values given, the file's rows have " + std::to_string(attrs.*c.width));
  });
}

}  // namespace

// ---- MetricsWriter -----------------------------------------------------------------------------

struct MetricsWriter::Impl {
  File file;
  RunAttributes attrs;
  int64_t rounds = 0;  // rows in the per-round datasets
};

MetricsWriter::MetricsWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsWriter::MetricsWriter(MetricsWriter&&) noexcept = default;
MetricsWriter& MetricsWriter::operator=(MetricsWriter&&) noexcept = default;
MetricsWriter::~MetricsWriter() = default;

MetricsWriter MetricsWriter::create(const std::string& path, const RunAttributes& attrs) {
  silence_hdf5_errors();
  std::error_code ec;
  if (fs::exists(path, ec)) fail(path, "cannot create", "file", "it already exists");
  check_directory_exists(path);
  check_widths_not_negative(path, attrs);
  auto impl = std::make_unique<Impl>(Impl{create_file(path, /*exclusive=*/true), attrs, 0});
  try {
    create_metrics_layout(impl->file, attrs);
    flush(impl->file);
  } catch (...) {
    impl.reset();  // close before removing the file we created
    fs::remove(path, ec);
    throw;
  }
  return MetricsWriter(std::move(impl));
}

MetricsWriter MetricsWriter::resume(const std::string& path, const RunAttributes& attrs, int64_t completed_rounds,
                                    bool config_changed) {
  silence_hdf5_errors();
  if (completed_rounds < 0) fail(path, "cannot resume", "", "negative completed_rounds");
  const WriteGuard guard;
  File f = open_file(path, /*writable=*/true);
  const RunAttributes stored = read_run_attributes(f);
  check_resume_attributes(path, stored, attrs);
  add_newer_columns(f, completed_rounds);
  apply_truncations(f, plan_resume(f, attrs, completed_rounds));
  update_config_history(f, stored.config, completed_rounds, config_changed ? std::optional(attrs.config) : std::nullopt);
  write_run_attributes(f, attrs, /*with_config=*/false);  // rounds, ranks, seed, version of the continuing run
  flush(f);
  return MetricsWriter(std::make_unique<Impl>(Impl{std::move(f), attrs, completed_rounds}));
}

void MetricsWriter::write_initial_eval_loss(double loss) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const WriteGuard guard;
  const File& f = impl_->file;
  Handle dset = open_dataset(f, kEvalLoss);
  if (extent(f, dset.get(), kEvalLoss).at(0) == 0) set_extent(f, dset.get(), kEvalLoss, {1});
  write_block<double>(f, dset.get(), kEvalLoss, {0}, {1}, &loss);
  flush(f);
}

void MetricsWriter::write_initial_rouge_l(double rouge_l) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const WriteGuard guard;
  const File& f = impl_->file;
  Handle root = open_group(f, "/");
  write_attr<double>(f, root.get(), "/", "initial_rouge_l", rouge_l);
  flush(f);
}

void MetricsWriter::append_round(const RoundRecord& round) {
  if (!impl_) throw std::runtime_error("h5io: MetricsWriter used after close or move");
  silence_hdf5_errors();
  const WriteGuard guard;  // the rows and their flush, or nothing
  const File& f = impl_->file;
  const auto row = static_cast<hsize_t>(impl_->rounds);
  check_round_widths(f.path, impl_->attrs, round, impl_->rounds);
  write_entry<double>(f, kEvalLoss, row + 1, round.eval_loss);  // entry 0 is the pre-training loss
  for_each_round_column([&](const auto& c) { write_entry(f, c.name, row, round.*c.in); });
  for_each_row_column([&](const auto& c) {
    if (impl_->attrs.*c.width > 0) write_row(f, c.name, row, round.*c.in);
  });
  flush(f);
  ++impl_->rounds;
}

int64_t MetricsWriter::rounds_written() const { return impl_ ? impl_->rounds : 0; }

const std::string& MetricsWriter::path() const {
  static const std::string none;
  return impl_ ? impl_->file.path : none;
}

void MetricsWriter::close() {
  if (!impl_) return;
  silence_hdf5_errors();
  std::unique_ptr<Impl> impl = std::move(impl_);
  flush(impl->file);
  close_file(impl->file);
}

// ---- reading -----------------------------------------------------------------------------------

namespace {

// No dataset may hold more rows than the run has rounds (eval_loss: one more): a file whose datasets
// were resized (damage, or a hand edit) is refused before gigabytes are read from it.
void check_row_counts(const File& f, const RunAttributes& attrs) {
  const auto check = [&](const std::string& name, int64_t limit) {
    if (is_newer_column(name) && !link_exists(f, name)) return;
    Handle dset = open_dataset(f, name);
    const auto rows = static_cast<int64_t>(extent(f, dset.get(), name).at(0));
    if (rows > limit)
      fail(f.path, "damaged", dataset_desc(name),
           "holds " + std::to_string(rows) + " rows, more than the run's " + std::to_string(limit) +
               (name == kEvalLoss ? " (rounds + 1)" : " (attribute 'rounds')"));
  };
  check(kEvalLoss, attrs.rounds + 1);
  for_each_round_column([&](const auto& c) { check(c.name, attrs.rounds); });
  for_each_row_column([&](const auto& c) {
    if (attrs.*c.width > 0) check(c.name, attrs.rounds);
  });
}

}  // namespace

MetricsData read_metrics(const std::string& path) {
  silence_hdf5_errors();
  File f = open_file(path, /*writable=*/false);
  MetricsData m;
  m.attrs = read_run_attributes(f);
  check_row_counts(f, m.attrs);
  m.config_history = read_config_history(f, m.attrs.config);
  m.eval_loss = read_vector<double>(f, kEvalLoss);
  {
    Handle root = open_group(f, "/");
    if (H5Aexists(root.get(), "initial_rouge_l") > 0)
      m.initial_rouge_l = read_attr<double>(f, root.get(), "/", "initial_rouge_l");
  }
  for_each_round_column([&](const auto& c) {
    if (is_newer_column(c.name) && !link_exists(f, c.name)) return;  // an older schema: filled below
    m.*c.out = read_vector<typename std::remove_cvref_t<decltype(c)>::value_type>(f, c.name);
  });
  const size_t rounds = m.train_loss.size();
  if (m.dp_epsilon.empty()) m.dp_epsilon.assign(rounds, std::numeric_limits<double>::quiet_NaN());
  for_each_row_column([&](const auto& c) {
    using T = typename std::remove_cvref_t<decltype(c)>::value_type;
    const int64_t width = m.attrs.*c.width;
    m.*c.out = width > 0 ? read_matrix<T>(f, c.name, static_cast<hsize_t>(width))
                         : std::vector<std::vector<T>>(rounds);  // one empty row per round
  });
  close_file(f);
  return m;
}

}  // namespace ferret
