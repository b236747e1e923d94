// defines: kMaxJsonDepth, json_depth_bound, read_json_file — JSON read from untrusted model files
//
// nlohmann's parser is iterative, but copying or printing a parsed value recurses, so a file nested
// 100 000 levels deep would overflow the stack later. Every JSON ferret reads (config.json, a
// safetensors header, tokenizer.json) goes through this bound; real files nest a few levels.

#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ferret {

inline constexpr int kMaxJsonDepth = 64;

// A parser callback refusing (std::runtime_error naming `name`) nesting deeper than kMaxJsonDepth.
nlohmann::json::parser_callback_t json_depth_bound(const std::string& name);

// The whole file parsed with the bound; one std::runtime_error line naming the file if it cannot be
// opened or is not JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace ferret
