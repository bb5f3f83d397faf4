/*
 * oneDNN's convolutions for ghostdet's wasm kernels, through N-API.
 *
 * Tensors stay where tfjs-wasm keeps them: JavaScript hands over a view of
 * the wasm heap and byte offsets into it, and oneDNN reads and writes there
 * (NHWC activations, as tfjs lays them out). Filters are `[kh, kw, Cin/G,
 * Cout]` (oneDNN's hwio / hwigo); each call reorders them into the blocked
 * layout oneDNN chose for the shape, and filter gradients back.
 *
 * Primitives are built once per (OpenMP threads, pass, geometry) and kept
 * per thread, the least recently used dropped past kMaxCached: each training replica is its own worker thread, with its own
 * cache and its own OpenMP thread count (setThreads). Every offset and extent is checked
 * against the view before oneDNN touches memory.
 */
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

enum Pass { kForward = 0, kInputGrad = 1, kFilterGrad = 2 };

/* n, h, w, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, top, left, groups */
struct Geometry {
  int64_t n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, top, left, groups;
};

constexpr size_t kGeometryInts = 16;
/* Primitives kept per thread, least recently used dropped first: a detector step at one input size needs ~220, multi-scale training several sizes' worth. */
constexpr size_t kMaxCached = 1024;

struct Primitive {
  memory::desc src, dst, user_weights, weights;  // src/dst: x/y (forward), dx/dy, x/dy
  dnnl::primitive conv;
  dnnl::reorder weights_reorder;  // user → oneDNN's layout (forward, input gradient) or back (filter gradient)
  bool reorder = false;
  std::string impl;
  std::list<std::string>::iterator lru;  // this entry's place in ThreadState::order
};

struct ThreadState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unordered_map<std::string, std::unique_ptr<Primitive>> cache;
  std::list<std::string> order;  // keys, most recently used first
  uint64_t built = 0;             // primitives built on this thread, evicted ones included
  uint64_t runs = 0;              // passes run on this thread, so a caller can tell a conv went through oneDNN
  /* Filters in oneDNN's layout for the call running now: one buffer per thread, grown to the largest filter, rather than a copy per cached primitive. */
  std::vector<float> weights;
};

ThreadState &state() {
  static thread_local ThreadState s;
  return s;
}

std::string describe(const Geometry &g) {
  char buf[256];
  snprintf(buf, sizeof buf, "x [%lld, %lld, %lld, %lld], filter [%lld, %lld, %lld, %lld], stride %lldx%lld, dilation %lldx%lld, pad %lld/%lld, groups %lld → [%lld, %lld]",
           (long long)g.n, (long long)g.h, (long long)g.w, (long long)g.cin, (long long)g.kh, (long long)g.kw,
           (long long)(g.cin / (g.groups ? g.groups : 1)), (long long)g.cout, (long long)g.sh, (long long)g.sw,
           (long long)g.dh, (long long)g.dw, (long long)g.top, (long long)g.left, (long long)g.groups, (long long)g.oh,
           (long long)g.ow);
  return buf;
}

/* Empty when the geometry is one oneDNN can run, else what is wrong. */
std::string check(const Geometry &g) {
  const int64_t all[] = {g.n, g.h, g.w, g.cin, g.oh, g.ow, g.cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups};
  for (int64_t v : all) {
    if (v < 1 || v > (int64_t(1) << 30)) return "sizes, strides, dilations and groups must be whole numbers from 1 to 2^30";
  }
  if (g.top < 0 || g.left < 0 || g.top > g.kh * g.dh || g.left > g.kw * g.dw) return "padding out of range";
  if (g.cin % g.groups || g.cout % g.groups) return "channels are not a multiple of the groups";
  const int64_t bottom = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.top;
  const int64_t right = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.left;
  if (bottom <= -g.sh || right <= -g.sw || bottom > g.kh * g.dh || right > g.kw * g.dw) return "output size does not follow from the input, filter, stride and padding";
  return "";
}

memory::dims weight_dims(const Geometry &g) {
  if (g.groups == 1) return {g.cout, g.cin, g.kh, g.kw};
  return {g.groups, g.cout / g.groups, g.cin / g.groups, g.kh, g.kw};
}

