/*
 * The per-call overhead of a tiny compiled function called from C through libtensorc:
 * `x + 1` on 16 f32 elements, one tc_call (and tc_outputs_free) per call. Prints
 * `c tc_call <min ns> <median ns>` over blocks of calls; bench/call_overhead.sh builds and
 * runs it beside Rust, Python, JAX and NumPy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorc.h"

enum { BLOCK = 100, BLOCKS = 300 };

static void check(tc_status status, const char *what) {
    if (status != TC_OK) {
        fprintf(stderr, "%s failed (status %d):\n%s\n", what, (int)status, tc_last_error());
        exit(1);
    }
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void call_once(tc_module *m, tc_tensor **args) {
    tc_tensor **outs = NULL;
    size_t nouts = 0;
    check(tc_call(m, "add_one", args, 1, &outs, &nouts), "tc_call");
    tc_outputs_free(outs, nouts);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    tc_session *session = NULL;
    check(tc_session_new("cpu", &session), "tc_session_new");
    tc_module *m = NULL;
    check(tc_compile_source(session, "add_one.tc", "fn add_one(x) { x + 1.0 }", &m), "tc_compile_source");
    float values[16];
    for (int i = 0; i < 16; i++) values[i] = (float)i;
    const int64_t shape[] = {16};
    tc_tensor *x = NULL;
    check(tc_tensor_new(TC_F32, shape, 1, values, sizeof values, &x), "tc_tensor_new");
    tc_tensor *args[] = {x};

    tc_tensor **outs = NULL;
    size_t nouts = 0;
    check(tc_call(m, "add_one", args, 1, &outs, &nouts), "tc_call");
    if (nouts != 1 || ((const float *)tc_tensor_data(outs[0]))[15] != 16.0f) {
        fprintf(stderr, "wrong result\n");
        return 1;
    }
    tc_outputs_free(outs, nouts);

    for (int i = 0; i < BLOCK * 10; i++) call_once(m, args);
    static double per_call[BLOCKS];
    for (int b = 0; b < BLOCKS; b++) {
        double start = now_ns();
        for (int i = 0; i < BLOCK; i++) call_once(m, args);
        per_call[b] = (now_ns() - start) / BLOCK;
    }
    qsort(per_call, BLOCKS, sizeof per_call[0], by_value);
    printf("c tc_call %.0f %.0f\n", per_call[0], per_call[BLOCKS / 2]);

    tc_tensor_free(x);
    tc_module_free(m);
    tc_session_free(session);
    return 0;
}
