// Flowloop's native CPU kernels: an N-API addon that works in place on the float32
// buffers tfjs-wasm keeps in its heap (views passed from JS, no copies). Loaded lazily by core/tensor in
// the worker only; when it is missing, the pure wasm/JS kernels run instead.
//   sgemm      batched row-major GEMM through OpenBLAS (cblas_sgemm, 2 threads by default)
//   lsgFwd/Bwd fused log-softmax + gather of a label per row and its gradient (OpenMP over rows)
//   transpose  any-rank permutation;  colsum  sums over leading axes;  exp  vectorized elementwise e^x
//   lnFwd/Bwd  fused LayerNorm and its gradient;  adam, adam64  fused Adam (float32 / double arithmetic)
//   dropoutMask  tf.dropout's multiplier from seedrandom's alea stream
// Build: native/build.sh (g++ -O3 -fopenmp, links Debian's libopenblas).
#include <node_api.h>
#include <cblas.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>
#include <omp.h>

extern "C" void openblas_set_num_threads(int);

static int g_threads = 2;     // threads for large products (setThreads)
static int g_blasThreads = -1; // what OpenBLAS is set to now
// Products under ~200 MFLOP run on one thread: on a busy machine waking and joining a second thread
// costs more than it saves (a descheduled helper stalls the whole call; measured on 2 shared cores).
static void blasThreadsFor(double flops) {
  int want = flops >= 2e8 ? g_threads : 1;
  if (want != g_blasThreads) { openblas_set_num_threads(want); g_blasThreads = want; }
}

// The arguments of one call, unpacked with checks: the first bad one throws a JS error and clears `ok`
// (later reads return null/0 and throw nothing more), so a function reads all it needs, then returns if !ok.
struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value v[16];
  bool ok = true;
  Args(napi_env e, napi_callback_info info) : env(e) {
    if (napi_get_cb_info(env, info, &argc, v, nullptr, nullptr) != napi_ok) fail("flowloop_native: N-API call failed: napi_get_cb_info");
  }
  void fail(const char* msg) { if (ok) napi_throw_error(env, nullptr, msg); ok = false; }
  // ok unless `bad`, in which case a RangeError with `msg` is thrown
  bool sizes(bool bad, const char* msg) { if (ok && bad) { napi_throw_range_error(env, nullptr, msg); ok = false; } return ok; }
  template <class T> T* view(size_t i, napi_typedarray_type want, size_t* n, const char* msg) {
    napi_typedarray_type t; napi_value ab; size_t off; void* p = nullptr;
    *n = 0;
    if (ok && (i >= argc || napi_get_typedarray_info(env, v[i], &t, n, &p, &ab, &off) != napi_ok || t != want)) {
      napi_throw_type_error(env, nullptr, msg); ok = false;
    }
    return ok ? (T*)p : nullptr;
  }
  float* f32(size_t i, size_t* n) { return view<float>(i, napi_float32_array, n, "flowloop_native: expected a Float32Array"); }
  int32_t* i32(size_t i, size_t* n) { return view<int32_t>(i, napi_int32_array, n, "flowloop_native: expected an Int32Array"); }
  int64_t num(size_t i) { int64_t x = 0; if (i < argc) napi_get_value_int64(env, v[i], &x); return x; }
  double dbl(size_t i) { double x = 0; if (i < argc) napi_get_value_double(env, v[i], &x); return x; }
  bool flag(size_t i) { bool x = false; if (i < argc) napi_get_value_bool(env, v[i], &x); return x; }
};

// e^x in float32 (Cephes expf: Cody-Waite reduction + degree-5 polynomial, rel. error ~1e-7), written so
// that gcc vectorizes it (no libm call); inputs clamped to [-87.3, 88.3] (e^-87.3 ~ 1e-38 stands for 0).
static inline float fexp(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  float fi = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - fi * 0.693359375f + fi * 2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = ((int32_t)fi + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, 4);
  return p * scale;
}