/* Builds the primitive for one pass and geometry (the forward descriptor is the hint the gradients need). */
std::unique_ptr<Primitive> build(Pass pass, const Geometry &g, ThreadState &s) {
  const memory::dims src{g.n, g.cin, g.h, g.w}, dst{g.n, g.cout, g.oh, g.ow};
  const memory::dims strides{g.sh, g.sw}, dilation{g.dh - 1, g.dw - 1}, pad_l{g.top, g.left};
  // oneDNN wants the padding that reaches the last window; tfjs's valid/same leave up to stride−1 rows unread.
  const memory::dims pad_r{std::max<int64_t>(0, (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.top),
                           std::max<int64_t>(0, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.left)};
  const memory::desc x_md(src, dt::f32, tag::nhwc), y_md(dst, dt::f32, tag::nhwc);
  const memory::desc w_any(weight_dims(g), dt::f32, tag::any);
  const memory::desc w_user(weight_dims(g), dt::f32, g.groups == 1 ? tag::hwio : tag::hwigo);
  const auto algo = dnnl::algorithm::convolution_direct;
  auto fwd_pd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_md, w_any, y_md, strides, dilation, pad_l, pad_r),
      s.engine);
  auto p = std::make_unique<Primitive>();
  p->user_weights = w_user;
  if (pass == kForward) {
    p->src = x_md, p->dst = y_md, p->weights = fwd_pd.weights_desc();
    p->conv = dnnl::convolution_forward(fwd_pd);
    p->impl = fwd_pd.impl_info_str();
  } else if (pass == kInputGrad) {
    auto pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(algo, x_md, w_any, y_md, strides, dilation, pad_l, pad_r), s.engine, fwd_pd);
    p->src = x_md, p->dst = y_md, p->weights = pd.weights_desc();
    p->conv = dnnl::convolution_backward_data(pd);
    p->impl = pd.impl_info_str();
  } else {
    auto pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(algo, x_md, w_any, y_md, strides, dilation, pad_l, pad_r), s.engine, fwd_pd);
    p->src = x_md, p->dst = y_md, p->weights = pd.diff_weights_desc();
    p->conv = dnnl::convolution_backward_weights(pd);
    p->impl = pd.impl_info_str();
  }
  p->reorder = !(p->weights == p->user_weights);
  if (p->reorder) {
    p->weights_reorder = pass == kFilterGrad ? dnnl::reorder(dnnl::reorder::primitive_desc(s.engine, p->weights, s.engine, w_user))
                                             : dnnl::reorder(dnnl::reorder::primitive_desc(s.engine, w_user, s.engine, p->weights));
  }
  return p;
}

/* oneDNN splits a primitive's work for the thread count it was built at, and must run at that count: the key holds it. */
std::string key_of(Pass pass, const Geometry &g) {
  std::string k = std::to_string(omp_get_max_threads()) + ':' + char('0' + pass);
  const int64_t *v = &g.n;
  for (size_t i = 0; i < kGeometryInts; i++) k += ',' + std::to_string(v[i]);
  return k;
}

Primitive &primitive(Pass pass, const Geometry &g) {
  ThreadState &s = state();
  const std::string key = key_of(pass, g);
  auto it = s.cache.find(key);
  if (it != s.cache.end()) {
    s.order.splice(s.order.begin(), s.order, it->second->lru);
    return *it->second;
  }
  if (s.cache.size() >= kMaxCached) {
    s.cache.erase(s.order.back());
    s.order.pop_back();
  }
  auto p = build(pass, g, s);
  s.built++;
  s.order.push_front(key);
  p->lru = s.order.begin();
  return *(s.cache[key] = std::move(p));
}

/* Runs one pass; a, b, out are host pointers already checked against the heap view. */
void run(Pass pass, const Geometry &g, char *a, char *b, char *out) {
  Primitive &p = primitive(pass, g);
  ThreadState &s = state();
  dnnl::stream &st = s.stream;
  if (p.reorder) s.weights.resize(std::max(s.weights.size(), p.weights.get_size() / sizeof(float) + 1));
  if (pass == kFilterGrad) {
    memory x(p.src, s.engine, a), dy(p.dst, s.engine, b), dw_user(p.user_weights, s.engine, out);
    memory dw = p.reorder ? memory(p.weights, s.engine, s.weights.data()) : dw_user;
    p.conv.execute(st, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
    if (p.reorder) p.weights_reorder.execute(st, dw, dw_user);
  } else {
    memory w_user(p.user_weights, s.engine, b);
    memory w = p.reorder ? memory(p.weights, s.engine, s.weights.data()) : w_user;
    if (p.reorder) p.weights_reorder.execute(st, w_user, w);
    if (pass == kForward) {
      memory x(p.src, s.engine, a), y(p.dst, s.engine, out);
      p.conv.execute(st, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}});
    } else {
      memory dy(p.dst, s.engine, a), dx(p.src, s.engine, out);
      p.conv.execute(st, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
    }
  }
  st.wait();
  s.runs++;
}

/* ---- N-API ---- */

