/* Compiled kernels of livetrace.analysis: the rolling statistics (_stats.py) and the Schmitt
 * edge detector of the frequency counter and the triggers (_trigger_core.py).
 *
 * Statistics: for consecutive blocks of real samples (float32 or float64), each block's mean of
 * (x - k), M2 = sum((x - k - mean)^2) (two passes) and exact min and max. Sums use eight lanes
 * in a fixed order, so a block's result depends only on its samples (never on where they sit
 * in memory or how the stream was chunked). NaN and inf follow numpy: any NaN makes min, max,
 * mean and M2 NaN; inf gives inf/NaN as IEEE arithmetic does.
 *
 * Calls on large arrays run without the GIL. Built as an optional extension: without it
 * livetrace uses its numpy implementations, which give the same results.
 */
#define PY_SSIZE_T_CLEAN
/* What the Python side expects of this module (_compiled.py checks it): raise it with any change
 * of the functions' signatures or meaning, so that a stale build is not used. */
#define KERNELS_API 1
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double mean, m2, min, max;
} summary;

/* The GIL is released around work on at least this many samples (a few microseconds): for less,
 * handing the interpreter to another thread and waiting to get it back costs more than it lets
 * run in parallel. */
#define RELEASE_GIL_FROM 16384
#define BEGIN_WORK(n)                                                                         \
    PyThreadState *_save = (n) >= RELEASE_GIL_FROM ? PyEval_SaveThread() : NULL;
#define END_WORK()                                                                            \
    if (_save != NULL) {                                                                      \
        PyEval_RestoreThread(_save);                                                          \
    }

/* The sums of a block go to eight lanes: sample i is added to lane i % 8, in order, and the lanes
 * are combined as ((0+1)+(2+3))+((4+5)+(6+7)). Every implementation below (SSE2, AVX2, plain C)
 * keeps exactly that arithmetic, so they give the same bits. Each provides, for the first m
 * samples (m a multiple of 8): pass 1, the lane sums of x - k and the min and max; pass 2, the
 * lane sums of (x - k - mean)^2. One driver adds the remainder and the NaN rule. */
typedef void (*pass1_f32)(const float *, Py_ssize_t, double, double *, double *, double *);
typedef void (*pass2_f32)(const float *, Py_ssize_t, double, double, double *);
typedef void (*pass1_f64)(const double *, Py_ssize_t, double, double *, double *, double *);
typedef void (*pass2_f64)(const double *, Py_ssize_t, double, double, double *);

