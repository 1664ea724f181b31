// Private to io: opening netCDF files that may be hostile (src/io/netcdf_probe.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace sarseg::io::detail {

// Debian's libhdf5 1.10 crashes (SEGV) inside nc_open on some corrupted netCDF-4 files, before
// any check of sarseg's can run (fuzz/library-findings/); whether it does depends on the heap's
// contents, so a file that fails cleanly once may crash the next time. So a file is first opened
// by `open_file` (which returns a netCDF status and sets the id) in a child process, and
// everything the schema checks touch is walked there. A crash or a hang in the child is a
// UserError naming `name` as damaged. Otherwise the status of the child's open, or of the walk's
// first failed inquiry of the file, a dimension or a variable, is returned: the caller refuses a
// file that did not open or walk with its own message, without opening it itself, and opens one
// that did. NC_NOERR too where no child can be started. Callers hold the netCDF lock.
// `file_bytes` (the file's size) sets how long the child may take: structure_walk_time_limit.
int check_netcdf_in_child(const std::function<int(int*)>& open_file, const std::string& name,
                          std::uintmax_t file_bytes);

// How long the child's walk may take on a file of `file_bytes`: 5 s, and 1 s more per 8 MiB up to
// 60 s. The walk reads the header and one chunk per variable, milliseconds on a 5000 x 5000 scene;
// a small damaged file on which libhdf5 loops (one of 55 KiB read one attribute for over a minute)
// is refused after seconds, and a fuzzer's 20 s per input is not reached.
std::chrono::seconds structure_walk_time_limit(std::uintmax_t file_bytes);

}  // namespace sarseg::io::detail
