# Optional CUDA: VIDTAG_CUDA=AUTO compiles the CUDA kernels when a CUDA compiler is found,
# ON requires one, OFF never looks. Sets VIDTAG_HAVE_CUDA.
#
# Architectures 75 (Turing) to 90 (Hopper) as real code plus PTX for the newest, so later GPUs
# JIT-compile it. The CUDA runtime is linked statically: the library still loads where no CUDA
# is installed, and the _cuda entry points then report VIDTAG_ERR_CUDA_UNAVAILABLE.
set(VIDTAG_CUDA "AUTO" CACHE STRING "Compile the CUDA kernels: AUTO, ON or OFF")
set_property(CACHE VIDTAG_CUDA PROPERTY STRINGS AUTO ON OFF)
set(VIDTAG_CUDA_ARCHITECTURES "75-real;80-real;86-real;89-real;90-real;90-virtual"
    CACHE STRING "CUDA architectures of the kernels")

set(VIDTAG_HAVE_CUDA OFF)
if(NOT VIDTAG_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES "${VIDTAG_CUDA_ARCHITECTURES}")
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(VIDTAG_HAVE_CUDA ON)
  elseif(VIDTAG_CUDA STREQUAL "ON")
    message(FATAL_ERROR "VIDTAG_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
message(STATUS "VidTag CUDA kernels: ${VIDTAG_HAVE_CUDA}")
