/* Single-core read bandwidth by working-set size: how fast one core can
 * stream a block of f32s it reads over and over (AVX-512 loads, four
 * accumulators). Used to bound KV-cache decoding: every generated token
 * reads all of a model's weights once (GPT-mini: 3.3 MB in f32), so one
 * core cannot produce more than bandwidth / 3.3 MB tokens per second.
 *
 *   gcc -O3 -march=native scripts/read_bandwidth.c -o /tmp/read_bandwidth
 *   /tmp/read_bandwidth
 *
 * Needs a CPU with AVX-512F. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    size_t sizes_kib[] = {256, 512, 1024, 1536, 1792, 2048, 2560, 3328, 4096, 8192, 32768, 65536};
    for (size_t s = 0; s < sizeof sizes_kib / sizeof *sizes_kib; s++) {
        size_t bytes = sizes_kib[s] << 10, n = bytes / 4;
        float *a = aligned_alloc(64, bytes);
        for (size_t i = 0; i < n; i++) a[i] = (float)i * 1e-9f;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        int reps = (int)((1ull << 31) / bytes);
        double t0 = now();
        for (int r = 0; r < reps; r++)
            for (size_t i = 0; i < n; i += 64) {
                s0 = _mm512_add_ps(s0, _mm512_load_ps(a + i));
                s1 = _mm512_add_ps(s1, _mm512_load_ps(a + i + 16));
                s2 = _mm512_add_ps(s2, _mm512_load_ps(a + i + 32));
                s3 = _mm512_add_ps(s3, _mm512_load_ps(a + i + 48));
            }
        double t = now() - t0;
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
        printf("%6zu KiB: %6.1f GB/s  (checksum %g)\n", sizes_kib[s], (double)bytes * reps / t / 1e9, sum);
        free(a);
    }
    return 0;
}
