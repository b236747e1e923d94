// defines: SubCommCache<Handle> — the sub-communicators of the round's sender sets, one split per
//          distinct membership, shared by the MPI and the NCCL backends.
//
// A round's reduce runs over rank 0 and the ranks that upload this round. Splitting a communicator
// is collective over the world and costly, so each backend splits once per membership and keeps
// the result; the membership changes only when the sampled sender set does.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferret {

template <class Handle>
class SubCommCache {
 public:
  // members: one entry per world rank. `split(in)` is the backend's collective split, `in` true
  // on rank 0 (the root, always in) and on members; it returns the backend's null handle outside.
  template <class Split>
  Handle get(const std::vector<bool>& members, int rank, int size, const char* backend, Split&& split) {
    if (static_cast<int>(members.size()) != size)
      throw std::invalid_argument(std::string(backend) + ": membership has " + std::to_string(members.size()) +
                                  " entries for " + std::to_string(size) + " ranks");
    auto it = cache_.find(members);
    if (it != cache_.end()) return it->second;
    Handle c = split(rank == 0 || members[rank]);
    cache_.emplace(members, c);
    return c;
  }

  // Frees every cached handle with `release` (called from the backend's destructor).
  template <class Release>
  void release_all(Release&& release) noexcept {
    for (auto& [members, c] : cache_) release(c);
    cache_.clear();
  }

 private:
  std::map<std::vector<bool>, Handle> cache_;
};

}  // namespace ferret