// sgemm(transA, transB, M, N, K, A, B, C, batch, batchA, batchB): C[i] = op(A[i]) op(B[i]) for i < batch,
// row-major; op(A) is M x K, op(B) is K x N; an operand with batch 1 is broadcast.
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok && a.argc != 11) a.fail("sgemm: 11 arguments");
  bool ta = a.flag(0), tb = a.flag(1);
  int64_t M = a.num(2), N = a.num(3), K = a.num(4);
  size_t nA, nB, nC;
  float *A = a.f32(5, &nA), *B = a.f32(6, &nB), *C = a.f32(7, &nC);
  int64_t batch = a.num(8), bA = a.num(9), bB = a.num(10);
  if (!a.sizes((size_t)(bA * M * K) > nA || (size_t)(bB * K * N) > nB || (size_t)(batch * M * N) > nC, "sgemm: buffers smaller than the shapes"))
    return nullptr;
  blasThreadsFor(2.0 * (double)M * (double)N * (double)K);  // per product (batched ones are each small)
  for (int64_t i = 0; i < batch; i++) {
    const float* Ai = A + (bA == 1 ? 0 : i * M * K);
    const float* Bi = B + (bB == 1 ? 0 : i * K * N);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                Ai, ta ? (int)M : (int)K, Bi, tb ? (int)K : (int)N, 0.0f, C + i * M * N, (int)N);
  }
  return nullptr;
}

// lsgFwd(x, labels, N, V, K, logp, lse): lse[n] = logsumexp(x[n,:]); logp[n,k] = x[n,y[n,k]] - lse[n]
// (0 where y is outside [0,V)): K labels per row share one softmax pass.
static napi_value LsgFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx, ny, n1, n2;
  float *x = a.f32(0, &nx), *logp = a.f32(5, &n1), *lse = a.f32(6, &n2);
  int32_t* y = a.i32(1, &ny);
  int64_t N = a.num(2), V = a.num(3), K = a.num(4);
  if (!a.sizes((size_t)(N * V) > nx || (size_t)(N * K) > ny || (size_t)(N * K) > n1 || (size_t)N > n2, "lsgFwd: sizes")) return nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; n++) {
    const float* r = x + n * V;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t v = 0; v < V; v++) m = r[v] > m ? r[v] : m;
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t v = 0; v < V; v++) s += fexp(r[v] - m);
    float l = m + logf(s);
    lse[n] = l;
    for (int64_t k = 0; k < K; k++) {
      int32_t t = y[n * K + k];
      logp[n * K + k] = (t >= 0 && t < V) ? r[t] - l : 0.f;
    }
  }
  return nullptr;
}

// lsgBwd(x, labels, lse, dlogp, dlse, N, V, K, dx): dx = (dlse - sum_k g_k) * exp(x - lse) + sum_k g_k * onehot(y_k),
// g_k = dlogp[n,k] (0 for invalid y).
static napi_value LsgBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx, ny, n1, n2, n3, n4;
  float *x = a.f32(0, &nx), *lse = a.f32(2, &n1), *dlogp = a.f32(3, &n2), *dlse = a.f32(4, &n3), *dx = a.f32(8, &n4);
  int32_t* y = a.i32(1, &ny);
  int64_t N = a.num(5), V = a.num(6), K = a.num(7);
  if (!a.sizes((size_t)(N * V) > nx || (size_t)(N * V) > n4 || (size_t)(N * K) > ny || (size_t)(N * K) > n2, "lsgBwd: sizes")) return nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; n++) {
    const float* r = x + n * V;
    float* o = dx + n * V;
    float gs = 0.f;
    for (int64_t k = 0; k < K; k++) { int32_t t = y[n * K + k]; if (t >= 0 && t < V) gs += dlogp[n * K + k]; }
    float c = dlse[n] - gs, l = lse[n];
    if (c == 0.f) std::memset(o, 0, sizeof(float) * V);
    else {
#pragma omp simd
      for (int64_t v = 0; v < V; v++) o[v] = c * fexp(r[v] - l);
    }
    for (int64_t k = 0; k < K; k++) { int32_t t = y[n * K + k]; if (t >= 0 && t < V) o[t] += dlogp[n * K + k]; }
  }
  return nullptr;
}

