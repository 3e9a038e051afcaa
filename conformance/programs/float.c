/* Floating point: printf of doubles and long doubles, x87/SSE arithmetic,
 * conversions, rounding modes, and strtod/strtold round trips. Everything
 * printed is formatted identically by glibc and musl: %a is only used for
 * normal doubles (the libcs differ for subnormals), and long doubles are
 * shown in hex by our own formatter (glibc's %La prints 0x8p-3 where musl
 * prints 0x1p+0). */
#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static double from_bits(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

struct ld_parts {
	uint64_t mant;
	uint16_t se; /* sign and exponent */
};

static struct ld_parts ld_split(long double x)
{
	struct ld_parts p;
	unsigned char b[sizeof(long double)];
	memcpy(b, &x, sizeof b);
	memcpy(&p.mant, b, 8);
	memcpy(&p.se, b + 8, 2);
	return p;
}

static long double ld_make(uint16_t se, uint64_t mant)
{
	unsigned char b[sizeof(long double)];
	memset(b, 0, sizeof b);
	memcpy(b, &mant, 8);
	memcpy(b + 8, &se, 2);
	long double x;
	memcpy(&x, b, sizeof x);
	return x;
}

/* Hex form of an x87 long double, normalised like musl's %La:
 * [-]0x1.<fraction>p<exp>, or the raw fields for zero/denormal/inf/nan. */
