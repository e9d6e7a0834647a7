// Every CPU kernel against a naive float64 reference written here, element by element.
// Tolerances (relative: max |ours - ref| / max |ref|): 1e-6 for fp32 elementwise results,
// 1e-12 for norms (float64 accumulation in another order), exact for copies and swaps.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vidtag/kernels.h"

namespace {

int failures = 0;

void check(bool condition, const std::string& what) {
  if (!condition) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

void check_status(int status, int expected, const std::string& what) {
  check(status == expected, what + ": status " + std::to_string(status) + " (" +
                                vidtag_status_string(status) + "), expected " +
                                std::to_string(expected) + "; last error: " + vidtag_last_error());
}

double relative_error(const std::vector<float>& ours, const std::vector<double>& ref) {
  double max_diff = 0.0;
  double max_ref = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(ours[i]) - ref[i]));
    max_ref = std::max(max_ref, std::fabs(ref[i]));
  }
  return max_ref == 0.0 ? max_diff : max_diff / max_ref;
}

void check_close(const std::vector<float>& ours, const std::vector<double>& ref, double tolerance,
                 const std::string& what) {
  const double error = relative_error(ours, ref);
  check(error <= tolerance, what + ": relative error " + std::to_string(error) + " > " +
                                std::to_string(tolerance));
}

// A list of tensors as the ABI sees it: data vectors plus pointer and numel arrays.
struct FloatList {
  std::vector<std::vector<float>> data;
  std::vector<int64_t> numel;

  std::vector<float*> pointers() {
    std::vector<float*> p;
    for (auto& d : data) p.push_back(d.empty() ? nullptr : d.data());
    return p;
  }
  int64_t count() const { return static_cast<int64_t>(data.size()); }
};

FloatList random_list(const std::vector<int64_t>& sizes, std::mt19937_64& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  FloatList list;
  for (int64_t n : sizes) {
    std::vector<float> d(static_cast<std::size_t>(n));
    for (float& v : d) v = normal(rng);
    list.data.push_back(std::move(d));
    list.numel.push_back(n);
  }
  return list;
}

uint16_t to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

double from_bf16(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

std::vector<std::vector<int64_t>> size_cases(std::mt19937_64& rng) {
  std::vector<int64_t> many_small;
  std::uniform_int_distribution<int64_t> small(1, 5000);
  for (int i = 0; i < 300; ++i) many_small.push_back(small(rng));
  many_small[17] = 0;  // an empty tensor inside a list is legal and untouched
  return {{1}, {7}, {1000003}, many_small};
}

std::string describe(const std::vector<int64_t>& sizes) {
  return sizes.size() == 1 ? "size " + std::to_string(sizes[0])
                           : std::to_string(sizes.size()) + " tensors";
}

void test_ema(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  const float decay = 0.995f;
  FloatList shadow = random_list(sizes, rng);
  FloatList param = random_list(sizes, rng);
  std::vector<std::vector<uint16_t>> param_bf16;
  for (auto& d : param.data) {
    std::vector<uint16_t> b(d.size());
    for (std::size_t i = 0; i < d.size(); ++i) b[i] = to_bf16(d[i]);
    param_bf16.push_back(std::move(b));
  }
  for (int dtype : {VIDTAG_FLOAT32, VIDTAG_BFLOAT16}) {
    FloatList ours = shadow;
    std::vector<float*> s = ours.pointers();
    std::vector<const void*> p;
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      p.push_back(dtype == VIDTAG_FLOAT32 ? static_cast<const void*>(param.data[t].data())
                                          : static_cast<const void*>(param_bf16[t].data()));
    }
    check_status(vidtag_ema_update_cpu(s.data(), p.data(), dtype, ours.numel.data(), ours.count(), decay),
                 VIDTAG_OK, "ema_update");
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      std::vector<double> ref(shadow.data[t].size());
      for (std::size_t i = 0; i < ref.size(); ++i) {
        const double x = dtype == VIDTAG_FLOAT32 ? param.data[t][i] : from_bf16(param_bf16[t][i]);
        ref[i] = static_cast<double>(decay) * shadow.data[t][i] + (1.0 - static_cast<double>(decay)) * x;
      }
      check_close(ours.data[t], ref, 1e-6,
                  "ema_update " + describe(sizes) + (dtype ? " bf16" : " fp32") + " tensor " + std::to_string(t));
    }
  }
}