static double
sum8(const double *s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* min and max of `count` lane values (given as doubles) */
static void
lanes_minmax(const double *lo, const double *hi, int count, double *mn, double *mx)
{
    *mn = lo[0];
    *mx = hi[0];
    for (int j = 1; j < count; j++) {
        *mn = lo[j] < *mn ? lo[j] : *mn;
        *mx = hi[j] > *mx ? hi[j] : *mx;
    }
}

/* plain C, for any CPU */
#define DEFINE_PLAIN(P1, P2, T)                                                               \
    static void P1(const T *x, Py_ssize_t m, double k, double *s, double *mn, double *mx)     \
    {                                                                                         \
        double lo = INFINITY, hi = -INFINITY;                                                 \
        for (int j = 0; j < 8; j++) {                                                         \
            s[j] = 0.0;                                                                       \
        }                                                                                     \
        for (Py_ssize_t i = 0; i < m; i += 8) {                                               \
            for (int j = 0; j < 8; j++) {                                                     \
                double a = (double)x[i + j];                                                  \
                s[j] += a - k;                                                                \
                lo = a < lo ? a : lo;                                                         \
                hi = a > hi ? a : hi;                                                         \
            }                                                                                 \
        }                                                                                     \
        *mn = lo;                                                                             \
        *mx = hi;                                                                             \
    }                                                                                         \
    static void P2(const T *x, Py_ssize_t m, double k, double mean, double *q)                \
    {                                                                                         \
        for (int j = 0; j < 8; j++) {                                                         \
            q[j] = 0.0;                                                                       \
        }                                                                                     \
        for (Py_ssize_t i = 0; i < m; i += 8) {                                               \
            for (int j = 0; j < 8; j++) {                                                     \
                double d = ((double)x[i + j] - k) - mean;                                     \
                q[j] += d * d;                                                                \
            }                                                                                 \
        }                                                                                     \
    }

DEFINE_PLAIN(plain1_f32, plain2_f32, float)
DEFINE_PLAIN(plain1_f64, plain2_f64, double)

static pass1_f32 p1_f32 = plain1_f32;
static pass2_f32 p2_f32 = plain2_f32;
static pass1_f64 p1_f64 = plain1_f64;
static pass2_f64 p2_f64 = plain2_f64;

#if (defined(__SSE2__) || defined(_M_X64)) && !defined(LT_PORTABLE)
#include <emmintrin.h>
#define LT_SSE2 1

/* SSE2: lanes 0-1, 2-3, 4-5, 6-7 in four registers of two doubles */
static void
sse2_1_f32(const float *x, Py_ssize_t m, double k, double *s, double *mn, double *mx)
{
    __m128d kk = _mm_set1_pd(k), s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    __m128 lo = _mm_set1_ps(INFINITY), hi = _mm_set1_ps(-INFINITY);
    float l4[4], h4[4];
    double ld[4], hd[4];
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
        lo = _mm_min_ps(lo, _mm_min_ps(a, b));
        hi = _mm_max_ps(hi, _mm_max_ps(a, b));
        s0 = _mm_add_pd(s0, _mm_sub_pd(_mm_cvtps_pd(a), kk));
        s1 = _mm_add_pd(s1, _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(a, a)), kk));
        s2 = _mm_add_pd(s2, _mm_sub_pd(_mm_cvtps_pd(b), kk));
        s3 = _mm_add_pd(s3, _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(b, b)), kk));
    }
    _mm_storeu_pd(s, s0);
    _mm_storeu_pd(s + 2, s1);
    _mm_storeu_pd(s + 4, s2);
    _mm_storeu_pd(s + 6, s3);
    _mm_storeu_ps(l4, lo);
    _mm_storeu_ps(h4, hi);
    for (int j = 0; j < 4; j++) {
        ld[j] = l4[j];
        hd[j] = h4[j];
    }
    lanes_minmax(ld, hd, 4, mn, mx);
}

static void
sse2_2_f32(const float *x, Py_ssize_t m, double k, double mean, double *q)
{
    __m128d kk = _mm_set1_pd(k), cm = _mm_set1_pd(mean);
    __m128d s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
        __m128d d0 = _mm_sub_pd(_mm_sub_pd(_mm_cvtps_pd(a), kk), cm);
        __m128d d1 = _mm_sub_pd(_mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(a, a)), kk), cm);
        __m128d d2 = _mm_sub_pd(_mm_sub_pd(_mm_cvtps_pd(b), kk), cm);
        __m128d d3 = _mm_sub_pd(_mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(b, b)), kk), cm);
        s0 = _mm_add_pd(s0, _mm_mul_pd(d0, d0));
        s1 = _mm_add_pd(s1, _mm_mul_pd(d1, d1));
        s2 = _mm_add_pd(s2, _mm_mul_pd(d2, d2));
        s3 = _mm_add_pd(s3, _mm_mul_pd(d3, d3));
    }
    _mm_storeu_pd(q, s0);
    _mm_storeu_pd(q + 2, s1);
    _mm_storeu_pd(q + 4, s2);
    _mm_storeu_pd(q + 6, s3);
}