napi_value fail(napi_env env, const std::string &msg, bool type_error = false) {
  const std::string m = "ghostdet-dnnl: " + msg;
  if (type_error) napi_throw_type_error(env, nullptr, m.c_str());
  else napi_throw_error(env, nullptr, m.c_str());
  return nullptr;
}

bool get_int(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

bool get_pass(napi_env env, napi_value v, Pass *pass) {
  int64_t p;
  if (!get_int(env, v, &p) || p > kFilterGrad) return false;
  *pass = Pass(p);
  return true;
}

bool get_geometry(napi_env env, napi_value v, Geometry *g) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_int32_array || length != kGeometryInts) return false;
  const int32_t *ints = static_cast<const int32_t *>(data);
  int64_t *dst = &g->n;
  for (size_t i = 0; i < kGeometryInts; i++) dst[i] = ints[i];
  return true;
}

/* a·b·…, saturating at INT64_MAX: sizes up to 2^30 per axis overflow int64 when multiplied out. */
int64_t product(std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f != 0 && p > INT64_MAX / f) return INT64_MAX;
    p *= f;
  }
  return p;
}

/* Bytes of each tensor a pass reads or writes: a, b, out. */
std::array<int64_t, 3> extents(Pass pass, const Geometry &g) {
  const int64_t x = product({g.n, g.h, g.w, g.cin, 4}), y = product({g.n, g.oh, g.ow, g.cout, 4});
  const int64_t w = product({g.kh, g.kw, g.cin / g.groups, g.cout, 4});
  if (pass == kForward) return {x, w, y};
  if (pass == kInputGrad) return {y, w, x};
  return {x, y, w};
}

const char *kConvUsage = "conv(pass 0|1|2, heap: TypedArray, a, b, out: byte offsets, geometry: Int32Array(16))";

napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 6) return fail(env, kConvUsage, true);
  Pass pass;
  Geometry g;
  int64_t off[3];
  bool is = false;
  if (!get_pass(env, argv[0], &pass) || napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
      !get_int(env, argv[2], &off[0]) || !get_int(env, argv[3], &off[1]) || !get_int(env, argv[4], &off[2]) ||
      !get_geometry(env, argv[5], &g)) {
    return fail(env, kConvUsage, true);
  }
  const std::string bad = check(g);
  if (!bad.empty()) return fail(env, bad + ": " + describe(g));
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok || !data) return fail(env, kConvUsage, true);
  const int64_t item = type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array ? 8
                       : type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4
                       : type == napi_int16_array || type == napi_uint16_array ? 2 : 1;
  const int64_t bytes = int64_t(length) * item;
  const auto ext = extents(pass, g);
  for (int i = 0; i < 3; i++) {
    if (off[i] > bytes || ext[i] > bytes - off[i]) return fail(env, "a tensor runs past the end of the heap view: " + describe(g));
  }
  char *base = static_cast<char *>(data);
  try {
    run(pass, g, base + off[0], base + off[1], base + off[2]);
  } catch (const dnnl::error &e) {
    return fail(env, std::string("oneDNN: ") + e.what() + " (" + describe(g) + ")");
  } catch (const std::exception &e) {
    return fail(env, std::string(e.what()) + " (" + describe(g) + ")");
  }
  return nullptr;
}

napi_value Implementation(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Pass pass;
  Geometry g;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 2 || !get_pass(env, argv[0], &pass) ||
      !get_geometry(env, argv[1], &g)) {
    return fail(env, "implementation(pass 0|1|2, geometry: Int32Array(16))", true);
  }
  const std::string bad = check(g);
  if (!bad.empty()) return fail(env, bad + ": " + describe(g));
  try {
    napi_value s;
    const std::string impl = primitive(pass, g).impl;
    napi_create_string_utf8(env, impl.c_str(), impl.size(), &s);
    return s;
  } catch (const std::exception &e) {
    return fail(env, std::string(e.what()) + " (" + describe(g) + ")");
  }
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1 || !get_int(env, argv[0], &n) || n < 1 || n > 1024) {
    return fail(env, "setThreads(n: a whole number from 1 to 1024)", true);
  }
  omp_set_num_threads(int(n));  // per calling thread: each replica's worker sets its own
  return nullptr;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t *v = dnnl_version();
  const std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, s.c_str(), s.size(), &out);
  return out;
}

napi_value Cached(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_uint32(env, uint32_t(state().cache.size()), &out);
  return out;
}

napi_value Built(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_double(env, double(state().built), &out);
  return out;
}

napi_value Runs(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_double(env, double(state().runs), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"implementation", nullptr, Implementation, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"cached", nullptr, Cached, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"built", nullptr, Built, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"runs", nullptr, Runs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
