/*
 * Embedding tensorc in a C program through libtensorc (bindings/c/include/tensorc.h):
 * compile a model file, build tensors, call `predict`, train with `step` (whose tuple
 * result comes back flattened), and show the diagnostics of a source that does not
 * compile.
 *
 *   cc main.c -I bindings/c/include -L target/release -ltensorc -o c_host
 *   ./c_host examples/mlp.tc
 */
#include <stdio.h>
#include <stdlib.h>

#include "tensorc.h"

/* Print the failure of `what` and leave. */
static void check(tc_status status, const char *what) {
    if (status != TC_OK) {
        fprintf(stderr, "%s failed (status %d):\n%s\n", what, (int)status, tc_last_error());
        exit(1);
    }
}

static tc_tensor *f32_tensor(const int64_t *shape, size_t rank, const float *values) {
    size_t n = 1;
    for (size_t i = 0; i < rank; i++) n *= (size_t)shape[i];
    tc_tensor *t = NULL;
    check(tc_tensor_new(TC_F32, shape, rank, values, n * sizeof(float), &t), "tc_tensor_new");
    return t;
}

static float scalar_f32(const tc_tensor *t) {
    if (tc_tensor_dtype(t) != TC_F32 || tc_tensor_nbytes(t) != sizeof(float)) {
        fprintf(stderr, "expected an f32 scalar\n");
        exit(1);
    }
    return *(const float *)tc_tensor_data(t);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/mlp.tc";
    tc_session *session = NULL;
    check(tc_session_new("cpu", &session), "tc_session_new");
    tc_module *model = NULL;
    check(tc_compile_file(session, path, &model), "tc_compile_file");

    /* Two examples of three features, four hidden units, two classes. */
    const int64_t x_shape[] = {2, 3}, w1_shape[] = {3, 4}, b1_shape[] = {4}, w2_shape[] = {4, 2}, b2_shape[] = {2};
    const float x_data[] = {1, 2, 3, -1, 0, 1};
    const float w1_data[] = {0.5f, -0.5f, 0.25f, 0, 0, 1, -1, 0.5f, 0.1f, 0.2f, 0.3f, -0.4f};
    const float b1_data[] = {0.1f, 0, -0.1f, 0.2f};
    const float w2_data[] = {1, -1, 0.5f, 0.5f, -0.25f, 1, 2, 0};
    const float b2_data[] = {0, 0.5f};
    tc_tensor *params[4] = {
        f32_tensor(w1_shape, 2, w1_data), f32_tensor(b1_shape, 1, b1_data),
        f32_tensor(w2_shape, 2, w2_data), f32_tensor(b2_shape, 1, b2_data),
    };
    tc_tensor *x = f32_tensor(x_shape, 2, x_data);

    /* predict(x, w1, b1, w2, b2) -> f32[2, 2] */
    tc_tensor *args[5] = {x, params[0], params[1], params[2], params[3]};
    tc_tensor **outs = NULL;
    size_t nouts = 0;
    check(tc_call(model, "predict", (tc_tensor *const *)args, 5, &outs, &nouts), "tc_call predict");
    const int64_t *shape = tc_tensor_shape(outs[0]);
    const float *logits = tc_tensor_data(outs[0]);
    printf("predict: %zu output, shape [%lld, %lld]\n", nouts, (long long)shape[0], (long long)shape[1]);
    for (int64_t i = 0; i < shape[0]; i++) {
        printf("logits[%lld] =", (long long)i);
        for (int64_t j = 0; j < shape[1]; j++) printf(" %.5f", logits[i * shape[1] + j]);
        printf("\n");
    }
    tc_outputs_free(outs, nouts);

    /* step(w1, b1, w2, b2, x, y, lr) -> (w1, b1, w2, b2, loss): five outputs. */
    const int64_t y_shape[] = {2};
    const int32_t y_data[] = {1, 0};
    tc_tensor *y = NULL, *lr = NULL;
    check(tc_tensor_new(TC_I32, y_shape, 1, y_data, sizeof y_data, &y), "tc_tensor_new y");
    const float lr_value = 0.1f;
    check(tc_tensor_new(TC_F32, NULL, 0, &lr_value, sizeof lr_value, &lr), "tc_tensor_new lr");
    printf("loss:");
    for (int i = 0; i < 5; i++) {
        tc_tensor *step_args[7] = {params[0], params[1], params[2], params[3], x, y, lr};
        check(tc_call(model, "step", (tc_tensor *const *)step_args, 7, &outs, &nouts), "tc_call step");
        if (nouts != 5) {
            fprintf(stderr, "step gave %zu outputs\n", nouts);
            return 1;
        }
        printf(" %.5f", scalar_f32(outs[4]));
        /* Keep the new parameters: take them out of the array, NULL their slots. */
        for (int k = 0; k < 4; k++) {
            tc_tensor_free(params[k]);
            params[k] = outs[k];
            outs[k] = NULL;
        }
        tc_outputs_free(outs, nouts);
    }
    printf("\n");

    /* A source that does not compile: the status and the rendered diagnostics. */
    tc_module *broken = NULL;
    tc_status status = tc_compile_source(session, "broken.tc", "fn f(x: f32[N]) -> f32[N] {\n    x + undefined_name\n}\n", &broken);
    printf("broken.tc: status %d\n%s\n", (int)status, tc_last_error());

    /* Misuse is reported, not a crash: a wrong byte count. */
    tc_tensor *bad = NULL;
    status = tc_tensor_new(TC_F32, x_shape, 2, x_data, 5, &bad);
    printf("wrong nbytes: status %d: %s\n", (int)status, tc_last_error());

    tc_tensor_free(x);
    tc_tensor_free(y);
    tc_tensor_free(lr);
    for (int k = 0; k < 4; k++) tc_tensor_free(params[k]);
    tc_module_free(model);
    tc_session_free(session);
    return status == TC_ERR_USAGE && broken == NULL ? 0 : 1;
}