// transpose(x, shape Int32Array, perm Int32Array, out): out = x.transpose(perm), any rank <= 8.
static napi_value Transpose(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx, nr, np, no;
  float *x = a.f32(0, &nx), *out = a.f32(3, &no);
  int32_t *shape = a.i32(1, &nr), *perm = a.i32(2, &np);
  if (!a.sizes(nr != np || nr > 8 || nr == 0, "transpose: rank 1..8, perm of the same rank")) return nullptr;
  int R = (int)nr;
  int64_t inStride[8], outShape[8], srcStride[8], total = 1;
  inStride[R - 1] = 1;
  for (int i = R - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * shape[i + 1];
  for (int i = 0; i < R; i++) { outShape[i] = shape[perm[i]]; srcStride[i] = inStride[perm[i]]; total *= outShape[i]; }
  if (!a.sizes((size_t)total > nx || (size_t)total > no, "transpose: sizes")) return nullptr;
  // iterate the output in order; the innermost output axis walks the input with srcStride[R-1]
  int64_t inner = outShape[R - 1], innerStride = srcStride[R - 1];
  int64_t outer = inner ? total / inner : 0;
// (single-threaded: memory-bound, and OpenMP threads would compete with OpenBLAS's)
  for (int64_t o = 0; o < outer; o++) {
    int64_t rem = o, src = 0;
    for (int i = R - 2; i >= 0; i--) { int64_t idx = rem % outShape[i]; rem /= outShape[i]; src += idx * srcStride[i]; }
    float* dst = out + o * inner;
    const float* s = x + src;
    for (int64_t j = 0; j < inner; j++) dst[j] = s[j * innerStride];
  }
  return nullptr;
}

// exp(x, out): out = e^x elementwise, vectorized; inputs outside [-87.3, 88.3] (and NaN) recomputed by expf
// so that underflow to 0/denormals, overflow to inf and NaN match the C library.
static napi_value Exp(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx, no;
  float *x = a.f32(0, &nx), *out = a.f32(1, &no);
  if (!a.sizes(no < nx, "exp: sizes")) return nullptr;
  const int64_t n = (int64_t)nx;
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    out[i] = fexp(v);
    bad |= !(v >= -87.3f && v <= 88.3f);
  }
  if (bad)
    for (int64_t i = 0; i < n; i++)
      if (!(x[i] >= -87.3f && x[i] <= 88.3f)) out[i] = expf(x[i]);
  return nullptr;
}

// lnFwd(x, g, b, R, C, eps, y, mean, rstd) / lnBwd(x, g, mean, rstd, dy, R, C, dx, dg, db): fused LayerNorm over
// rows of C (formulas in core/tensor/kernels/layerNorm.ts).
static napi_value LnFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n0, n1, n2, n6, n7, n8;
  float *x = a.f32(0, &n0), *g = a.f32(1, &n1), *b = a.f32(2, &n2), *y = a.f32(6, &n6), *mean = a.f32(7, &n7), *rstd = a.f32(8, &n8);
  int64_t R = a.num(3), C = a.num(4);
  float eps = (float)a.dbl(5);
  if (!a.sizes((size_t)(R * C) > n0 || (size_t)(R * C) > n6 || (size_t)C > n1 || (size_t)C > n2 || (size_t)R > n7 || (size_t)R > n8, "lnFwd: sizes"))
    return nullptr;
  for (int64_t r = 0; r < R; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; c++) s += xr[c];
    float m = s / (float)C, v = 0.f;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < C; c++) { float d = xr[c] - m; v += d * d; }
    float rs = 1.f / std::sqrt(v / (float)C + eps);
    mean[r] = m; rstd[r] = rs;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * rs * g[c] + b[c];
  }
  return nullptr;
}

static napi_value LnBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n0, n1, n2, n3, n4, n7, n8, n9;
  float *x = a.f32(0, &n0), *g = a.f32(1, &n1), *mean = a.f32(2, &n2), *rstd = a.f32(3, &n3), *dy = a.f32(4, &n4);
  float *dx = a.f32(7, &n7), *dg = a.f32(8, &n8), *db = a.f32(9, &n9);
  int64_t R = a.num(5), C = a.num(6);
  if (!a.sizes((size_t)(R * C) > n0 || (size_t)(R * C) > n4 || (size_t)(R * C) > n7 || (size_t)C > n1 || (size_t)C > n8 || (size_t)C > n9 ||
                   (size_t)R > n2 || (size_t)R > n3,
               "lnBwd: sizes"))
    return nullptr;
  std::memset(dg, 0, sizeof(float) * C);
  std::memset(db, 0, sizeof(float) * C);
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * C, *dyr = dy + r * C;
    float* dxr = dx + r * C;
    const float m = mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