static const char *ld_hex(long double x, char *buf, size_t n)
{
	struct ld_parts p = ld_split(x);
	int neg = p.se >> 15;
	int e = p.se & 0x7fff;
	if (e == 0 || e == 0x7fff || !(p.mant >> 63)) {
		snprintf(buf, n, "%s[exp=%04x mant=%016llx]", neg ? "-" : "", e, (unsigned long long)p.mant);
		return buf;
	}
	uint64_t frac = p.mant << 1; /* drop the explicit integer bit */
	char digits[17];
	snprintf(digits, sizeof digits, "%016llx", (unsigned long long)frac);
	int len = 16;
	while (len > 0 && digits[len - 1] == '0')
		len--;
	digits[len] = 0;
	snprintf(buf, n, "%s0x1%s%sp%+d", neg ? "-" : "", len ? "." : "", digits, e - 16383);
	return buf;
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static volatile double vd; /* defeat constant folding */
static volatile long double vld;
static volatile float vf;
static volatile double v_one = 1.0, v_three = 3.0;
static volatile float v_fone = 1.0f, v_fthree = 3.0f;
static volatile long double v_lone = 1.0L, v_lthree = 3.0L;

static void print_double(const char *name, double d)
{
	printf("%-10s %.17g | %e | %.3e | %g | %.6f", name, d, d, d, d, d);
	if (isnormal(d) || d == 0)
		printf(" | %a", d);
	printf(" | %016llx\n", (unsigned long long)dbits(d));
}

static void print_ld(const char *name, long double x)
{
	char hb[64];
	printf("%-10s %.21Lg | %Le | %.25Lg | %s\n", name, x, x, x, ld_hex(x, hb, sizeof hb));
}

int main(void)
{
	int failures = 0;
	char hb[64];

	printf("-- doubles\n");
	vd = 1.0;
	double one = vd;
	print_double("0", 0.0);
	print_double("-0", -0.0);
	print_double("1", one);
	print_double("0.1", 0.1);
	print_double("1/3", one / 3);
	print_double("2/3", 2 * one / 3);
	print_double("-2.5", -2.5);
	print_double("1e-5", 1e-5);
	print_double("123456.789", 123456.789);
	print_double("1e22", 1e22);
	print_double("1e23", 1e23);
	print_double("pi", 3.14159265358979323846);
	print_double("DBL_MAX", DBL_MAX);
	print_double("DBL_MIN", DBL_MIN);
	print_double("DBL_EPS", DBL_EPSILON);
	print_double("min subn", 4.9406564584124654e-324);
	print_double("inf", INFINITY);
	print_double("-inf", -INFINITY);
	print_double("nan", NAN);
	printf("DBL_MAX %%.0f: %.0f\n", DBL_MAX);
	printf("DBL_MIN %%.330f: %.330f\n", DBL_MIN);
	printf("%%.0f of 0.5 1.5 2.5 3.5 -0.5: %.0f %.0f %.0f %.0f %.0f\n", 0.5, 1.5, 2.5, 3.5, -0.5);
	printf("%%.1f of 0.25 0.35 0.45: %.1f %.1f %.1f\n", 0.25, 0.35, 0.45);
	printf("%%g: %g %g %g %g %g\n", 100000.0, 1000000.0, 1e-4, 1e-5, 123456789.0);
	printf("%%#g %%+e %%010.3f %%-10.2e|: %#g %+e %010.3f %-10.2e|\n", 1.0, 1.0, -3.14159, 2.5e10);

	printf("-- floats\n");
	vf = 1.0f;
	float fone = vf;
	float fvals[] = { fone / 3, 0.1f, FLT_MAX, FLT_MIN, 16777217.0f, -1e-40f };
	for (unsigned i = 0; i < sizeof fvals / sizeof fvals[0]; i++)
		printf("float %.9g %08x\n", (double)fvals[i], fbits(fvals[i]));

	printf("-- long doubles\n");
	vld = 1.0L;
	long double lone = vld;
	print_ld("1", lone);
	print_ld("0.1", 0.1L);
	print_ld("1/3", lone / 3);
	print_ld("2/3", 2 * lone / 3);
	print_ld("pi", 3.14159265358979323846264338327950288L);
	print_ld("-1e-300", -1e-300L);
	print_ld("1e4000", 1e4000L);
	print_ld("1e-4000", 1e-4000L);
	print_ld("LDBL_MAX", LDBL_MAX);
	print_ld("LDBL_MIN", LDBL_MIN);
	print_ld("LDBL_EPS", LDBL_EPSILON);
	print_ld("-0", -0.0L);
	print_ld("inf", (long double)INFINITY);
	print_ld("2^64", 18446744073709551616.0L);
	printf("1/3 %%.40Lf: %.40Lf\n", lone / 3);
	printf("2^64-1 %%.0Lf: %.0Lf\n", 18446744073709551615.0L);

	printf("-- arithmetic\n");
	vd = 2.0;
	double two = vd;
	double s2 = __builtin_sqrt(two);
	printf("sqrt(2) = %.17g %016llx\n", s2, (unsigned long long)dbits(s2));
	vld = 2.0L;
	long double s2l = __builtin_sqrtl(vld);
	printf("sqrtl(2) = %s\n", ld_hex(s2l, hb, sizeof hb));
	vf = 2.0f;
	float s2f = __builtin_sqrtf(vf);
	printf("sqrtf(2) = %08x\n", fbits(s2f));
	/* double rounding differences between SSE double and x87 extended */
	double a = 1e16 * one, b = 1.0 * one + 0.5 * one;
	printf("1e16 + 1.5 = %.17g (double)\n", a + b);
	printf("1e16L + 1.5L = %.21Lg (long double)\n", (long double)a + (long double)b);
	printf("0.1+0.2 = %.17g, == 0.3: %s\n", 0.1 * one + 0.2 * one, 0.1 * one + 0.2 * one == 0.3 ? "yes" : "no");
	double tiny = DBL_MIN * one;
	printf("DBL_MIN/2^10 = %016llx (subnormal), *2^10 back = %016llx\n",
	       (unsigned long long)dbits(tiny / 1024), (unsigned long long)dbits(tiny / 1024 * 1024));
	double m = -0.0 * one;
	printf("signbit(-0.0)=%d  1/-0.0=%g  copysign=%g\n", signbit(m) != 0, one / m, __builtin_copysign(3.0 * one, m));
	printf("nan compares: ==%d !=%d <%d isnan=%d\n", NAN == NAN * one, NAN != NAN * one, NAN < one, isnan(NAN * one));
	printf("fmod-free remainder: %.17g\n", 10.0 * one - 3.0 * (long long)(10.0 * one / 3.0));

	printf("-- conversions\n");
	double cv[] = { -2.7, -2.5, -0.5, 0.5, 2.5, 2.7, 1e18, 9.2e18, -9.2e18 };
	for (unsigned i = 0; i < sizeof cv / sizeof cv[0]; i++) {
		double x = cv[i] * one;
		printf("%-8g (long long)=%lld (int)trunc=%d llrint=%lld\n", x, (long long)x,
		       (x > -2e9 && x < 2e9) ? (int)x : 0, (long long)__builtin_llrint(x));
	}
	double big = 1.8e19 * one;
	printf("(unsigned long long)1.8e19 = %llu\n", (unsigned long long)big);
	printf("(double)UINT64_MAX = %.17g\n", (double)(UINT64_MAX - (uint64_t)(one - 1)));
	printf("(long double)UINT64_MAX = %.0Lf\n", (long double)(UINT64_MAX - (uint64_t)(one - 1)));
	long double bigl = 1.8e19L * lone;
	printf("(unsigned long long)1.8e19L = %llu\n", (unsigned long long)bigl);
	printf("(float)16777217 = %.1f, (double)(1ull<<53)+1 = %.1f\n",
	       (double)(float)(16777217 + (int)(one - 1)), (double)((1ull << 53) + 1 + (uint64_t)(one - 1)));

	printf("-- rounding modes\n");
	static const struct {
		const char *name;
		int mode;
	} modes[] = { { "nearest", FE_TONEAREST }, { "upward", FE_UPWARD }, { "downward", FE_DOWNWARD }, { "towardzero", FE_TOWARDZERO } };
	for (unsigned i = 0; i < 4; i++) {
		if (fesetround(modes[i].mode) != 0) {
			printf("fesetround(%s) failed\n", modes[i].name);
			failures++;
			continue;
		}
		int got = fegetround();
		/* volatile operands and results: the divisions must happen while
		 * the mode is in effect (no -frounding-math here) */
		volatile double q = v_one / v_three, nq = -v_one / v_three;
		volatile float fq = v_fone / v_fthree;
		volatile long double lq = v_lone / v_lthree;
		volatile long long r1 = __builtin_llrint(v_one * 2.5), r2 = __builtin_llrint(v_one * -2.5);
		fesetround(FE_TONEAREST);
		printf("%-10s fegetround ok=%d 1/3=%016llx -1/3=%016llx 1/3f=%08x 1/3L=%s llrint(2.5)=%lld llrint(-2.5)=%lld\n",
		       modes[i].name, got == modes[i].mode, (unsigned long long)dbits(q), (unsigned long long)dbits(nq),
		       fbits(fq), ld_hex(lq, hb, sizeof hb), (long long)r1, (long long)r2);
	}
	feclearexcept(FE_ALL_EXCEPT);
	vd = v_one / v_three;
	int inexact = fetestexcept(FE_INEXACT) != 0;
	feclearexcept(FE_ALL_EXCEPT);
	vd = v_one / (v_three - v_three);
	int divbyzero = fetestexcept(FE_DIVBYZERO) != 0;
	feclearexcept(FE_ALL_EXCEPT);
	vd = v_one / v_three * 3;
	int exact_inexact = fetestexcept(FE_INEXACT) != 0;
	feclearexcept(FE_ALL_EXCEPT);
	vd = v_one * 2;
	int none = fetestexcept(FE_ALL_EXCEPT) == 0;
	feclearexcept(FE_ALL_EXCEPT);
	printf("exceptions: 1/3 inexact=%d 1/0 divbyzero=%d 1/3*3 inexact=%d 1*2 none=%d\n", inexact, divbyzero,
	       exact_inexact, none);

	printf("-- strtod\n");
	/* errno is shown only where glibc and musl agree: overflow, underflow to
	 * zero, a subnormal result, and plain values. (They differ on results
	 * that round up to DBL_MIN, and musl sets EINVAL for no conversion.) */
	static const struct {
		const char *s;
		int show_errno;
	} inputs[] = {
		{ "0.1", 1 }, { "1e23", 1 }, { "2.2250738585072011e-308", 1 }, { "2.2250738585072012e-308", 0 },
		{ "8.98846567431158e307", 1 }, { "1.7976931348623157e308", 1 }, { "1.7976931348623158e308", 1 },
		{ "1e309", 1 }, { "-1e309", 1 }, { "0x1.fffffffffffffp1023", 1 }, { "0x1p-1022", 1 },
		{ "  -0", 1 }, { "+.5e1", 1 }, { "123abc", 1 }, { "1e", 1 }, { "infinity", 1 }, { "-INF", 1 },
		{ "nan", 1 }, { "0x1.8p1", 1 }, { "3.14159265358979323846264338327950288419716939937510", 1 },
		{ "9007199254740993", 1 }, { "1e-400", 1 }, { "000000000000000000000000000000000001.5", 1 },
		{ ".", 0 }, { "", 0 },
	};
	for (unsigned i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		char *end;
		errno = 0;
		double d = strtod(inputs[i].s, &end);
		int e = errno;
		printf("strtod(\"%s\") = %016llx consumed=%d", inputs[i].s, (unsigned long long)dbits(d),
		       (int)(end - inputs[i].s));
		if (inputs[i].show_errno)
			printf(" errno=%s", e == 0 ? "0" : errname(e));
		printf("\n");
	}
	static const char *linputs[] = { "0.1", "1e4000", "3.14159265358979323846264338327950288", "0x1.23456789abcdef01p+100",
					 "1.18973149535723176502e+4932", "3.36210314311209350626e-4932" };
	for (unsigned i = 0; i < sizeof linputs / sizeof linputs[0]; i++) {
		char *end;
		long double x = strtold(linputs[i], &end);
		printf("strtold(\"%s\") = %s consumed=%d\n", linputs[i], ld_hex(x, hb, sizeof hb), (int)(end - linputs[i]));
	}
	float sf = strtof("0.1", NULL);
	printf("strtof(\"0.1\") = %08x\n", fbits(sf));

	/* round trips of pseudo-random bit patterns */
	int rt17 = 0, rta = 0, rtl = 0, n = 0, nl = 0;
	char buf[128];
	for (int i = 0; i < 300; i++) {
		uint64_t u = rng();
		double d = from_bits(u);
		if (!isfinite(d))
			continue;
		n++;
		snprintf(buf, sizeof buf, "%.17g", d);
		if (dbits(strtod(buf, NULL)) == u)
			rt17++;
		snprintf(buf, sizeof buf, "%a", d);
		if (dbits(strtod(buf, NULL)) == u)
			rta++;
	}
	for (int i = 0; i < 60; i++) {
		uint64_t mant = rng() | (1ull << 63);
		uint16_t se = (uint16_t)(rng() % 0x7ffe + 1) | (uint16_t)(rng() & 0x8000);
		long double x = ld_make(se, mant);
		nl++;
		snprintf(buf, sizeof buf, "%.21Lg", x);
		long double y = strtold(buf, NULL);
		struct ld_parts px = ld_split(x), py = ld_split(y);
		if (px.mant == py.mant && px.se == py.se)
			rtl++;
	}
	printf("double %%.17g round trips: %d/%d\n", rt17, n);
	printf("double %%a round trips: %d/%d\n", rta, n);
	printf("long double %%.21Lg round trips: %d/%d\n", rtl, nl);
	if (rt17 != n || rta != n || rtl != nl)
		failures++;

	printf("%s\n", failures ? "float FAILED" : "float ok");
	return failures ? 1 : 0;
}