void test_swap(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  FloatList a = random_list(sizes, rng);
  FloatList b = random_list(sizes, rng);
  FloatList a2 = a;
  FloatList b2 = b;
  std::vector<float*> pa = a2.pointers();
  std::vector<float*> pb = b2.pointers();
  check_status(vidtag_swap_cpu(reinterpret_cast<void* const*>(pa.data()),
                               reinterpret_cast<void* const*>(pb.data()), VIDTAG_FLOAT32,
                               a.numel.data(), a.count()),
               VIDTAG_OK, "swap");
  check(a2.data == b.data && b2.data == a.data, "swap " + describe(sizes) + " exchanges exactly");
}

void test_swap_bf16() {
  std::vector<uint16_t> a = {1, 2, 3, 4, 5};
  std::vector<uint16_t> b = {9, 8, 7, 6, 5};
  void* pa[] = {a.data()};
  void* pb[] = {b.data()};
  const int64_t numel[] = {5};
  check_status(vidtag_swap_cpu(pa, pb, VIDTAG_BFLOAT16, numel, 1), VIDTAG_OK, "swap bf16");
  check(a == std::vector<uint16_t>({9, 8, 7, 6, 5}) && b == std::vector<uint16_t>({1, 2, 3, 4, 5}),
        "swap bf16 exchanges 2-byte elements");
}

void test_swa(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  // Average four models one at a time; compare with their plain mean.
  std::vector<FloatList> models;
  for (int m = 0; m < 4; ++m) models.push_back(random_list(sizes, rng));
  FloatList average = models[0];
  std::vector<float*> avg = average.pointers();
  for (int m = 1; m < 4; ++m) {
    std::vector<float*> x = models[static_cast<std::size_t>(m)].pointers();
    std::vector<const void*> xc(x.begin(), x.end());
    check_status(vidtag_swa_accumulate_cpu(avg.data(), xc.data(), VIDTAG_FLOAT32,
                                           average.numel.data(), average.count(), m),
                 VIDTAG_OK, "swa_accumulate");
  }
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    std::vector<double> ref(average.data[t].size());
    for (std::size_t i = 0; i < ref.size(); ++i) {
      double sum = 0.0;
      for (auto& model : models) sum += model.data[t][i];
      ref[i] = sum / 4.0;
    }
    check_close(average.data[t], ref, 1e-6, "swa_accumulate " + describe(sizes) + " tensor " + std::to_string(t));
  }
}

void test_swa_bf16() {
  std::vector<float> average = {1.0f, -2.0f};
  std::vector<uint16_t> x = {to_bf16(3.0f), to_bf16(2.0f)};
  float* avg[] = {average.data()};
  const void* xs[] = {x.data()};
  const int64_t numel[] = {2};
  check_status(vidtag_swa_accumulate_cpu(avg, xs, VIDTAG_BFLOAT16, numel, 1, 1), VIDTAG_OK, "swa bf16");
  // (1 + 3) / 2 and (-2 + 2) / 2, by hand
  check(average[0] == 2.0f && average[1] == 0.0f, "swa bf16 hand-computed mean");
}

std::vector<double> naive_norms(FloatList& list, double* total) {
  std::vector<double> norms;
  double all = 0.0;
  for (auto& d : list.data) {
    double sum = 0.0;
    for (float v : d) sum += static_cast<double>(v) * v;
    norms.push_back(std::sqrt(sum));
    all += sum;
  }
  *total = std::sqrt(all);
  return norms;
}