static void
sse2_1_f64(const double *x, Py_ssize_t m, double k, double *s, double *mn, double *mx)
{
    __m128d kk = _mm_set1_pd(k), s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    __m128d lo = _mm_set1_pd(INFINITY), hi = _mm_set1_pd(-INFINITY), lo2 = lo, hi2 = hi;
    double ld[4], hd[4];
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m128d a = _mm_loadu_pd(x + i), b = _mm_loadu_pd(x + i + 2);
        __m128d c = _mm_loadu_pd(x + i + 4), d = _mm_loadu_pd(x + i + 6);
        lo = _mm_min_pd(lo, _mm_min_pd(a, b));
        hi = _mm_max_pd(hi, _mm_max_pd(a, b));
        lo2 = _mm_min_pd(lo2, _mm_min_pd(c, d));
        hi2 = _mm_max_pd(hi2, _mm_max_pd(c, d));
        s0 = _mm_add_pd(s0, _mm_sub_pd(a, kk));
        s1 = _mm_add_pd(s1, _mm_sub_pd(b, kk));
        s2 = _mm_add_pd(s2, _mm_sub_pd(c, kk));
        s3 = _mm_add_pd(s3, _mm_sub_pd(d, kk));
    }
    _mm_storeu_pd(s, s0);
    _mm_storeu_pd(s + 2, s1);
    _mm_storeu_pd(s + 4, s2);
    _mm_storeu_pd(s + 6, s3);
    _mm_storeu_pd(ld, lo);
    _mm_storeu_pd(ld + 2, lo2);
    _mm_storeu_pd(hd, hi);
    _mm_storeu_pd(hd + 2, hi2);
    lanes_minmax(ld, hd, 4, mn, mx);
}

static void
sse2_2_f64(const double *x, Py_ssize_t m, double k, double mean, double *q)
{
    __m128d kk = _mm_set1_pd(k), cm = _mm_set1_pd(mean);
    __m128d s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m128d d0 = _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(x + i), kk), cm);
        __m128d d1 = _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(x + i + 2), kk), cm);
        __m128d d2 = _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(x + i + 4), kk), cm);
        __m128d d3 = _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(x + i + 6), kk), cm);
        s0 = _mm_add_pd(s0, _mm_mul_pd(d0, d0));
        s1 = _mm_add_pd(s1, _mm_mul_pd(d1, d1));
        s2 = _mm_add_pd(s2, _mm_mul_pd(d2, d2));
        s3 = _mm_add_pd(s3, _mm_mul_pd(d3, d3));
    }
    _mm_storeu_pd(q, s0);
    _mm_storeu_pd(q + 2, s1);
    _mm_storeu_pd(q + 4, s2);
    _mm_storeu_pd(q + 6, s3);
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
/* AVX2, chosen at import when the CPU has it: lanes 0-3 and 4-7 in two registers */
#include <immintrin.h>
#define LT_AVX2 1

__attribute__((target("avx2"))) static void
avx2_1_f32(const float *x, Py_ssize_t m, double k, double *s, double *mn, double *mx)
{
    __m256d kk = _mm256_set1_pd(k), s0 = _mm256_setzero_pd(), s1 = s0;
    __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
    float l8[8], h8[8];
    double ld[8], hd[8];
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m256 a = _mm256_loadu_ps(x + i);
        lo = _mm256_min_ps(lo, a);
        hi = _mm256_max_ps(hi, a);
        s0 = _mm256_add_pd(s0, _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), kk));
        s1 = _mm256_add_pd(s1, _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), kk));
    }
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    _mm256_storeu_ps(l8, lo);
    _mm256_storeu_ps(h8, hi);
    for (int j = 0; j < 8; j++) {
        ld[j] = l8[j];
        hd[j] = h8[j];
    }
    lanes_minmax(ld, hd, 8, mn, mx);
}

__attribute__((target("avx2"))) static void
avx2_2_f32(const float *x, Py_ssize_t m, double k, double mean, double *q)
{
    __m256d kk = _mm256_set1_pd(k), cm = _mm256_set1_pd(mean);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m256 a = _mm256_loadu_ps(x + i);
        __m256d d0 =
            _mm256_sub_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), kk), cm);
        __m256d d1 =
            _mm256_sub_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), kk), cm);
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(d0, d0));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(d1, d1));
    }
    _mm256_storeu_pd(q, s0);
    _mm256_storeu_pd(q + 4, s1);
}

