// Looking an element up in a vector by a predicate, the way the find_* members of the result
// structures do (their lists are short, so a scan is the right search).
#pragma once

#include <vector>

namespace sarseg {

// The first element of `items` for which `matches` is true; nullptr when none is.
template <typename T, typename Predicate>
const T* find_first(const std::vector<T>& items, Predicate matches) {
  for (const auto& item : items)
    if (matches(item)) return &item;
  return nullptr;
}

template <typename T, typename Predicate>
T* find_first(std::vector<T>& items, Predicate matches) {
  for (auto& item : items)
    if (matches(item)) return &item;
  return nullptr;
}

}  // namespace sarseg