#pragma omp simd reduction(+ : s1, s2)
    for (int64_t c = 0; c < C; c++) {
      float xh = (xr[c] - m) * rs, d = dyr[c], dxh = d * g[c];
      s1 += dxh; s2 += dxh * xh;
      dg[c] += d * xh; db[c] += d;
    }
    s1 /= (float)C; s2 /= (float)C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      float xh = (xr[c] - m) * rs;
      dxr[c] = rs * (dyr[c] * g[c] - s1 - xh * s2);
    }
  }
  return nullptr;
}

// The arguments both Adam updates share: x, g, m, v, xo, mo, vo (n = x's length, the others at least as long),
// then lr, b1, b2, eps, wd, dwd; `last` is the argument after them (step, or c1 and c2).
struct AdamArgs {
  float *x, *g, *m, *v, *xo, *mo, *vo;
  int64_t n;
  double lr, b1, b2, eps, wd, dwd;
  bool read(Args& a, const char* msg) {
    size_t n0, n1, n2, n3, n4, n5, n6;
    x = a.f32(0, &n0); g = a.f32(1, &n1); m = a.f32(2, &n2); v = a.f32(3, &n3); xo = a.f32(4, &n4); mo = a.f32(5, &n5); vo = a.f32(6, &n6);
    n = (int64_t)n0;
    lr = a.dbl(7); b1 = a.dbl(8); b2 = a.dbl(9); eps = a.dbl(10); wd = a.dbl(11); dwd = a.dbl(12);
    return a.sizes(n1 < n0 || n2 < n0 || n3 < n0 || n4 < n0 || n5 < n0 || n6 < n0, msg);
  }
};

// adam(x, g, m, v, xo, mo, vo, lr, b1, b2, eps, wd, dwd, step): one fused Adam update (kernels/adam.ts formula).
static napi_value Adam(napi_env env, napi_callback_info info) {
  Args a(env, info);
  AdamArgs p;
  if (!p.read(a, "adam: sizes")) return nullptr;
  const double step = a.dbl(13);
  float *x = p.x, *g = p.g, *m = p.m, *v = p.v, *xo = p.xo, *mo = p.mo, *vo = p.vo;
  const float c1 = (float)(1.0 / (1.0 - std::pow(p.b1, step))), c2 = (float)(1.0 / (1.0 - std::pow(p.b2, step)));
  const float flr = (float)p.lr, fb1 = (float)p.b1, fb2 = (float)p.b2, feps = (float)p.eps, fwd = (float)p.wd, fdwd = (float)p.dwd;
  const int64_t n = p.n;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float xi = x[i], gi = g[i] + fwd * xi;
    float mi = fb1 * m[i] + (1.f - fb1) * gi;
    float vi = fb2 * v[i] + (1.f - fb2) * gi * gi;
    mo[i] = mi; vo[i] = vi;
    xo[i] = xi - (flr * mi * c1) / (std::sqrt(vi * c2) + feps) - flr * fdwd * xi;
  }
  return nullptr;
}

