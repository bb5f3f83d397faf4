/*
 * The MPI calls ghostdet's `--launcher mpi` needs, for Node through N-API:
 * init, rank and size, in-place sum all-reduce, broadcast, gather of byte
 * strings to one rank, barrier, abort and finalize. Every call runs on
 * Node's main thread (MPI_THREAD_FUNNELED) and blocks it until the
 * collective completes, as the training step waits for its gradients anyway.
 */
#include <mpi.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAPI(call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "ghostdet-mpi: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value throw_mpi(napi_env env, const char *what, int code) {
  char msg[MPI_MAX_ERROR_STRING + 128];
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) strcpy(text, "unknown MPI error");
  snprintf(msg, sizeof msg, "ghostdet-mpi: %s failed: %s", what, text);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int is_initialized(void) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

static size_t item_size(napi_typedarray_type type) {
  switch (type) {
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
    case napi_float32_array: case napi_int32_array: case napi_uint32_array: return 4;
    case napi_int16_array: case napi_uint16_array: return 2;
    default: return 1;
  }
}

/* A call's arguments: a TypedArray, then (when `with_root`) a root rank. */
typedef struct {
  napi_typedarray_type type;
  void *data;
  size_t length; /* elements */
  int32_t root;
} Args;

/* Reads (array[, root]); on a wrong call throws a TypeError with `usage` and returns 0. */
static int read_args(napi_env env, napi_callback_info info, int with_root, const char *usage, Args *a) {
  size_t argc = 2;
  napi_value argv[2];
  bool is = false;
  napi_value buffer;
  size_t offset;
  a->root = 0;
  int ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= (size_t)(with_root ? 2 : 1) &&
           napi_is_typedarray(env, argv[0], &is) == napi_ok && is &&
           napi_get_typedarray_info(env, argv[0], &a->type, &a->length, &a->data, &buffer, &offset) == napi_ok &&
           (!with_root || napi_get_value_int32(env, argv[1], &a->root) == napi_ok);
  if (!ok) napi_throw_type_error(env, NULL, usage);
  return ok;
}

/* MPI counts are ints. */
static int fits_int(napi_env env, size_t n, const char *what) {
  if (n <= (size_t)0x7fffffff) return 1;
  napi_throw_range_error(env, NULL, what);
  return 0;
}