__attribute__((target("avx2"))) static void
avx2_1_f64(const double *x, Py_ssize_t m, double k, double *s, double *mn, double *mx)
{
    __m256d kk = _mm256_set1_pd(k), s0 = _mm256_setzero_pd(), s1 = s0;
    __m256d lo = _mm256_set1_pd(INFINITY), hi = _mm256_set1_pd(-INFINITY);
    double ld[4], hd[4];
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m256d a = _mm256_loadu_pd(x + i), b = _mm256_loadu_pd(x + i + 4);
        lo = _mm256_min_pd(lo, _mm256_min_pd(a, b));
        hi = _mm256_max_pd(hi, _mm256_max_pd(a, b));
        s0 = _mm256_add_pd(s0, _mm256_sub_pd(a, kk));
        s1 = _mm256_add_pd(s1, _mm256_sub_pd(b, kk));
    }
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    _mm256_storeu_pd(ld, lo);
    _mm256_storeu_pd(hd, hi);
    lanes_minmax(ld, hd, 4, mn, mx);
}

__attribute__((target("avx2"))) static void
avx2_2_f64(const double *x, Py_ssize_t m, double k, double mean, double *q)
{
    __m256d kk = _mm256_set1_pd(k), cm = _mm256_set1_pd(mean);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    for (Py_ssize_t i = 0; i < m; i += 8) {
        __m256d d0 = _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i), kk), cm);
        __m256d d1 = _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i + 4), kk), cm);
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(d0, d0));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(d1, d1));
    }
    _mm256_storeu_pd(q, s0);
    _mm256_storeu_pd(q + 4, s1);
}
#endif /* AVX2 */
#endif /* SSE2 */

/* One block: the lanes of the first multiple of 8 samples, the rest added to lane 0's total in
 * order, then numpy's NaN rule for min/max. */
