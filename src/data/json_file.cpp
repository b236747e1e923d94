// defines: json_depth_bound, read_json_file (see json_file.hpp)

#include "data/json_file.hpp"

#include <fstream>
#include <stdexcept>

namespace ferret {

using json = nlohmann::json;

json::parser_callback_t json_depth_bound(const std::string& name) {
  return [name](int depth, json::parse_event_t event, json&) {
    if (depth >= kMaxJsonDepth && (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start))
      throw std::runtime_error("'" + name + "' nests JSON deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels (allowed: at most " + std::to_string(kMaxJsonDepth) + ")");
    return true;
  };
}

json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open '" + path.string() + "'");
  try {
    return json::parse(in, json_depth_bound(path.string()));
  } catch (const json::exception& e) {
    throw std::runtime_error("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

}  // namespace ferret