// adam64(x, g, m, v, xo, mo, vo, lr, b1, b2, eps, wd, dwd, c1, c2): the update of kernels/adam.ts `adamUpdate`
// in double arithmetic, operation for operation and in its order (c1, c2 = its bias corrections, computed in JS),
// so the float32 results equal the JS loop's bit for bit (doubles are IEEE in C++ and JS alike; no FMA
// contraction: ISO C++ mode and a baseline x86-64 target).
static napi_value Adam64(napi_env env, napi_callback_info info) {
  Args a(env, info);
  AdamArgs p;
  if (!p.read(a, "adam64: sizes")) return nullptr;
  const double c1 = a.dbl(13), c2 = a.dbl(14), lr = p.lr, b1 = p.b1, b2 = p.b2, eps = p.eps, wd = p.wd, dwd = p.dwd;
  const float *x = p.x, *g = p.g, *m = p.m, *v = p.v;
  float *xo = p.xo, *mo = p.mo, *vo = p.vo;
  const int64_t n = p.n;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const double xi = x[i];
    const double gi = g[i] + wd * xi;
    const double mi = b1 * m[i] + (1 - b1) * gi;
    const double vi = b2 * v[i] + (1 - b2) * gi * gi;
    mo[i] = (float)mi;
    vo[i] = (float)vi;
    xo[i] = (float)(xi - (lr * mi * c1) / (std::sqrt(vi * c2) + eps) - lr * dwd * xi);
  }
  return nullptr;
}

// dropoutMask(out, c, x0, x1, x2, keep): tf.dropout's multiplier floor(u + keep) / keep (float32 arithmetic) from
// seedrandom's alea generator, state seeded in JS (kernels/dropoutMask.ts) and given as integers (s = x / 2^32).
// Alea's double recurrence t = 2091639 s0 + c 2^-32, c = floor(t), s = t - c is exact, so it is the 64-bit
// multiply-with-carry p = 2091639 x0 + c, c = p >> 32, x = p mod 2^32: same stream, and its serial chain is an
// integer add and shift instead of double<->int conversions.
static napi_value DropoutMask(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  float* out = a.f32(0, &n);
  uint64_t c = (uint64_t)a.num(1);
  uint64_t x0 = (uint64_t)a.num(2), x1 = (uint64_t)a.num(3), x2 = (uint64_t)a.num(4);
  const float keep = (float)a.dbl(5);
  if (!a.sizes(c >= 2091639 || x0 >> 32 || x1 >> 32 || x2 >> 32 || !(keep > 0.f && keep <= 1.f), "dropoutMask: state or keep out of range"))
    return nullptr;
  const float kept = 1.f / keep;
  for (size_t i = 0; i < n; i++) {
    const uint64_t p = 2091639ull * x0 + c;
    c = p >> 32;
    x0 = x1;
    x1 = x2;
    x2 = p & 0xffffffffull;
    const float u = (float)((double)x2 * 2.3283064365386963e-10);  // float32(s), as tf.randomUniform stores it
    out[i] = u + keep >= 1.f ? kept : 0.f;
  }
  return nullptr;
}

// colsum(x, R, C, out): out[c] = sum_r x[r*C + c] (reductions over leading axes), in row order.
static napi_value ColSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx, no;
  float *x = a.f32(0, &nx), *out = a.f32(3, &no);
  int64_t R = a.num(1), C = a.num(2);
  if (!a.sizes((size_t)(R * C) > nx || (size_t)C > no, "colsum: sizes")) return nullptr;
  std::memset(out, 0, sizeof(float) * C);
  for (int64_t r = 0; r < R; r++) {
    const float* row = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) out[c] += row[c];
  }
  return nullptr;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int n = (int)a.num(0);
  if (n < 1) n = 1;
  g_threads = n;
  g_blasThreads = n;
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
  return nullptr;
}

static napi_value Init(napi_env env, napi_value exports) {
  const std::pair<const char*, napi_callback> fns[] = {
      {"sgemm", Sgemm}, {"lsgFwd", LsgFwd}, {"lsgBwd", LsgBwd}, {"transpose", Transpose}, {"exp", Exp}, {"lnFwd", LnFwd},
      {"lnBwd", LnBwd}, {"adam", Adam}, {"adam64", Adam64}, {"colsum", ColSum}, {"dropoutMask", DropoutMask},
      {"setThreads", SetThreads}};
  const size_t nf = sizeof(fns) / sizeof(fns[0]);
  napi_property_descriptor d[nf];
  for (size_t i = 0; i < nf; i++) d[i] = {fns[i].first, nullptr, fns[i].second, nullptr, nullptr, nullptr, napi_default, nullptr};
  napi_define_properties(env, exports, nf, d);
  napi_value version;
  napi_create_int32(env, 2, &version);  // bump when a signature changes (core/tensor/native.ts checks it)
  napi_set_named_property(env, exports, "version", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