/* init() → { rank, size, threadLevel }. Safe to call twice. */
static napi_value Init(napi_env env, napi_callback_info info) {
  int provided = MPI_THREAD_FUNNELED;
  if (!is_initialized()) {
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Init_thread", rc);
    /* Errors come back as codes (then JS exceptions) instead of aborting the job inside MPI. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  } else {
    MPI_Query_thread(&provided);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value out, v;
  CHECK_NAPI(napi_create_object(env, &out));
  CHECK_NAPI(napi_create_int32(env, rank, &v));
  CHECK_NAPI(napi_set_named_property(env, out, "rank", v));
  CHECK_NAPI(napi_create_int32(env, size, &v));
  CHECK_NAPI(napi_set_named_property(env, out, "size", v));
  CHECK_NAPI(napi_create_int32(env, provided, &v));
  CHECK_NAPI(napi_set_named_property(env, out, "threadLevel", v));
  return out;
}

/* allreduceSum(Float32Array | Float64Array): element-wise sum over ranks, in place. */
static napi_value AllreduceSum(napi_env env, napi_callback_info info) {
  Args a;
  const char *usage = "ghostdet-mpi: allreduceSum takes a Float32Array or Float64Array";
  if (!read_args(env, info, 0, usage, &a)) return NULL;
  if (a.type != napi_float32_array && a.type != napi_float64_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (!fits_int(env, a.length, "ghostdet-mpi: allreduceSum of more than 2^31-1 elements")) return NULL;
  void *data = a.data;
  size_t length = a.length;
  napi_typedarray_type type = a.type;
  int rc = MPI_Allreduce(MPI_IN_PLACE, data, (int)length, type == napi_float32_array ? MPI_FLOAT : MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Allreduce", rc);
  return NULL;
}

/* broadcast(TypedArray, root): root's bytes into every rank's array (same length everywhere). */
static napi_value Broadcast(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 1, "ghostdet-mpi: broadcast takes a TypedArray and a root rank", &a)) return NULL;
  size_t bytes = a.length * item_size(a.type);
  int32_t root = a.root;
  char *p = (char *)a.data;
  /* MPI counts are ints: large arrays go in 1 GiB pieces. */
  const size_t piece = (size_t)1 << 30;
  for (size_t off = 0; off < bytes; off += piece) {
    size_t n = bytes - off < piece ? bytes - off : piece;
    int rc = MPI_Bcast(p + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Bcast", rc);
  }
  return NULL;
}

/* gatherBytes(Uint8Array, root) → on root an array of every rank's bytes, elsewhere null. */
static napi_value GatherBytes(napi_env env, napi_callback_info info) {
  Args a;
  const char *usage = "ghostdet-mpi: gatherBytes takes a Uint8Array and a root rank";
  if (!read_args(env, info, 1, usage, &a)) return NULL;
  if (a.type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (!fits_int(env, a.length, "ghostdet-mpi: gatherBytes of more than 2^31-1 bytes from one rank")) return NULL;
  void *data = a.data;
  size_t length = a.length;
  int32_t root = a.root;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int mine = (int)length;
  int *counts = rank == root ? calloc((size_t)size, sizeof(int)) : NULL;
  int rc = MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, root, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) { free(counts); return throw_mpi(env, "MPI_Gather", rc); }
  int *displs = NULL;
  char *all = NULL;
  long long total = 0;
  if (rank == root) {
    displs = calloc((size_t)size, sizeof(int));
    for (int i = 0; i < size; i++) { displs[i] = (int)total; total += counts[i]; }
    if (total > 0x7fffffff) {
      free(counts); free(displs);
      napi_throw_range_error(env, NULL, "ghostdet-mpi: gatherBytes of more than 2^31-1 bytes in all");
      return NULL;
    }
    all = malloc(total > 0 ? (size_t)total : 1);
  }
  rc = MPI_Gatherv(data, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, root, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) { free(counts); free(displs); free(all); return throw_mpi(env, "MPI_Gatherv", rc); }
  napi_value out;
  if (rank != root) {
    CHECK_NAPI(napi_get_null(env, &out));
    return out;
  }
  CHECK_NAPI(napi_create_array_with_length(env, (size_t)size, &out));
  for (int i = 0; i < size; i++) {
    napi_value buf, arr;
    void *dst;
    CHECK_NAPI(napi_create_arraybuffer(env, (size_t)counts[i], &dst, &buf));
    if (counts[i]) memcpy(dst, all + displs[i], (size_t)counts[i]);
    CHECK_NAPI(napi_create_typedarray(env, napi_uint8_array, (size_t)counts[i], buf, 0, &arr));
    CHECK_NAPI(napi_set_element(env, out, (uint32_t)i, arr));
  }
  free(counts); free(displs); free(all);
  return out;
}

static napi_value Barrier(napi_env env, napi_callback_info info) {
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Barrier", rc);
  return NULL;
}

/* abort(code): ends every rank of the job (mpirun reports this rank and code). */
static napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1) napi_get_value_int32(env, argv[0], &code);
  if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, code);
  return NULL;
}

/* finalize(): once, on every exit path; later calls do nothing. */
static napi_value Finalize(napi_env env, napi_callback_info info) {
  if (is_initialized()) MPI_Finalize();
  return NULL;
}

static napi_value Version(napi_env env, napi_callback_info info) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  napi_value out;
  CHECK_NAPI(napi_create_string_utf8(env, v, (size_t)len, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"init", NULL, Init, NULL, NULL, NULL, napi_default, NULL},
    {"allreduceSum", NULL, AllreduceSum, NULL, NULL, NULL, napi_default, NULL},
    {"broadcast", NULL, Broadcast, NULL, NULL, NULL, napi_default, NULL},
    {"gatherBytes", NULL, GatherBytes, NULL, NULL, NULL, napi_default, NULL},
    {"barrier", NULL, Barrier, NULL, NULL, NULL, napi_default, NULL},
    {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
    {"finalize", NULL, Finalize, NULL, NULL, NULL, napi_default, NULL},
    {"version", NULL, Version, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