#define DEFINE_SUMMARY(NAME, T, P1, P2)                                                       \
    static void NAME(const T *x, Py_ssize_t n, double k, summary *out)                        \
    {                                                                                         \
        double s[8], q[8], mn, mx, tail = 0.0, tq = 0.0;                                      \
        Py_ssize_t i, m = n - n % 8;                                                          \
        P1(x, m, k, s, &mn, &mx);                                                             \
        for (i = m; i < n; i++) {                                                             \
            double a = (double)x[i];                                                          \
            tail += a - k;                                                                    \
            mn = a < mn ? a : mn;                                                             \
            mx = a > mx ? a : mx;                                                             \
        }                                                                                     \
        double sum = sum8(s) + tail, mean = sum / (double)n;                                  \
        P2(x, m, k, mean, q);                                                                 \
        for (i = m; i < n; i++) {                                                             \
            double d = ((double)x[i] - k) - mean;                                             \
            tq += d * d;                                                                      \
        }                                                                                     \
        if (sum != sum) { /* NaN, or +inf and -inf: min/max are NaN only if a NaN is there */ \
            for (i = 0; i < n; i++) {                                                         \
                if (x[i] != x[i]) {                                                           \
                    mn = mx = NAN;                                                            \
                    break;                                                                    \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        out->mean = mean;                                                                     \
        out->m2 = sum8(q) + tq;                                                               \
        out->min = mn;                                                                        \
        out->max = mx;                                                                        \
    }

DEFINE_SUMMARY(f32_impl, float, p1_f32, p2_f32)
DEFINE_SUMMARY(f64_impl, double, p1_f64, p2_f64)

/* The sample type of a buffer: 4 (float32), 8 (float64) or 0 (anything else). */
static int
sample_kind(const Py_buffer *view)
{
    const char *f = view->format;
    if (f == NULL) {
        return 0;
    }
    if (*f == '@' || *f == '=' || (*f == '<' && PY_LITTLE_ENDIAN) || (*f == '>' && !PY_LITTLE_ENDIAN)) {
        f++;
    }
    if (f[0] == 'f' && f[1] == '\0' && view->itemsize == 4) {
        return 4;
    }
    if (f[0] == 'd' && f[1] == '\0' && view->itemsize == 8) {
        return 8;
    }
    return 0;
}

static int
get_samples(PyObject *obj, Py_buffer *view, int *kind)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    *kind = sample_kind(view);
    if (*kind == 0) {
        PyErr_Format(PyExc_TypeError,
                     "samples must be a contiguous float32 or float64 buffer in native byte "
                     "order, got format '%s'",
                     view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(blocks_doc,
             "blocks(samples, k, size, out)\n--\n\n"
             "Summarise consecutive blocks of ``size`` samples: for block b, write the mean of\n"
             "``x - k`` to ``out[b]``, M2 to ``out[nb + b]``, min to ``out[2*nb + b]`` and max\n"
             "to ``out[3*nb + b]`` (``nb = len(samples) // size``; ``out``: float64, at least\n"
             "4 * nb items). ``samples``: contiguous float32 or float64, a multiple of ``size``.");

static PyObject *
blocks(PyObject *self, PyObject *args)
{
    PyObject *samples_obj, *out_obj;
    double k;
    Py_ssize_t size;
    Py_buffer xv, ov;
    int kind;
    (void)self;
    if (!PyArg_ParseTuple(args, "OdnO:blocks", &samples_obj, &k, &size, &out_obj)) {
        return NULL;
    }
    if (size <= 0) {
        PyErr_SetString(PyExc_ValueError, "size must be positive");
        return NULL;
    }
    if (get_samples(samples_obj, &xv, &kind) < 0) {
        return NULL;
    }
    Py_ssize_t n = xv.len / xv.itemsize;
    if (n % size != 0) {
        PyBuffer_Release(&xv);
        PyErr_Format(PyExc_ValueError, "%zd samples are not a whole number of %zd-sample blocks",
                     n, size);
        return NULL;
    }
    Py_ssize_t nb = n / size;
    if (PyObject_GetBuffer(out_obj, &ov, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    if (sample_kind(&ov) != 8 || ov.len / 8 < 4 * nb) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&ov);
        PyErr_Format(PyExc_ValueError, "out must be a writable float64 buffer of at least %zd items",
                     4 * nb);
        return NULL;
    }
    double *o = (double *)ov.buf;
    BEGIN_WORK(n)
    for (Py_ssize_t b = 0; b < nb; b++) {
        summary r;
        if (kind == 4) {
            f32_impl((const float *)xv.buf + b * size, size, k, &r);
        }
        else {
            f64_impl((const double *)xv.buf + b * size, size, k, &r);
        }
        o[b] = r.mean;
        o[nb + b] = r.m2;
        o[2 * nb + b] = r.min;
        o[3 * nb + b] = r.max;
    }
    END_WORK()
    PyBuffer_Release(&xv);
    PyBuffer_Release(&ov);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(one_doc,
             "one(samples, k)\n--\n\n"
             "``(mean of x - k, M2, min, max)`` of all of ``samples`` (contiguous float32 or\n"
             "float64, at least one), as Python floats.");

static PyObject *
one(PyObject *self, PyObject *args)
{
    PyObject *samples_obj;
    double k;
    Py_buffer xv;
    int kind;
    summary r;
    (void)self;
    if (!PyArg_ParseTuple(args, "Od:one", &samples_obj, &k)) {
        return NULL;
    }
    if (get_samples(samples_obj, &xv, &kind) < 0) {
        return NULL;
    }
    Py_ssize_t n = xv.len / xv.itemsize;
    if (n == 0) {
        PyBuffer_Release(&xv);
        PyErr_SetString(PyExc_ValueError, "no samples");
        return NULL;
    }
    BEGIN_WORK(n)
    if (kind == 4) {
        f32_impl((const float *)xv.buf, n, k, &r);
    }
    else {
        f64_impl((const double *)xv.buf, n, k, &r);
    }
    END_WORK()
    PyBuffer_Release(&xv);
    return Py_BuildValue("(dddd)", r.mean, r.m2, r.min, r.max);
}

PyDoc_STRVAR(window_doc,
             "window(summaries, lo, m, size, edge)\n--\n\n"
             "Combine blocks ``lo .. lo + m - 1`` of ``summaries`` (float64, rows: mean of x - k,\n"
             "M2, min, max; as written by ``blocks``) of ``size`` samples each, and ``edge`` (a\n"
             "``(n, mean, M2, min, max)`` of raw samples, or None), into ``(n, mean, M2, min,\n"
             "max)``: one weighted step about the combined mean. NaN in any min/max wins.");

static PyObject *
window(PyObject *self, PyObject *args)
{
    PyObject *sum_obj, *edge_obj;
    Py_ssize_t lo, m, size, n_edge = 0;
    double e_mean = 0.0, e_m2 = 0.0, e_min = 0.0, e_max = 0.0;
    Py_buffer sv;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnnnO:window", &sum_obj, &lo, &m, &size, &edge_obj)) {
        return NULL;
    }
    if (edge_obj != Py_None &&
        !PyArg_ParseTuple(edge_obj, "ndddd:window", &n_edge, &e_mean, &e_m2, &e_min, &e_max)) {
        return NULL;
    }
    if (PyObject_GetBuffer(sum_obj, &sv, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return NULL;
    }
    Py_ssize_t width = sv.len / 32;
    if (sample_kind(&sv) != 8 || sv.len % 32 != 0 || lo < 0 || m < 1 || lo + m > width ||
        size < 1 || n_edge < 0) {
        PyBuffer_Release(&sv);
        PyErr_SetString(PyExc_ValueError,
                        "summaries must be float64 (4, width) with 0 <= lo < lo + m <= width");
        return NULL;
    }
    const double *mean_b = (const double *)sv.buf + lo, *m2_b = mean_b + width;
    const double *min_b = m2_b + width, *max_b = min_b + width;
    double sum_mean = 0.0, sum_m2 = 0.0, mn = min_b[0], mx = max_b[0];
    int nan_lo = 0, nan_hi = 0;
    for (Py_ssize_t b = 0; b < m; b++) {
        sum_mean += mean_b[b];
        sum_m2 += m2_b[b];
        nan_lo |= min_b[b] != min_b[b];
        nan_hi |= max_b[b] != max_b[b];
        mn = min_b[b] < mn ? min_b[b] : mn;
        mx = max_b[b] > mx ? max_b[b] : mx;
    }
    Py_ssize_t n = m * size + n_edge;
    double mean, m2 = sum_m2, dev = 0.0;
    if (n_edge) {
        mean = (sum_mean * (double)size + e_mean * (double)n_edge) / (double)n;
        double de = e_mean - mean;
        m2 += e_m2 + (double)n_edge * (de * de);
        nan_lo |= e_min != e_min;
        nan_hi |= e_max != e_max;
        mn = e_min < mn ? e_min : mn;
        mx = e_max > mx ? e_max : mx;
    }
    else {
        mean = sum_mean / (double)m;
    }
    for (Py_ssize_t b = 0; b < m; b++) {
        double d = mean_b[b] - mean;
        dev += d * d;
    }
    m2 += (double)size * dev;
    PyBuffer_Release(&sv);
    return Py_BuildValue("(ndddd)", n, mean, m2, nan_lo ? NAN : mn, nan_hi ? NAN : mx);
}

/* A writable, C-contiguous buffer of at least n items of the given size and format letters. */
static int
get_out(PyObject *obj, Py_buffer *view, Py_ssize_t n, Py_ssize_t itemsize, const char *formats,
        const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '@' || *f == '=' || (*f == '<' && PY_LITTLE_ENDIAN)) {
        f++;
    }
    if (view->itemsize != itemsize || f[0] == '\0' || f[1] != '\0' || strchr(formats, f[0]) == NULL ||
        view->len / itemsize < n) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s must be a writable buffer of at least %zd items", name, n);
        return -1;
    }
    return 0;
}

typedef struct {
    int g_prev;    /* the last sample was above the level (1), not (0), none yet (-1) */
    double before; /* the last sample */
    int state;     /* -1 unknown, 0 low, 1 high */
    double last_up, last_dn;
    Py_ssize_t count;
} schmitt_state;

#ifndef SCHMITT_RUN
#define SCHMITT_RUN 16 /* samples checked at once for "nothing happens here" */
#endif

/* Runs of SCHMITT_RUN samples that all stay on the side of the level they started on, while
 * the state already agrees with that side, change nothing but `before`: they are checked with
 * a vectorisable test and skipped; everything else goes through the exact per-sample rule. */
#define DEFINE_SCHMITT(NAME, T)                                                               \
    static void NAME(const T *x, Py_ssize_t n, long long start, double level, double lo,      \
                     double hi, schmitt_state *st, long long *oj, unsigned char *orise,       \
                     double *ot)                                                              \
    {                                                                                         \
        int g_prev = st->g_prev, state = st->state;                                           \
        double before = st->before, last_up = st->last_up, last_dn = st->last_dn;             \
        Py_ssize_t count = st->count, i = 0;                                                  \
        while (i < n) {                                                                       \
            if (i + SCHMITT_RUN <= n && g_prev == state && state >= 0) {                      \
                int same = 1;                                                                 \
                if (state) {                                                                  \
                    for (int k = 0; k < SCHMITT_RUN; k++) {                                   \
                        same &= (double)x[i + k] > level;                                     \
                    }                                                                         \
                }                                                                             \
                else {                                                                        \
                    for (int k = 0; k < SCHMITT_RUN; k++) {                                   \
                        same &= (double)x[i + k] <= level;                                    \
                    }                                                                         \
                }                                                                             \
                if (same) {                                                                   \
                    i += SCHMITT_RUN;                                                         \
                    before = (double)x[i - 1];                                                \
                    continue;                                                                 \
                }                                                                             \
            }                                                                                 \
            Py_ssize_t stop = i + SCHMITT_RUN < n ? i + SCHMITT_RUN : n;                      \
            for (; i < stop; i++) {                                                           \
                double v = (double)x[i];                                                      \
                int g = v > level;                                                            \
                if (g != g_prev && g_prev >= 0) {                                             \
                    double tc = (double)(start - 1 + (long long)i) + (level - before) / (v - before); \
                    if (g) {                                                                  \
                        last_up = tc;                                                         \
                    }                                                                         \
                    else {                                                                    \
                        last_dn = tc;                                                         \
                    }                                                                         \
                }                                                                             \
                g_prev = g;                                                                   \
                before = v;                                                                   \
                if (v > hi) {                                                                 \
                    if (state == 0) {                                                         \
                        oj[count] = start + (long long)i;                                     \
                        orise[count] = 1;                                                     \
                        ot[count++] = last_up;                                                \
                    }                                                                         \
                    state = 1;                                                                \
                }                                                                             \
                else if (v < lo) {                                                            \
                    if (state == 1) {                                                         \
                        oj[count] = start + (long long)i;                                     \
                        orise[count] = 0;                                                     \
                        ot[count++] = last_dn;                                                \
                    }                                                                         \
                    state = 0;                                                                \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        st->g_prev = g_prev;                                                                  \
        st->before = before;                                                                  \
        st->state = state;                                                                    \
        st->last_up = last_up;                                                                \
        st->last_dn = last_dn;                                                                \
        st->count = count;                                                                    \
    }

DEFINE_SCHMITT(schmitt_f32, float)
DEFINE_SCHMITT(schmitt_f64, double)

PyDoc_STRVAR(schmitt_doc,
             "schmitt(x, start, level, lo, hi, state, prev, last_up, last_dn, out_j, out_rising, "
             "out_t)\n--\n\n"
             "The Schmitt edge detector of ``_trigger_core.EdgeDetector`` over ``x`` (float32 or\n"
             "float64), in one pass: edges go to ``out_j`` (int64 absolute indices),\n"
             "``out_rising`` (bool) and ``out_t`` (float64 interpolated level-crossing times).\n"
             "``state`` is -1 (unknown), 0 or 1; ``prev`` the sample before ``x`` or None;\n"
             "``last_up``/``last_dn`` the last crossing times carried from earlier samples.\n"
             "Returns ``(count, state, last_up, last_dn)``.");

static PyObject *
schmitt(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *prev_obj, *j_obj, *r_obj, *t_obj;
    long long start;
    double level, lo, hi, last_up, last_dn, prev = 0.0;
    int state, kind;
    Py_buffer xv, jv, rv, tv;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLdddiOddOOO:schmitt", &x_obj, &start, &level, &lo, &hi, &state,
                          &prev_obj, &last_up, &last_dn, &j_obj, &r_obj, &t_obj)) {
        return NULL;
    }
    int has_prev = prev_obj != Py_None;
    if (has_prev) {
        prev = PyFloat_AsDouble(prev_obj);
        if (prev == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (state < -1 || state > 1) {
        PyErr_SetString(PyExc_ValueError, "state must be -1, 0 or 1");
        return NULL;
    }
    if (get_samples(x_obj, &xv, &kind) < 0) {
        return NULL;
    }
    Py_ssize_t n = xv.len / xv.itemsize;
    if (get_out(j_obj, &jv, n, 8, "lq", "out_j") < 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    if (get_out(r_obj, &rv, n, 1, "?bB", "out_rising") < 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&jv);
        return NULL;
    }
    if (get_out(t_obj, &tv, n, 8, "d", "out_t") < 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&jv);
        PyBuffer_Release(&rv);
        return NULL;
    }
    long long *oj = (long long *)jv.buf;
    unsigned char *orise = (unsigned char *)rv.buf;
    double *ot = (double *)tv.buf;
    schmitt_state st = {has_prev ? (prev > level) : -1, has_prev ? prev : NAN, state, last_up,
                        last_dn, 0};
    BEGIN_WORK(n)
    if (kind == 4) {
        schmitt_f32((const float *)xv.buf, n, start, level, lo, hi, &st, oj, orise, ot);
    }
    else {
        schmitt_f64((const double *)xv.buf, n, start, level, lo, hi, &st, oj, orise, ot);
    }
    END_WORK()
    PyBuffer_Release(&xv);
    PyBuffer_Release(&jv);
    PyBuffer_Release(&rv);
    PyBuffer_Release(&tv);
    return Py_BuildValue("(nidd)", st.count, st.state, st.last_up, st.last_dn);
}

static PyMethodDef methods[] = {
    {"blocks", blocks, METH_VARARGS, blocks_doc},
    {"one", one, METH_VARARGS, one_doc},
    {"window", window, METH_VARARGS, window_doc},
    {"schmitt", schmitt, METH_VARARGS, schmitt_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "Compiled statistics kernels (optional).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__kernels(void)
{
    /* LIVETRACE_KERNEL=plain / sse2 pick a slower variant (to compare their results) */
    const char *want = getenv("LIVETRACE_KERNEL");
    int plain = want != NULL && strcmp(want, "plain") == 0;
    int sse2_only = want != NULL && strcmp(want, "sse2") == 0;
    (void)plain;
    (void)sse2_only;
    const char *variant = "plain";
#ifdef LT_SSE2
    if (!plain) {
        variant = "sse2";
        p1_f32 = sse2_1_f32;
        p2_f32 = sse2_2_f32;
        p1_f64 = sse2_1_f64;
        p2_f64 = sse2_2_f64;
    }
#endif
#ifdef LT_AVX2
    __builtin_cpu_init();
    if (!plain && !sse2_only && __builtin_cpu_supports("avx2")) {
        p1_f32 = avx2_1_f32;
        p2_f32 = avx2_2_f32;
        p1_f64 = avx2_1_f64;
        p2_f64 = avx2_2_f64;
        variant = "avx2";
    }
#endif
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddStringConstant(m, "variant", variant) < 0 ||
                      PyModule_AddIntConstant(m, "API", KERNELS_API) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