void test_l2_norm(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  FloatList x = random_list(sizes, rng, 3.0f);
  std::vector<float*> p = x.pointers();
  std::vector<const void*> pc(p.begin(), p.end());
  std::vector<double> ours(sizes.size());
  double total = 0.0;
  check_status(vidtag_l2_norm_cpu(pc.data(), VIDTAG_FLOAT32, x.numel.data(), x.count(), ours.data(), &total),
               VIDTAG_OK, "l2_norm");
  double ref_total = 0.0;
  std::vector<double> ref = naive_norms(x, &ref_total);
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    check(std::fabs(ours[t] - ref[t]) <= 1e-12 * std::max(ref[t], 1e-300),
          "l2_norm " + describe(sizes) + " tensor " + std::to_string(t));
  }
  check(std::fabs(total - ref_total) <= 1e-12 * ref_total, "l2_norm total " + describe(sizes));

  // The chunk-ordered float64 sum does not depend on the thread count.
  double one_thread = 0.0;
  double two_threads = 0.0;
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  vidtag_l2_norm_cpu(pc.data(), VIDTAG_FLOAT32, x.numel.data(), x.count(), nullptr, &one_thread);
  omp_set_num_threads(2);
  vidtag_l2_norm_cpu(pc.data(), VIDTAG_FLOAT32, x.numel.data(), x.count(), nullptr, &two_threads);
  omp_set_num_threads(previous);
  check(one_thread == two_threads, "l2_norm is bitwise identical on 1 and 2 threads");
}

void test_l2_norm_hand_computed() {
  std::vector<float> a = {3.0f, 4.0f};
  std::vector<uint16_t> b = {to_bf16(1.0f), to_bf16(-2.0f), to_bf16(2.0f)};
  const void* fp32[] = {a.data()};
  const void* bf16[] = {b.data()};
  const int64_t n2[] = {2};
  const int64_t n3[] = {3};
  double norm = 0.0;
  check_status(vidtag_l2_norm_cpu(fp32, VIDTAG_FLOAT32, n2, 1, nullptr, &norm), VIDTAG_OK, "l2_norm fp32");
  check(norm == 5.0, "||(3, 4)|| = 5");
  check_status(vidtag_l2_norm_cpu(bf16, VIDTAG_BFLOAT16, n3, 1, nullptr, &norm), VIDTAG_OK, "l2_norm bf16");
  check(norm == 3.0, "||(1, -2, 2)|| = 3 in bf16");
}

void test_copy_many(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  FloatList src = random_list(sizes, rng);
  FloatList dst = random_list(sizes, rng);
  std::vector<float*> s = src.pointers();
  std::vector<const void*> sc(s.begin(), s.end());
  std::vector<float*> d = dst.pointers();
  std::vector<int64_t> bytes;
  for (int64_t n : sizes) bytes.push_back(n * 4);
  check_status(vidtag_copy_many_cpu(reinterpret_cast<void* const*>(d.data()), sc.data(), bytes.data(),
                                    src.count()),
               VIDTAG_OK, "copy_many");
  check(dst.data == src.data, "copy_many " + describe(sizes) + " copies every byte");

  FloatList restored = random_list(sizes, rng);
  std::vector<float*> r = restored.pointers();
  std::vector<const float*> rc(s.begin(), s.end());
  check_status(vidtag_restore_cpu(r.data(), rc.data(), src.numel.data(), src.count()), VIDTAG_OK, "restore");
  check(restored.data == src.data, "restore " + describe(sizes) + " copies every element");
}

// Reference of one normalised step: x + step * g / ||g||, or x when ||g|| is 0 or not finite.
std::vector<double> naive_step(const std::vector<float>& x, const std::vector<float>& g, double step,
                               bool* applied) {
  double sum = 0.0;
  for (float v : g) sum += static_cast<double>(v) * v;
  const double norm = std::sqrt(sum);
  *applied = std::isfinite(norm) && norm != 0.0;
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = *applied ? x[i] + step * g[i] / norm : x[i];
  return out;
}

