// The CPU attention kernels against a naive float64 reference: placeholder.
#include <cstdio>

#include "vidtag/kernels.h"

int main() {
  std::printf("dropout_uniform(0, 0) = %f\n", vidtag_dropout_uniform(0, 0));
  return 0;
}
