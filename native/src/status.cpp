#include <initializer_list>
#include <string>

#include "internal.h"

namespace vidtag {
namespace {
thread_local std::string last_error;
}

int fail(int status, const std::string& message) {
  last_error = message;
  return status;
}

int ok() {
  last_error.clear();
  return VIDTAG_OK;
}

int check_list(const char* kernel, const int64_t* numel, int64_t count,
               std::initializer_list<const void* const*> pointer_arrays) {
  if (count < 0) {
    return fail(VIDTAG_ERR_INVALID_ARGUMENT,
                std::string(kernel) + ": negative tensor count " + std::to_string(count));
  }
  if (count == 0) return ok();
  if (numel == nullptr) {
    return fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": numel array is null");
  }
  int array_index = 0;
  for (const void* const* array : pointer_arrays) {
    if (array == nullptr) {
      return fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": pointer array " +
                                                   std::to_string(array_index) + " is null");
    }
    ++array_index;
  }
  for (int64_t i = 0; i < count; ++i) {
    if (numel[i] < 0) {
      return fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": tensor " +
                                                   std::to_string(i) + " has negative size");
    }
    if (numel[i] == 0) continue;
    array_index = 0;
    for (const void* const* array : pointer_arrays) {
      if (array[i] == nullptr) {
        return fail(VIDTAG_ERR_INVALID_ARGUMENT,
                    std::string(kernel) + ": tensor " + std::to_string(i) + " of pointer array " +
                        std::to_string(array_index) + " is null");
      }
      ++array_index;
    }
  }
  return ok();
}

int check_dtype(const char* kernel, int dtype) {
  if (dtype == VIDTAG_FLOAT32 || dtype == VIDTAG_BFLOAT16) return ok();
  return fail(VIDTAG_ERR_INVALID_ARGUMENT,
              std::string(kernel) + ": unknown dtype code " + std::to_string(dtype));
}

}  // namespace vidtag

VIDTAG_EXPORT const char* vidtag_status_string(int status) {
  switch (status) {
    case VIDTAG_OK: return "ok";
    case VIDTAG_ERR_INVALID_ARGUMENT: return "invalid argument";
    case VIDTAG_ERR_CUDA_UNAVAILABLE: return "CUDA unavailable";
    case VIDTAG_ERR_CUDA: return "CUDA error";
    case VIDTAG_ERR_OUT_OF_MEMORY: return "out of memory";
    default: return "unknown status";
  }
}

VIDTAG_EXPORT const char* vidtag_last_error(void) { return vidtag::last_error.c_str(); }

VIDTAG_EXPORT const char* vidtag_version(void) { return VIDTAG_VERSION_STRING; }