void test_fgm(const std::vector<int64_t>& sizes, std::mt19937_64& rng) {
  const float epsilon = 0.75f;
  FloatList param = random_list(sizes, rng);
  FloatList grad = random_list(sizes, rng, 0.01f);
  if (sizes.size() > 2) {  // zero and non-finite gradients inside a list
    std::fill(grad.data[3].begin(), grad.data[3].end(), 0.0f);
    grad.data[5][0] = std::numeric_limits<float>::quiet_NaN();
    grad.data[6][0] = std::numeric_limits<float>::infinity();
  }
  FloatList ours = param;
  FloatList backup = random_list(sizes, rng);
  std::vector<float*> p = ours.pointers();
  std::vector<float*> b = backup.pointers();
  std::vector<float*> g = grad.pointers();
  std::vector<const float*> gc(g.begin(), g.end());
  std::vector<int32_t> applied(sizes.size(), -1);
  check_status(vidtag_fgm_perturb_cpu(p.data(), b.data(), gc.data(), param.numel.data(), param.count(),
                                      epsilon, applied.data()),
               VIDTAG_OK, "fgm_perturb");
  check(backup.data == param.data, "fgm_perturb " + describe(sizes) + " backs up every weight");
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    bool expect_applied = false;
    std::vector<double> ref = naive_step(param.data[t], grad.data[t], epsilon, &expect_applied);
    if (sizes[t] == 0) expect_applied = false;
    check(applied[t] == (expect_applied ? 1 : 0), "fgm_perturb applied flag, tensor " + std::to_string(t));
    check_close(ours.data[t], ref, 1e-6, "fgm_perturb " + describe(sizes) + " tensor " + std::to_string(t));
    if (!expect_applied) check(ours.data[t] == param.data[t], "fgm_perturb leaves tensor " + std::to_string(t));
  }
}

void test_pgd(const std::vector<int64_t>& sizes, std::mt19937_64& rng, float alpha, float epsilon) {
  const std::string name = "pgd_step " + describe(sizes) + " alpha " + std::to_string(alpha) +
                           " epsilon " + std::to_string(epsilon);
  FloatList backup = random_list(sizes, rng);
  FloatList grad = random_list(sizes, rng, 0.01f);
  if (sizes.size() > 2) {
    std::fill(grad.data[3].begin(), grad.data[3].end(), 0.0f);
    grad.data[5][0] = -std::numeric_limits<float>::infinity();
  }
  // Start from an earlier displacement so the projection sees accumulated steps.
  FloatList param = backup;
  for (auto& d : param.data) for (float& v : d) v += 0.3f * epsilon / std::sqrt(static_cast<float>(d.size()));
  FloatList ours = param;
  std::vector<float*> p = ours.pointers();
  std::vector<float*> b = backup.pointers();
  std::vector<const float*> bc(b.begin(), b.end());
  std::vector<float*> g = grad.pointers();
  std::vector<const float*> gc(g.begin(), g.end());
  std::vector<int32_t> applied(sizes.size(), -1);
  check_status(vidtag_pgd_step_cpu(p.data(), bc.data(), gc.data(), param.numel.data(), param.count(),
                                   alpha, epsilon, applied.data()),
               VIDTAG_OK, name);
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    bool expect_applied = false;
    std::vector<double> ref = naive_step(param.data[t], grad.data[t], alpha, &expect_applied);
    if (sizes[t] == 0) expect_applied = false;
    if (expect_applied) {
      double r2 = 0.0;
      for (std::size_t i = 0; i < ref.size(); ++i) r2 += (ref[i] - backup.data[t][i]) * (ref[i] - backup.data[t][i]);
      const double r = std::sqrt(r2);
      if (r > epsilon) {
        for (std::size_t i = 0; i < ref.size(); ++i) {
          ref[i] = backup.data[t][i] + epsilon * (ref[i] - backup.data[t][i]) / r;
        }
      }
    }
    check(applied[t] == (expect_applied ? 1 : 0), name + " applied flag, tensor " + std::to_string(t));
    check_close(ours.data[t], ref, 1e-6, name + " tensor " + std::to_string(t));
  }
}

