/* Checks the auxiliary vector through getauxval(): which entries are present
 * (nonzero), and the values that are deterministic. Never prints addresses or
 * other run-dependent values. Exit status 1 if a check fails. */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char _start[];

static int failures;

static void check(int ok, const char *what)
{
	if (ok) {
		printf("ok %s\n", what);
	} else {
		printf("FAIL %s\n", what);
		failures++;
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned long type;
	} keys[] = {
		{ "AT_PHDR", AT_PHDR },
		{ "AT_PHENT", AT_PHENT },
		{ "AT_PHNUM", AT_PHNUM },
		{ "AT_PAGESZ", AT_PAGESZ },
		{ "AT_ENTRY", AT_ENTRY },
		{ "AT_RANDOM", AT_RANDOM },
		{ "AT_HWCAP", AT_HWCAP },
		{ "AT_CLKTCK", AT_CLKTCK },
		{ "AT_SYSINFO_EHDR", AT_SYSINFO_EHDR },
		{ "AT_EXECFN", AT_EXECFN },
		{ "AT_PLATFORM", AT_PLATFORM },
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		printf("%s: %s\n", keys[i].name,
		       getauxval(keys[i].type) ? "present" : "absent");

	check(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ == 4096");
	check(sysconf(_SC_PAGESIZE) == 4096, "sysconf(_SC_PAGESIZE) == 4096");
	check(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT == 56");
	check(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK == 100");
	check(sysconf(_SC_CLK_TCK) == 100, "sysconf(_SC_CLK_TCK) == 100");
	check(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY == &_start");

	/* AT_PHDR: the program headers; with the usual layout the ELF header
	 * sits right before them in the first PT_LOAD segment. */
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM);
	int has_load = 0, load_has_main = 0;
	unsigned long bias = 0;
	int have_bias = 0;
	if (ph && phnum) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)((const char *)ph - sizeof(Elf64_Ehdr));
		int ehdr_ok = memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
			      eh->e_ident[EI_CLASS] == ELFCLASS64 &&
			      eh->e_machine == EM_X86_64 &&
			      eh->e_phoff == sizeof(Elf64_Ehdr) &&
			      eh->e_phnum == phnum &&
			      eh->e_phentsize == sizeof(Elf64_Phdr);
		check(ehdr_ok, "ELF header precedes AT_PHDR and agrees with AT_PHNUM/AT_PHENT");
		for (unsigned long i = 0; i < phnum; i++) {
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !have_bias) {
				bias = (unsigned long)eh - ph[i].p_vaddr;
				have_bias = 1;
			}
		}
		for (unsigned long i = 0; i < phnum; i++) {
			if (ph[i].p_type != PT_LOAD)
				continue;
			has_load = 1;
			unsigned long lo = ph[i].p_vaddr + bias, hi = lo + ph[i].p_memsz;
			unsigned long m = (unsigned long)&main;
			if (have_bias && m >= lo && m < hi && (ph[i].p_flags & PF_X))
				load_has_main = 1;
		}
		check(have_bias && ehdr_ok && eh->e_entry + bias == getauxval(AT_ENTRY),
		      "e_entry + load bias == AT_ENTRY");
	} else {
		check(0, "AT_PHDR/AT_PHNUM present");
	}
	check(has_load, "program headers contain PT_LOAD");
	check(load_has_main, "an executable PT_LOAD contains main");

	const char *execfn = (const char *)getauxval(AT_EXECFN);
	printf("execfn matches argv0: %s\n",
	       execfn && argc > 0 && strcmp(execfn, argv[0]) == 0 ? "yes" : "no");

	const volatile unsigned char *rnd = (const volatile unsigned char *)getauxval(AT_RANDOM);
	if (rnd) {
		unsigned acc = 0;
		for (int i = 0; i < 16; i++)
			acc |= rnd[i];
		check(acc != 0, "AT_RANDOM: 16 bytes readable, not all zero");
	} else {
		check(0, "AT_RANDOM present");
	}

	const char *platform = (const char *)getauxval(AT_PLATFORM);
	printf("AT_PLATFORM: %s\n", platform ? platform : "(none)");

	const Elf64_Ehdr *vdso = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	if (vdso)
		check(memcmp(vdso->e_ident, ELFMAG, SELFMAG) == 0 && vdso->e_type == ET_DYN,
		      "AT_SYSINFO_EHDR points at an ELF shared object");

	check(getauxval(AT_HWCAP) != 0, "AT_HWCAP nonzero");

	printf("%s\n", failures ? "auxv FAILED" : "auxv ok");
	return failures ? 1 : 0;
}
