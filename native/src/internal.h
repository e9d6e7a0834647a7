// Shared by the CPU and CUDA implementations of kernels.h; not part of the ABI.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "vidtag/kernels.h"

#define VIDTAG_EXPORT extern "C" __attribute__((visibility("default")))

namespace vidtag {

// Records a failure for vidtag_last_error() on this thread and returns `status`.
int fail(int status, const std::string& message);

// Clears the calling thread's last error and returns VIDTAG_OK.
int ok();

// Validates the common shape of a multi-tensor call: count >= 0, the numel array present
// when count > 0, every numel non-negative, and every listed pointer array non-null with no
// null entry where its tensor is non-empty. Returns VIDTAG_OK or a recorded failure.
int check_list(const char* kernel, const int64_t* numel, int64_t count,
               std::initializer_list<const void* const*> pointer_arrays);

int check_dtype(const char* kernel, int dtype);

inline std::size_t element_size(int dtype) { return dtype == VIDTAG_BFLOAT16 ? 2 : 4; }

}  // namespace vidtag