void test_pgd_hand_computed() {
  // backup 0, param 0, grad (3, 4): step alpha * (0.6, 0.8); alpha 10 > epsilon 2 projects to (1.2, 1.6).
  std::vector<float> param = {0.0f, 0.0f};
  std::vector<float> backup = {0.0f, 0.0f};
  std::vector<float> grad = {3.0f, 4.0f};
  float* p[] = {param.data()};
  const float* b[] = {backup.data()};
  const float* g[] = {grad.data()};
  const int64_t numel[] = {2};
  check_status(vidtag_pgd_step_cpu(p, b, g, numel, 1, 10.0f, 2.0f, nullptr), VIDTAG_OK, "pgd hand");
  check(std::fabs(param[0] - 1.2f) < 1e-6f && std::fabs(param[1] - 1.6f) < 1e-6f,
        "pgd projects (6, 8) onto the radius-2 ball: (1.2, 1.6)");
  check_status(vidtag_pgd_step_cpu(p, b, g, numel, 1, 0.5f, 2.0f, nullptr), VIDTAG_OK, "pgd hand 2");
  check(std::fabs(param[0] - 1.2f) < 1e-6f && std::fabs(param[1] - 1.6f) < 1e-6f,
        "a further step along the same direction stays on the ball");
}

void test_invalid_arguments() {
  float value = 1.0f;
  float* one[] = {&value};
  const void* one_const[] = {&value};
  float* null_entry[] = {nullptr};
  const int64_t numel[] = {1};
  const int64_t negative[] = {-1};
  check_status(vidtag_ema_update_cpu(one, one_const, VIDTAG_FLOAT32, numel, -1, 0.9f),
               VIDTAG_ERR_INVALID_ARGUMENT, "negative count");
  check(std::strlen(vidtag_last_error()) > 0, "a failure leaves a message");
  check_status(vidtag_ema_update_cpu(nullptr, one_const, VIDTAG_FLOAT32, numel, 1, 0.9f),
               VIDTAG_ERR_INVALID_ARGUMENT, "null pointer array");
  check_status(vidtag_ema_update_cpu(null_entry, one_const, VIDTAG_FLOAT32, numel, 1, 0.9f),
               VIDTAG_ERR_INVALID_ARGUMENT, "null tensor pointer");
  check_status(vidtag_ema_update_cpu(one, one_const, VIDTAG_FLOAT32, negative, 1, 0.9f),
               VIDTAG_ERR_INVALID_ARGUMENT, "negative numel");
  check_status(vidtag_ema_update_cpu(one, one_const, 7, numel, 1, 0.9f), VIDTAG_ERR_INVALID_ARGUMENT,
               "unknown dtype");
  check_status(vidtag_swa_accumulate_cpu(one, one_const, VIDTAG_FLOAT32, numel, 1, -1),
               VIDTAG_ERR_INVALID_ARGUMENT, "negative n_averaged");
  check_status(vidtag_ema_update_cpu(nullptr, nullptr, VIDTAG_FLOAT32, nullptr, 0, 0.9f), VIDTAG_OK,
               "an empty list is a no-op");
  check(std::strlen(vidtag_last_error()) == 0, "success clears the message");
}

}  // namespace

int main() {
  std::mt19937_64 rng(20221);
  for (const auto& sizes : size_cases(rng)) {
    test_ema(sizes, rng);
    test_swap(sizes, rng);
    test_swa(sizes, rng);
    test_l2_norm(sizes, rng);
    test_copy_many(sizes, rng);
    test_fgm(sizes, rng);
    test_pgd(sizes, rng, 0.3f, 1.0f);   // the reference's setting: projection rarely active
    test_pgd(sizes, rng, 5.0f, 1.0f);   // projection active
  }
  test_swap_bf16();
  test_swa_bf16();
  test_l2_norm_hand_computed();
  test_pgd_hand_computed();
  test_invalid_arguments();
  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
