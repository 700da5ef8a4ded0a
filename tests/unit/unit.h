/* unit.h: a tiny header-only unit test framework for wtcp's C tests.
 *
 *   TEST(name) { CHECK(x); CHECK_EQ_U(a, b); CHECK_EQ_I(a, b); CHECK_MEM(p, q, n); }
 *   ...
 *   UNIT_MAIN(RUN(name), RUN(other))
 *
 * A failing check prints "file:line: test: message" and returns from the function
 * it is in (a test, or a helper taking `unit_ctx *unit_`); the run continues with the
 * next test. A test missing from UNIT_MAIN is an unused static function, which
 * -Wall -Werror turns into a build error. An optional argument runs only the tests
 * whose names contain it. All output goes to stdout, in order. The last line is
 * "N passed, N failed"; exit status 1 if any failed. */
#ifndef WTCP_UNIT_H
#define WTCP_UNIT_H

#include <stdio.h>
#include <string.h>

typedef struct unit_ctx {
    const char *name;
    int failed;
} unit_ctx;

typedef struct unit_test {
    const char *name;
    void (*fn)(unit_ctx *unit_);
} unit_test;

#define TEST(name) static void test_##name(unit_ctx *unit_)
#define RUN(name) { #name, test_##name }

static inline void unit_fail_(unit_ctx *u, const char *file, int line, const char *msg)
{
    printf("%s:%d: %s: %s\n", file, line, u->name, msg);
    u->failed = 1;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            unit_fail_(unit_, __FILE__, __LINE__, "CHECK(" #cond ") failed");  \
            return;                                                            \
        }                                                                      \
    } while (0)

static inline void unit_fail_eq_(unit_ctx *u, const char *file, int line, const char *sa,
                                 const char *sb, unsigned long long a, unsigned long long b)
{
    printf("%s:%d: %s: %s == %s: %llu (0x%llx) != %llu (0x%llx)\n", file, line, u->name, sa,
           sb, a, a, b, b);
    u->failed = 1;
}

#define CHECK_EQ_U(a, b)                                                       \
    do {                                                                       \
        unsigned long long unit_a_ = (unsigned long long)(a);                  \
        unsigned long long unit_b_ = (unsigned long long)(b);                  \
        if (unit_a_ != unit_b_) {                                              \
            unit_fail_eq_(unit_, __FILE__, __LINE__, #a, #b, unit_a_, unit_b_); \
            return;                                                            \
        }                                                                      \
    } while (0)

static inline void unit_fail_eq_i_(unit_ctx *u, const char *file, int line, const char *sa,
                                   const char *sb, long long a, long long b)
{
    printf("%s:%d: %s: %s == %s: %lld != %lld\n", file, line, u->name, sa, sb, a, b);
    u->failed = 1;
}

/* Signed comparison, for results that may be negative error codes. */
#define CHECK_EQ_I(a, b)                                                       \
    do {                                                                       \
        long long unit_a_ = (long long)(a);                                    \
        long long unit_b_ = (long long)(b);                                    \
        if (unit_a_ != unit_b_) {                                              \
            unit_fail_eq_i_(unit_, __FILE__, __LINE__, #a, #b, unit_a_, unit_b_); \
            return;                                                            \
        }                                                                      \
    } while (0)

static inline void unit_hex_(const char *label, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    printf("    %s:", label);
    for (size_t i = 0; i < n && i < 64; i++)
        printf(" %02x", b[i]);
    printf("%s\n", n > 64 ? " ..." : "");
}

static inline int unit_mem_differ_(unit_ctx *u, const char *file, int line, const char *sa,
                                   const char *sb, const void *a, const void *b, size_t n)
{
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    size_t i = 0;
    while (i < n && pa[i] == pb[i])
        i++;
    if (i == n)
        return 0;
    printf("%s:%d: %s: %s and %s differ at byte %zu of %zu\n", file, line, u->name, sa, sb, i, n);
    unit_hex_(sa, pa, n);
    unit_hex_(sb, pb, n);
    u->failed = 1;
    return 1;
}

#define CHECK_MEM(a, b, n)                                                     \
    do {                                                                       \
        if (unit_mem_differ_(unit_, __FILE__, __LINE__, #a, #b, (a), (b), (size_t)(n))) \
            return;                                                            \
    } while (0)

static inline int unit_run_(const unit_test *tests, size_t count, int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    unsigned passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep order with sanitizer reports on stderr */
    for (size_t i = 0; i < count; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        unit_ctx u = { tests[i].name, 0 };
        tests[i].fn(&u);
        if (u.failed) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define UNIT_MAIN(...)                                                         \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        static const unit_test unit_tests_[] = { __VA_ARGS__ };                \
        return unit_run_(unit_tests_, sizeof unit_tests_ / sizeof unit_tests_[0], \
                         argc, argv);                                          \
    }

#endif
