// Looking an element up in a vector by a predicate, the way the find_* members of the result
// structures do (their lists are short, so a scan is the right search), and by name in a registry
// (encoders, decoders, optimisers, schedules, scene sources: vectors of entries with a `name`).
#pragma once

#include <string>
#include <vector>

#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

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

// The names of a registry's entries, in registration order.
template <typename Entry>
std::vector<std::string> registered_names(const std::vector<Entry>& registry) {
  std::vector<std::string> names;
  for (const auto& entry : registry)
    names.push_back(entry.name);
  return names;
}

// The entry called `name`; otherwise UserError "unknown WHAT 'NAME'[ (KEY)]: use one of A, B".
template <typename Entry>
const Entry& find_registered(const std::vector<Entry>& registry, const std::string& name,
                             const std::string& what, const std::string& key = "") {
  if (const Entry* entry = find_first(registry, [&](const Entry& e) { return e.name == name; }))
    return *entry;
  throw UserError("unknown " + what + " '" + name + "'" + (key.empty() ? "" : " (" + key + ")") +
                  ": use one of " + join(registered_names(registry), ", "));
}

}  // namespace sarseg
